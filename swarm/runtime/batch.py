"""Intake in batches: how much to fetch, and a fetched batch split by signature.

    sizer = FetchSizer(smallest=16, largest=256)
    n = sizer.size(free_slots=40)            # the next fetch
    sizer.saw_backlog(msgs[-1].metadata.num_pending)
    batch = Batch.parse(stream, msgs)        # valid reports grouped by signature, the malformed apart
    sizer.saw_opened(len(msgs), opened)      # how many of them opened (or resumed) an investigation

A storm is one error thousands of times: most of a batch are duplicates that cost one compare-and-set
per signature and a pipelined ack, no slot. So the fetch grows with the backlog (up to `largest`), and
only the share of reports that open an investigation is held to the free investigation slots: a
burst of distinct reports is fetched as before, a slot's worth at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from pydantic import ValidationError

from swarm.errors import InvalidInput, explain
from swarm.models import ErrorReport

__all__ = ["Batch", "FetchSizer", "explain", "member_slots", "report_parser"]


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

