"""One publish API for the bloodstream, with a delivery policy per kind.

    bs = Bloodstream(bus, ".swarm/outbox", event_versions=[1, 2])   # cheap: no I/O until used
    await bs.start()                        # background replay of the on-disk outbox
    await bs.heartbeat(Heartbeat(service="research-0", role="research"))   # fire-and-forget (core NATS)
    await bs.event("fix_committed", {"branch": "swarm/fix/inv-1"}, investigation_id="inv-1")  # best effort
    await bs.emit("fix_committed", {...}, investigation_id="inv-1")   # the same, pipelined: no wait for the ack
    await bs.settled()                      # every emitted event acked (or counted failed)
    await bs.audit(actor="healer", action="restart_actor", target="research-0")              # guaranteed
    bs.start_heartbeat("research-0", role="research", interval_s=5)   # a beat every 5 s until close()
    await bs.close()

| kind                      | policy         | on failure                                                   |
|---------------------------|----------------|--------------------------------------------------------------|
| heartbeat                 | fire-and-forget| counted, dropped (the next beat replaces it)                 |
| domain event              | best effort    | logged and counted, never raised; `emit` pipelines: sent in  |
|                           |                | order behind this connection's earlier publishes, counted as |
|                           |                | its ack (or `publish_timeout_s` without one) arrives         |
| audit, injury, brain_dead | guaranteed     | retried with backoff, then stored in the outbox and replayed |
|                           |                | in order when NATS is back; Msg-Id = payload id, so          |
|                           |                | JetStream (24 h duplicate window) drops any second copy      |

While the outbox holds anything, new guaranteed messages queue behind it (order is kept). A
message the server refuses for good (not an outage) is dead-lettered with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import nats.errors
import psutil
from nats.js import errors as js_errors
from pydantic import ValidationError

from swarm.bus.connect import Bus
from swarm.bus.names import Names
from swarm.bus.trace import inject_headers
from swarm.errors import InvalidInput
from swarm.models import Audit, BrainDead, DeadLetter, DomainEvent, Heartbeat, Injury, Payload
from swarm.tasks import stop_tasks
from swarm.telemetry import metrics

from .adapter import InvestigationEvents
from .beats import measure
from .events import DomainEvents
from .outbox import Outbox, OutboxItem

__all__ = ["Bloodstream", "Counters", "Delivery", "EventEncoder", "InvestigationEvents", "encode_event"]

log = logging.getLogger("swarm.bloodstream")

EventEncoder = Callable[[DomainEvent, int], bytes]
P = TypeVar("P", bound=Payload)
_NATS_ERRORS = (nats.errors.Error, TimeoutError, OSError)


class Delivery(StrEnum):
    PUBLISHED = "published"  # acked by JetStream
    OUTBOXED = "outboxed"  # stored on disk, replayed when NATS is back


@dataclass
class Counters:
    published: int = 0
    failed: int = 0
    outboxed: int = 0
    replayed: int = 0
    dead_lettered: int = 0
    duplicates: int = 0  # acks JetStream marked duplicate (already delivered under this Msg-Id)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def encode_event(event: DomainEvent, version: int) -> bytes:
    """Default encoder: the same fields, stamped with the subject's schema version."""
    return event.model_copy(update={"schema_version": version}).to_bytes()


def _permanent(exc: BaseException) -> bool:
    """The server answered and refused (bad request, too large...): retrying cannot help."""
    return isinstance(exc, js_errors.APIError) and not isinstance(exc, js_errors.ServiceUnavailableError)


class Bloodstream(DomainEvents):
    """Publishes heartbeats, domain events, audits, injuries and brain_dead for one namespace."""

    def __init__(
        self,
        bus: Bus,
        outbox_dir: str | Path = ".swarm/outbox",
        *,
        event_versions: Iterable[int] = (1,),
        retries: int = 3,
        backoff_s: float = 0.1,
        publish_timeout_s: float = 2.0,
        replay_interval_s: float = 1.0,
        replay_batch: int = 256,
        encoders: dict[int, EventEncoder] | None = None,
    ) -> None:
        versions = sorted(set(event_versions))
        if not versions or any(not isinstance(v, int) or v < 1 for v in versions):
            raise InvalidInput(f"event_versions must be positive integers, got {list(event_versions)!r}")
        if retries < 1:
            raise InvalidInput(f"retries must be >= 1, got {retries}")
        self.bus = bus
        self.outbox = Outbox(outbox_dir, bus.names.ns)
        self.event_versions = versions
        self.retries, self.backoff_s = retries, backoff_s
        self.publish_timeout_s, self.replay_interval_s, self.replay_batch = (
            publish_timeout_s,
            replay_interval_s,
            replay_batch,
        )
        self.encoders: dict[int, EventEncoder] = dict(encoders or {})
        self.counters = Counters()
        self.by_kind: dict[str, Counters] = {}
        self._pending: int | None = None  # outbox rows; None until first read from disk
        self._kick = asyncio.Event()
        self._drained = asyncio.Event()
        self._replay_lock = asyncio.Lock()
        self._replayer: asyncio.Task[None] | None = None
        self._beats: dict[str, asyncio.Task[None]] = {}
        self._roles: dict[str, str] = {}
        self._process = psutil.Process()
        self._unacked: set[asyncio.Future[Any]] = set()  # emitted events waiting for their ack

    @classmethod
    def from_config(cls, bus: Bus, cfg: Any, **overrides: Any) -> Bloodstream:
        """From a SwarmConfig (or its `bloodstream` section): outbox_dir and event_versions."""
        section = getattr(cfg, "bloodstream", cfg)
        opts = {"event_versions": section.event_versions} | overrides
        return cls(bus, section.outbox_dir, **opts)

    @property
    def names(self) -> Names:
        return self.bus.names

    @property
    def connected(self) -> bool:
        return self.bus.nc.is_connected

    @property
    def pending(self) -> int:
        """Messages waiting in the outbox (as last seen by this process)."""
        return self._pending or 0

    def stats(self) -> dict[str, Any]:
        return self.counters.as_dict() | {
            "pending": self.pending,
            "kinds": {k: c.as_dict() for k, c in sorted(self.by_kind.items())},
        }

    def _count(self, kind: str, what: str, n: int = 1) -> None:
        setattr(self.counters, what, getattr(self.counters, what) + n)
        per = self.by_kind.setdefault(kind, Counters())
        setattr(per, what, getattr(per, what) + n)
        metrics.inc("bloodstream_messages", n, kind=kind, outcome=what)
        metrics.gauge("outbox_depth", self.pending)

    # lifecycle --------------------------------------------------------------------------------
    async def start(self) -> Bloodstream:
        """Read the outbox left by an earlier run and start replaying it in the background."""
        await self._load_pending()
        if self._replayer is None or self._replayer.done():
            self._replayer = asyncio.create_task(self._replay_loop(), name="bloodstream-replay")
        self._kick.set()
        return self

    async def close(self) -> None:
        """Stop heartbeats (each sends a last 'stopping' beat) and the replayer; the outbox stays on disk."""
        await self.settled(self.publish_timeout_s)
        for service in list(self._beats):
            await self.stop_heartbeat(service)
        if self._replayer is not None:
            await stop_tasks(self._replayer)
            self._replayer = None
        await asyncio.to_thread(self.outbox.close)

    async def __aenter__(self) -> Bloodstream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # fire-and-forget ------------------------------------------------------------------------
    async def heartbeat(self, hb: Heartbeat) -> bool:
        """Core NATS publish on `{ns}.hive.heartbeat.<service>`; False (counted) when not connected."""
        if not self.connected:  # a beat buffered through an outage would arrive stale: drop it
            self._count("heartbeat", "failed")
            return False
        try:
            await self.bus.publish_core(self.names.heartbeat_of(hb.service), hb)
        except _NATS_ERRORS as exc:
            self._count("heartbeat", "failed")
            log.debug("heartbeat of %s dropped: %r", hb.service, exc)
            return False
        self._count("heartbeat", "published")
        return True

    def start_heartbeat(
        self,
        service: str,
        role: str = "",
        interval_s: float = 5.0,
        probe: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """Beat every `interval_s` until stop_heartbeat/close; `probe()` may add Heartbeat fields."""
        if service in self._beats and not self._beats[service].done():
            return
        self._roles[service] = role
        self._beats[service] = asyncio.create_task(
            self._beat_loop(service, role, interval_s, probe), name=f"heartbeat:{service}"
        )

    async def stop_heartbeat(self, service: str, final_status: str = "stopping") -> None:
        """Stop beating; a last beat with `final_status` tells the monitor this was no crash."""
        task = self._beats.pop(service, None)
        if task is None:
            return
        await stop_tasks(task)
        role = self._roles.pop(service, "")
        await self.heartbeat(Heartbeat(service=service, role=role, status=final_status, interval_s=0))  # type: ignore[arg-type]

    async def _beat_loop(
        self, service: str, role: str, interval_s: float, probe: Callable[[], dict[str, Any]] | None
    ) -> None:
        while True:
            await self.heartbeat(measure(self._process, service, role, interval_s, probe))
            await asyncio.sleep(interval_s)  # the beat period itself, not a wait for readiness

    # guaranteed -------------------------------------------------------------------------------
    async def audit(self, audit: Audit | None = None, /, **fields: Any) -> Delivery:
        """`audit(Audit(...))` or `audit(actor=..., action=..., target=..., details=...)`."""
        msg = _build(Audit, audit, fields)
        return await self._guaranteed("audit", self.names.audit, msg.audit_id, msg.to_bytes())

    async def injury(self, injury: Injury | None = None, /, **fields: Any) -> Delivery:
        msg = _build(Injury, injury, fields)
        return await self._guaranteed("injury", self.names.injury, msg.injury_id, msg.to_bytes())

    async def brain_dead(self, brain_dead: BrainDead | None = None, /, **fields: Any) -> Delivery:
        msg = _build(BrainDead, brain_dead, fields)
        data = msg.to_bytes()  # BrainDead has no id field: the content (timestamp included) names it
        return await self._guaranteed(
            "brain_dead", self.names.brain_dead, f"brain_dead-{hashlib.sha256(data).hexdigest()[:32]}", data
        )

    def for_investigation(self, investigation_id: str, actor: str) -> InvestigationEvents:
        """The agents' EventPublisher, bound to one investigation and actor."""
        return InvestigationEvents(self, investigation_id, actor)

    async def _load_pending(self) -> int:
        if self._pending is None:
            self._pending = await asyncio.to_thread(self.outbox.count)
            if self._pending == 0:
                self._drained.set()
        return self._pending

    async def _guaranteed(self, kind: str, subject: str, msg_id: str, data: bytes) -> Delivery:
        headers = inject_headers({})  # kept with an outboxed message, so the replay keeps the trace
        if await self._load_pending() == 0 and self.connected:
            exc, duplicate = await self._publish_with_retries(subject, data, msg_id, headers)
            if exc is None:
                self._count(kind, "duplicates" if duplicate else "published")
                return Delivery.PUBLISHED
            log.warning("%s %s not acked after retries (%r): keeping it in the outbox", kind, msg_id, exc)
        await asyncio.to_thread(self.outbox.put, kind, subject, msg_id, data, headers)
        self._pending = (self._pending or 0) + 1
        self._drained.clear()
        self._count(kind, "outboxed")
        self._kick.set()
        return Delivery.OUTBOXED

    async def _publish_once(self, subject: str, data: bytes, msg_id: str, headers: dict[str, str]) -> bool:
        """One JetStream publish; True when the server says it already had this Msg-Id."""
        ack = await self.bus.publish(subject, data, msg_id=msg_id, headers=headers, timeout=self.publish_timeout_s)
        return bool(ack.duplicate)

    async def _publish_with_retries(
        self, subject: str, data: bytes, msg_id: str, headers: dict[str, str]
    ) -> tuple[BaseException | None, bool]:
        """(None, duplicate) once acked; (the last error, False) when every attempt failed."""
        last: BaseException | None = None
        for attempt in range(self.retries):
            try:
                return None, await self._publish_once(subject, data, msg_id, headers)
            except _NATS_ERRORS as exc:
                last = exc
            if _permanent(last) or not self.connected:
                break
            await asyncio.sleep(self.backoff_s * 2**attempt)  # backoff between attempts
        return last, False

    # replay -----------------------------------------------------------------------------------
    async def wait_drained(self, timeout_s: float | None = None) -> bool:
        """Wait until the outbox is empty (True) or the timeout passes (False)."""
        await self._load_pending()
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def replay(self) -> int:
        """Send what the outbox holds, oldest first; stops at the first message that fails."""
        async with self._replay_lock:
            delivered = 0
            while self.connected:
                items = await asyncio.to_thread(self.outbox.peek, self.replay_batch)
                if not items:
                    break
                sent = await self._replay_items(items)
                delivered += sent
                if sent < len(items):
                    break
            self._pending = await asyncio.to_thread(self.outbox.count)
            if self._pending == 0:
                self._drained.set()
            return delivered

    async def _replay_items(self, items: list[OutboxItem]) -> int:
        done = 0
        for item in items:
            try:
                duplicate = await self._publish_once(item.subject, item.data, item.msg_id, item.headers)
            except _NATS_ERRORS as exc:
                await asyncio.to_thread(self.outbox.failed_attempt, item.seq, repr(exc))
                if not _permanent(exc) or not await self._dead_letter(item, exc):
                    return done
            else:
                self._count(item.kind, "duplicates" if duplicate else "replayed")
            await asyncio.to_thread(self.outbox.delete, item.seq)
            done += 1
        return done

    async def _dead_letter(self, item: OutboxItem, exc: BaseException) -> bool:
        letter = DeadLetter.bounded(  # under the server's max payload, whatever the refused item's size
            item.data, max_bytes=self.bus.payload_room(), reason=f"JetStream refused {item.kind} {item.msg_id}: {exc}",
            error_type=type(exc).__name__, source_subject=item.subject, headers=item.headers,
        )
        try:
            await self.bus.publish(self.names.dead("bloodstream"), letter, msg_id=f"dead-{item.msg_id}")
        except _NATS_ERRORS as dl_exc:
            log.warning("dead-lettering %s failed (%r): it stays in the outbox", item.msg_id, dl_exc)
            return False
        self._count(item.kind, "dead_lettered")
        return True

    async def _replay_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.replay_interval_s)
            self._kick.clear()
            if self.pending and self.connected:
                try:
                    await self.replay()
                except Exception as exc:  # keep the replayer alive; the rows stay on disk for the next pass
                    log.warning("outbox replay pass failed: %r", exc)


def _build(model: type[P], given: P | None, fields: dict[str, Any]) -> P:
    if given is not None:
        if fields:
            raise InvalidInput(f"pass a {model.__name__} or its fields, not both")
        return given
    try:
        return model(**fields)
    except ValidationError as exc:
        raise InvalidInput(f"invalid {model.__name__}: {exc}") from exc
