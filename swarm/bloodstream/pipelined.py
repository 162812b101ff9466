"""Domain events without waiting for their acks: `Bloodstream.emit` and `Bloodstream.settled`.

    await bs.emit("phase_done", {"phase": "plan"}, investigation_id="inv-1")   # sent now, acked later
    await bs.settled(timeout_s=5)                                            # every ack in (or counted failed)

An emitted event is sent at once, after every earlier publish of the same connection (so events keep
their order on the server), and counted published or failed when its ack arrives, or after
`publish_timeout_s` without one. Best effort, like `Bloodstream.event`: never raises.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import nats.errors

from swarm.models import DomainEvent

if TYPE_CHECKING:
    from .publisher import Bloodstream

__all__ = ["PipelinedEvents"]


class PipelinedEvents:
    """The pipelined half of the domain-event API (mixed into Bloodstream)."""

    _unacked: set[asyncio.Future[Any]]

    async def emit(
        self: Bloodstream, event_type: str, data: dict[str, Any] | None = None, investigation_id: str | None = None
    ) -> bool:
        """`event`, pipelined: each version's copy is sent now, in order with every earlier publish of
        this connection, and counted (published, duplicate or failed) when its ack arrives; no wait
        for it. False (counted, logged) when it could not even be sent. Never raises."""
        from .publisher import encode_event  # the default encoder lives beside `event`

        try:
            evt = DomainEvent(event_type=event_type, investigation_id=investigation_id, data=data or {})
            for version in self.event_versions:
                if not self.connected:
                    raise nats.errors.ConnectionClosedError("not connected to NATS")
                subject = self.names.event(event_type, version)
                payload = self.encoders.get(version, encode_event)(evt, version)
                ack = await self.bus.publish_soon(subject, payload, msg_id=f"{evt.event_id}.v{version}")
                self._watch(ack, event_type)
        except Exception as exc:  # best effort by contract: log and count, the caller carries on
            self._event_failed(event_type, exc)
            return False
        return True

    def _watch(self: Bloodstream, ack: asyncio.Future[Any], event_type: str) -> None:
        self._unacked.add(ack)
        timer = asyncio.get_running_loop().call_later(self.publish_timeout_s, ack.cancel)

        def done(fut: asyncio.Future[Any]) -> None:
            timer.cancel()
            self._unacked.discard(fut)
            if fut.cancelled():
                self._event_failed(event_type, TimeoutError(f"no ack within {self.publish_timeout_s} s"))
            elif fut.exception() is not None:
                self._event_failed(event_type, fut.exception())  # type: ignore[arg-type]
            else:
                self._count("event", "published")

        ack.add_done_callback(done)

    async def settled(self, timeout_s: float | None = None) -> None:
        """Wait until every emitted event is acked or counted failed (at most `timeout_s`)."""
        if self._unacked:
            await asyncio.wait(set(self._unacked), timeout=timeout_s)
