"""Where a report is settled: the error tree (swarm.errors) is the ack policy.

    settler = Settler(bus, blood, index, counters, max_deliver={stream: 3}, nak_delay_s=2.0, actor="intake-0")
    await settler.settle(stream, msg)         # the work is done: ack
    await settler.settle(stream, msg, exc)    # exc.settlement decides: ack, nak, term, dead-letter, reject
    await settler.ack_all(duplicates)         # a batch's duplicates: pipelined acks, one confirmation

Intake raises; only `settle` decides. RETRY naks after `exc.retry_delay_s` (None: `nak_delay_s`),
doubled per delivery, and dead-letters the last allowed delivery instead. DEAD_LETTER publishes a
DeadLetter with the reason and the original bytes, then terms. REJECT publishes the SecurityRejection
and a `rejected` Result (when the error carries the filter's verdict), then terms. An exception from
outside the tree is a TransientError. `wait_out` is the in-place counterpart for WAIT (OverBudget):
the report stays with its worker (in-progress acks) and is never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NotFoundError

from swarm.bloodstream.publisher import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.names import HDR_MSG_ID, HDR_REQUEUES
from swarm.errors import Rejected, Settlement, SwarmError, SwarmUnavailable, TransientError
from swarm.models import DeadLetter, ErrorReport, Result
from swarm.runtime.faults import is_swarm_fault
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.tasks import report_of_message
from swarm.security.rejection import rejection_for
from swarm.telemetry import metrics
from swarm.telemetry.logs import Ids, log_acked, log_settled
from swarm.workspaces import discard_settled

__all__ = ["Settler", "as_swarm_error", "described", "wait_out", "requeue_delay_s"]

log = logging.getLogger("swarm.runtime.settle")
T = TypeVar("T")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours in a Ray task error's text
_TASK_TITLE = re.compile(r"ray::([\w.]+)\(\)")
# A plain nak only queues the report for redelivery in the server's memory: a server restarted meanwhile (the
# embedded one of `swarm run`, or an upgrade) redelivers it after the whole ack wait. A nak with a delay
# writes when it is due into the consumer's stored state, so the next run gets it at once either way.
HAND_BACK_DELAY_S = 0.01


def as_swarm_error(exc: BaseException) -> SwarmError:
    """The boundary: NATS connection trouble and dead or missing Ray actors are the swarm's own faults
    (SwarmUnavailable: requeued, never dead-lettered); anything else outside the tree is worth a retry."""
    if isinstance(exc, SwarmError):
        return exc
    if is_swarm_fault(exc):
        return SwarmUnavailable(described(exc))
    return TransientError(described(exc))


def described(exc: BaseException, typed: bool = True) -> str:
    """`Type: message` (or the message alone) on one line, for a reason: a Ray task's failure reads as the
    remote exception and the method, without Ray's remote traceback and its terminal colours."""
    inner, where = unwrapped(exc)
    text = f"{type(inner).__name__}: {inner}" if typed else str(inner)
    return _ANSI.sub("", text + (f" (in {where})" if where else ""))


def unwrapped(exc: BaseException) -> tuple[BaseException, str]:
    """The exception a Ray task raised and the method it ran (`exc` itself and "" when it is no task error)."""
    cause = getattr(exc, "cause", None)
    if not isinstance(cause, BaseException) or cause is exc:
        return exc, ""
    if name := getattr(exc, "function_name", ""):
        return cause, str(name)
    # Ray's instance of both classes keeps only the cause; its text opens with the task's process title
    title = _TASK_TITLE.search(_ANSI.sub("", str(exc)))
    return cause, title.group(1) if title else "a Ray task"


async def wait_out(attempt: Callable[[], Awaitable[T]]) -> T:
    """Call `attempt` until it stops raising a WAIT error, sleeping the error's `retry_delay_s` between."""
    while True:
        try:
            return await attempt()
        except SwarmError as exc:
            if exc.settlement != Settlement.WAIT:
                raise
            await asyncio.sleep(exc.retry_delay_s or 0.0)


def requeue_delay_s(base_s: float, attempt: int, ack_wait_s: float) -> float:
    """The nak delay of a requeued report's `attempt`-th failure (counted across re-published copies):
    `base_s` doubled per attempt up to the ack wait. A restarting actor is retried within seconds; a long
    outage is retried at the ack wait's pace, and never dead-lettered."""
    return min(max(ack_wait_s, base_s), max(base_s, 0.05) * 2 ** max(0, attempt - 1))


def _headers(msg: Msg) -> dict[str, str]:
    return dict(msg.headers or {})


_ACK_ATTEMPTS = 3  # a server slow to confirm (a loaded host, a stop draining many reports) is asked again


async def _confirmed_ack(msg: Msg, timeout: float = 2.0) -> None:
    """`msg.ack_sync()`, asked again on a timeout (an ack is idempotent: the server keeps the first); the last
    timeout is raised (the report then comes back after its ack wait and is recognised by its sequence)."""
    for attempt in range(_ACK_ATTEMPTS):
        try:
            await msg.ack_sync(timeout=timeout)
            return
        except NatsTimeout:
            if attempt == _ACK_ATTEMPTS - 1:
                raise


class Settler:
    """Settles the reports of one intake actor (the counters are the actor's)."""

    def __init__(self, bus: Bus, blood: Bloodstream, index: SignatureIndex, counters: Counter[str], *,
                 max_deliver: dict[str, int], nak_delay_s: float, actor: str, objects: bool = False,
                 workspace_root: str | None = None, fix_scope: str | None = None) -> None:
        self.bus, self.blood, self.index, self.counters = bus, blood, index, counters
        self.workspace_root = workspace_root  # a dead-lettered investigation's worktrees go (swarm.workspaces)
        self.fix_scope = fix_scope or bus.names.ns  # the namespace its worktree folders carry (SwarmConfig.fix_scope)
        self.max_deliver, self.nak_delay_s, self.actor = max_deliver, nak_delay_s, actor
        self.objects = objects  # keep the whole original of a cut dead letter in the object store
        self.ack_wait_s: dict[str, float] = {}  # per error stream (intake fills it from the consumer config)

    async def settle(self, stream: str, msg: Msg, exc: BaseException | None = None, ids: Ids | None = None) -> None:
        """`ids`: the report's (signature, investigation id) for its log line, when known."""
        error = None if exc is None else as_swarm_error(exc)
        try:
            await self._settle(stream, msg, error)
        finally:
            log_settled(self.actor, stream, msg, error, self.max_deliver.get(stream, 3), ids)

    async def _settle(self, stream: str, msg: Msg, exc: BaseException | None = None) -> None:
        if exc is None:
            await _confirmed_ack(msg)
            metrics.inc("reports_acked")
            return
        error = as_swarm_error(exc)
        match error.settlement:
            case Settlement.ACK:
                await _confirmed_ack(msg)
                metrics.inc("reports_acked")
            case Settlement.TERMINATE:
                await msg.term()
            case Settlement.RETRY | Settlement.WAIT:
                await self._retry(stream, msg, error)
            case Settlement.REJECT:
                await self._reject(msg, error)
            case Settlement.REQUEUE:
                await self._requeue(stream, msg, error)
            case _:  # DEAD_LETTER, and EXIT (a config error met while working on a report)
                await self.dead_letter(stream, msg, described(error, typed=False), type(unwrapped(error)[0]).__name__)

    async def ack_all(self, msgs: list[Msg], ids: list[Ids | None] | None = None) -> bool:
        """Ack a batch in one pipeline: every ack but the last is sent without waiting, the last waits for
        the server, which handles one connection's acks in order. True when that confirmation came."""
        if not msgs:
            return True
        try:
            for msg in msgs[:-1]:
                await msg.ack()
            await _confirmed_ack(msgs[-1])
        except Exception as exc:  # unconfirmed: a report whose ack was lost comes back and is recognised
            log.warning("%s: %d acks not confirmed: %r", self.actor, len(msgs), exc)
            return False
        metrics.inc("reports_acked", len(msgs))
        log_acked(self.actor, msgs, ids)  # one line per settled report, grouped duplicates included
        return True

    async def _retry(self, stream: str, msg: Msg, error: SwarmError) -> None:
        delivered = msg.metadata.num_delivered
        if delivered >= self.max_deliver.get(stream, 3):
            reason = f"gave up after {delivered} deliveries: {described(error, typed=False)}"
            await self.dead_letter(stream, msg, reason, "TransientError")
            return
        first = self.nak_delay_s if error.retry_delay_s is None else error.retry_delay_s
        with contextlib.suppress(Exception):
            await msg.nak(delay=first * 2 ** (delivered - 1))

    async def _requeue(self, stream: str, msg: Msg, error: SwarmError) -> None:
        """The swarm's own fault: back off towards the ack wait; the last delivery is re-published."""
        delivered = msg.metadata.num_delivered
        attempt = delivered + int(_headers(msg).get(HDR_REQUEUES, "0") or 0)  # earlier copies' deliveries count
        log.warning("%s: requeue %s:%s (attempt %d): %s", self.actor, stream, msg.metadata.sequence.stream,
                    attempt, error)
        if delivered >= self.max_deliver.get(stream, 3):
            await self.hand_back(stream, msg, {HDR_REQUEUES: str(attempt)})
            return
        delay = requeue_delay_s(self.nak_delay_s, attempt, self.ack_wait_s.get(stream, 30.0))
        with contextlib.suppress(Exception):
            await msg.nak(delay=delay)

    async def dead_letter(self, stream: str, msg: Msg, reason: str, error_type: str) -> None:
        """DeadLetter with the reason and the original bytes; term. A signature whose opening report is
        dead-lettered is marked so, and its next occurrence reopens the investigation."""
        bus = self.bus
        seq = msg.metadata.sequence.stream
        dl = await self._letter(
            msg.data,
            reason=reason,
            error_type=error_type,
            source_subject=msg.subject,
            source_stream=stream,
            source_sequence=seq,
            deliveries=msg.metadata.num_delivered,
            headers=_headers(msg),
        )
        await bus.publish(bus.names.dead("errors"), dl, msg_id=bus.names.dead_letter_msg_id(stream, seq))
        await self._release_signature(msg.data, (stream, seq))
        await msg.term()
        self.counters["dead_lettered"] += 1
        metrics.inc("reports_dead_lettered", reason=error_type)

    async def dead_letter_exhausted(self, advisory: dict[str, Any]) -> None:
        """A report that reached max deliver elsewhere (a MAX_DELIVERIES advisory): dead-letter it from
        its stream."""
        bus = self.bus
        stream, seq = advisory["stream"], int(advisory["stream_seq"])
        try:
            raw = await bus.js.get_msg(stream, seq)
        except NotFoundError:
            return  # settled (acked, or dead-lettered already) after all
        dl = await self._letter(
            raw.data or b"",
            reason=f"reached max deliver ({advisory.get('deliveries')}) without being settled",
            error_type="MaxDeliveries",
            source_subject=raw.subject,
            source_stream=stream,
            source_sequence=seq,
            deliveries=advisory.get("deliveries"),
            headers=dict(raw.headers or {}),
        )
        await bus.publish(bus.names.dead("errors"), dl, msg_id=bus.names.dead_letter_msg_id(stream, seq))
        await self._release_signature(raw.data or b"", (stream, seq))  # before the delete: retried with it
        await bus.js.delete_msg(stream, seq)
        self.counters["dead_lettered"] += 1
        metrics.inc("reports_dead_lettered", reason="MaxDeliveries")

    async def _letter(self, data: bytes, **fields: Any) -> DeadLetter:
        """Bounded under the server's max payload (room kept for headers); the whole original in the
        object store too when `intake.dead_letter_objects` is on and it had to be cut."""
        dl = DeadLetter.bounded(data, max_bytes=self.bus.payload_room(), **fields)
        if dl.payload_truncated and self.objects:
            names = self.bus.names
            name = names.dead_letter_object(str(fields["source_stream"]), int(fields["source_sequence"]))
            try:
                store = await self.bus.js.create_object_store(names.dead_letter_objects)
                await store.put(name, data)
                dl.payload_object = f"{names.dead_letter_objects}/{name}"
            except Exception as exc:  # the bounded letter still says size and sha256
                log.warning("%s: original of %s not kept in the object store: %r", self.actor, name, exc)
        return dl

    async def _release_signature(self, data: bytes, source: tuple[str, int]) -> None:
        """If this report held its signature's investigation, the next occurrence may reopen it."""
        report = report_of_message(data)  # an error report or an investigation task
        if report is None:
            return  # malformed: it never held a signature
        given_up = await self.index.mark_dead_lettered(report.signature, source)
        if given_up and self.workspace_root:  # given up: an occurrence that takes it over redoes its open phases
            await discard_settled(self.workspace_root, given_up, self.actor, self.fix_scope)

    async def _reject(self, msg: Msg, error: SwarmError) -> None:
        """With the filter's verdict: SecurityRejection on `{ns}.security.rejected`, the outcome on
        `{ns}.results.rejected.<id>`, the signature marked rejected; then term."""
        if isinstance(error, Rejected) and error.verdict is not None:
            bus, report, inv = self.bus, error.report, str(error.investigation_id)
            assert isinstance(report, ErrorReport)
            rejection = rejection_for(report, error.verdict)  # type: ignore[arg-type]
            await bus.publish(bus.names.security_rejected, rejection, msg_id=bus.names.rejection_msg_id(inv))
            result = Result(
                investigation_id=inv,
                signature=report.signature,
                status="rejected",
                service=report.service,
                environment=report.environment,
                error=rejection.reason,
            )
            await bus.publish(bus.names.result("rejected", inv), result, msg_id=inv)
            self.counters["rejected"] += 1
            metrics.inc("reports_rejected")
            await self.blood.event("report_rejected", {"rule_ids": rejection.rule_ids, "category": rejection.category},
                                   investigation_id=inv)
            await self.index.set_status(report.signature, "rejected")
        await msg.term()

    async def hand_back(self, stream: str, msg: Msg, extra: dict[str, str] | None = None) -> None:
        """A drain gives a report back. A nak uses up a delivery; on the last one a re-published copy
        (original headers, so the same trace) takes the report's place and its claim on the signature:
        a drain never dead-letters a report that did nothing wrong."""
        if msg.metadata.num_delivered < self.max_deliver.get(stream, 3):
            await msg.nak(delay=HAND_BACK_DELAY_S)
        else:
            headers = {k: v for k, v in _headers(msg).items() if k != HDR_MSG_ID}  # a new message, not a duplicate
            headers.update(extra or {})
            ack = await self.bus.js.publish(msg.subject, msg.data, headers=headers)
            if (report := report_of_message(msg.data)) is not None:
                await self.index.transfer(report.signature, (stream, msg.metadata.sequence.stream),
                                          (ack.stream, ack.seq))
            await msg.term()
        # a drain stops the actor next: a nak or term still in the client's buffer would be lost with it, and the
        # report would sit unacked until its ack wait (600 s) ran out (CI saw a 613 s drain test)
        await self.bus.roundtrip(timeout=5.0)

