"""Intake in batches: how much to fetch, and a fetched batch split by signature.

    sizer = FetchSizer(smallest=16, largest=256)
    n = sizer.size(free_slots=40)            # the next fetch
    sizer.saw_backlog(msgs[-1].metadata.num_pending)
    batch = Batch.parse(stream, msgs)        # valid reports grouped by signature, the malformed apart
    sizer.saw_opened(len(msgs), opened)      # how many of them opened (or resumed) an investigation

    catch_up = CatchUp(threshold=256)        # new investigations wait while a storm's backlog is grouped
    catch_up.saw(stream, pending)            # after each fetch; catch_up.stalled() when no slot is free
    held = await catch_up.wait(hold_s=2.0)   # (seconds held, why it was let go)

A storm is one error thousands of times: most of a batch are duplicates that cost one compare-and-set
per signature and a pipelined ack, no slot. So the fetch grows with the backlog (up to `largest`), and
only the share of reports that open an investigation is held to the free investigation slots: a
burst of distinct reports is fetched as before, a slot's worth at a time.

On 2 cores a storm's few investigations (their agents, events, actor calls) take the CPU the grouping
needs: measured, 10 no-op investigations opened in the first batch of a 5,000-report storm halved the
intake's rate. So while the intake is behind a backlog it can still fetch (more than one full fetch
pending, a slot free), a new investigation waits, up to `intake.open_hold_s`, for the backlog to be
grouped: the duplicates are acked first and the investigation starts a fraction of a second later (it
keeps its report alive and counts as the autoscaler's load meanwhile). A burst of distinct reports
fills the slots at once, and a full slot count lets the held ones go: no wait there.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from pydantic import ValidationError

from swarm.errors import InvalidInput, explain
from swarm.models import ErrorReport

__all__ = ["Batch", "CatchUp", "FetchSizer", "explain", "member_slots", "report_parser"]


def member_slots(max_concurrent: int, members: int) -> int:
    """Investigation slots of one intake actor: its share of twice the swarm-wide concurrency (the budget
    admits `max_concurrent`; as many again wait admitted-next, so the autoscaler sees them as load). The
    queue group's members split a burst: a member fetches only what its free slots can take, and the rest
    stays in the consumer for the others."""
    return max(2, -(-2 * max(1, max_concurrent) // max(1, members)))


class FetchSizer:
    """The next fetch: the backlog (between `smallest` and `largest`), at most the free slots' worth
    of new investigations at the recent share of reports that opened one (1.0 until seen)."""

    def __init__(self, smallest: int, largest: int) -> None:
        self.smallest, self.largest = max(1, smallest), max(1, smallest, largest)
        self.backlog = self.smallest
        self.opening_share = 1.0  # a guess until the first batch is seen: that batch replaces it
        self.seen = False

    def size(self, free_slots: int) -> int:
        want = min(self.largest, max(self.smallest, self.backlog))
        room = max(free_slots, 1) / max(self.opening_share, 1.0 / self.largest)
        return max(1, min(want, int(room)))

    def expected_openings(self, fetched: int) -> int:
        """How many of a fetched batch will likely open an investigation (held against the free slots until
        the batch is grouped): all of a burst of distinct reports, few of a storm's duplicates."""
        return min(fetched, math.ceil(fetched * self.opening_share)) if fetched > 0 else 0

    def saw_backlog(self, pending: int) -> None:
        self.backlog = max(0, int(pending))

    def saw_signatures(self, fetched: int, signatures: int) -> None:
        """A parsed batch opens at most one investigation per signature: before the first batch is grouped,
        that bound replaces the guess of 1.0 (a storm's second fetch then goes out while the first counts)."""
        if fetched > 0 and not self.seen:
            self.opening_share = min(self.opening_share, max(signatures, 1) / fetched)

    def saw_opened(self, fetched: int, opened: int) -> None:
        if fetched > 0:
            share = opened / fetched
            self.opening_share = 0.5 * self.opening_share + 0.5 * share if self.seen else share
            self.seen = True


class CatchUp:
    """Whether the intake is behind: some stream's backlog above `threshold` after its last fetch, while
    the fetch can go on (`stalled()`, no free slot, or `idle()`, an empty fetch, let the held ones go)."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self.backlog: dict[str, int] = {}
        self.released = asyncio.Event()
        self.released.set()
        self.why = "caught_up"

    def saw(self, stream: str, pending: int) -> None:
        self.backlog[stream] = max(0, int(pending))
        if max(self.backlog.values()) > self.threshold:
            self.released.clear()
        else:
            self._release("caught_up")

    def idle(self, stream: str) -> None:
        self.saw(stream, 0)

    def stalled(self) -> None:
        """No free slot: no fetch until an investigation ends, so nothing is gained by holding."""
        self._release("no_slots")

    def _release(self, why: str) -> None:
        if not self.released.is_set():
            self.why = why
            self.released.set()

    async def wait(self, hold_s: float) -> tuple[float, str]:
        """Seconds held and why it was let go ("" when not held): at most `hold_s`."""
        if self.released.is_set() or hold_s <= 0:
            return 0.0, ""
        began = time.monotonic()
        try:
            await asyncio.wait_for(self.released.wait(), hold_s)
            why = self.why
        except TimeoutError:
            why = "timeout"
        return time.monotonic() - began, why

    def pending(self) -> int:
        return max(self.backlog.values(), default=0)


@dataclass
class Batch:
    """A fetched batch: valid reports by signature (fetch order kept), malformed ones with the reason."""

    stream: str
    groups: dict[str, list[tuple[Msg, ErrorReport]]] = field(default_factory=dict)
    malformed: list[tuple[Msg, InvalidInput]] = field(default_factory=list)
    first_deliveries: int = 0

    @classmethod
    def parse(cls, stream: str, msgs: list[Msg], parse: Callable[[bytes], ErrorReport] | None = None) -> Batch:
        """`parse` turns a message into its report (default: the message is an ErrorReport); it raises
        InvalidInput (or ValidationError) naming what is wrong."""
        batch = cls(stream)
        for msg in msgs:
            if msg.metadata.num_delivered == 1:
                batch.first_deliveries += 1
            try:
                report = parse(msg.data) if parse else ErrorReport.model_validate_json(msg.data)
            except ValidationError as exc:
                batch.malformed.append((msg, InvalidInput(f"invalid ErrorReport: {explain(exc)}")))
                continue
            except InvalidInput as exc:
                batch.malformed.append((msg, exc))
                continue
            batch.groups.setdefault(report.signature, []).append((msg, report))
        return batch


def report_parser(env: str) -> Callable[[bytes], ErrorReport]:
    """How `env`'s error stream reads its messages: a payload that names no `environment` is of the one its
    subject names (a client in another language need not repeat it); one that names it keeps its own."""

    def parse(data: bytes) -> ErrorReport:
        report = ErrorReport.model_validate_json(data)
        if "environment" not in report.model_fields_set and report.environment != env:
            report = report.model_copy(update={"environment": env})
        return report

    return parse

