"""Domain events, best effort: `Bloodstream.event` (awaits its ack), `emit` (pipelined), `settled`.

    await bs.event("investigation_started", {...}, investigation_id="inv-1")  # sent and acked
    await bs.emit("phase_done", {"phase": "plan"}, investigation_id="inv-1")   # sent now, acked later
    await bs.settled(timeout_s=5)                                            # every ack in (or counted failed)

An emitted event is sent at once, after every earlier publish of the same connection (so events keep
their order on the server), and counted published or failed when its ack arrives, or after
`publish_timeout_s` without one. Best effort, like `Bloodstream.event`: never raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import nats.errors

from swarm.models import DomainEvent

if TYPE_CHECKING:
    from .publisher import Bloodstream

__all__ = ["DomainEvents"]

log = logging.getLogger("swarm.bloodstream")


class DomainEvents:
    """The domain-event API (mixed into Bloodstream): each configured version's copy of an event."""

    _unacked: set[asyncio.Future[Any]]

    async def event(
        self: Bloodstream, event_type: str, data: dict[str, Any] | None = None, investigation_id: str | None = None
    ) -> bool:
        """Publish a domain event to every configured version's subject. Never raises."""
        try:
            for subject, payload, msg_id in self._event_copies(event_type, data, investigation_id):
                await self.bus.publish(subject, payload, msg_id=msg_id, timeout=self.publish_timeout_s)
                self._count("event", "published")
        except Exception as exc:  # best effort by contract: log and count, the caller carries on
            self._event_failed(event_type, exc)
            return False
        return True

    def _event_copies(
        self: Bloodstream, event_type: str, data: dict[str, Any] | None, investigation_id: str | None
    ) -> Iterator[tuple[str, Any, str]]:
        """(subject, payload, Msg-Id) of each configured version's copy of one event; raises once NATS is gone."""
        evt = DomainEvent(event_type=event_type, investigation_id=investigation_id, data=data or {})
        for version in self.event_versions:
            if not self.connected:
                raise nats.errors.ConnectionClosedError("not connected to NATS")
            yield (self.names.event(event_type, version), self.encoders.get(version, _encode_event())(evt, version),
                   f"{evt.event_id}.v{version}")

    def _event_failed(self: Bloodstream, event_type: str, exc: BaseException) -> None:
        self._count("event", "failed")
        failed = self.by_kind["event"].failed
        level = logging.WARNING if failed % 100 == 1 else logging.DEBUG  # an outage must not flood the log
        log.log(level, "domain event %r not published (%d failed so far): %r", event_type, failed, exc)

    async def emit(
        self: Bloodstream, event_type: str, data: dict[str, Any] | None = None, investigation_id: str | None = None
    ) -> bool:
        """`event`, pipelined: each version's copy is sent now, in order with every earlier publish of
        this connection, and counted (published, duplicate or failed) when its ack arrives; no wait
        for it. False (counted, logged) when it could not even be sent. Never raises."""
        try:
            for subject, payload, msg_id in self._event_copies(event_type, data, investigation_id):
                self._watch(await self.bus.publish_soon(subject, payload, msg_id=msg_id), event_type)
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


def _encode_event() -> Any:
    from .publisher import encode_event  # the default encoder lives beside the versions' encoders

    return encode_event
