"""Counting occurrences in batches (SignatureIndex.count) on a real nats-server: exact under redelivery."""

from __future__ import annotations

import asyncio
import json

from swarm.bus.connect import Bus
from swarm.models import ErrorReport
from swarm.runtime.grouping import MAX_COUNTED, SignatureIndex

STREAM = "T_ERRORS"


def report(i: int) -> ErrorReport:
    return ErrorReport(error=f"KeyError: 'field_{i}'", service="shop", context={"file": "app/f.py", "line": 7})


async def occurrences(bus: Bus, sig: str) -> tuple[int, dict[str, list[int]]]:
    kv = await bus.js.key_value(bus.names.signature_bucket)
    entry = json.loads((await kv.get(sig)).value)
    return entry["occurrences"], entry["counted"]


async def test_a_redelivered_batch_is_not_counted_twice(bus: Bus) -> None:
    index = await SignatureIndex(bus.js, bus.names).open()
    r = report(12)
    first = await index.count(r, [(STREAM, 1), (STREAM, 2), (STREAM, 3)])
    assert first.kinds == ["new", "duplicate", "duplicate"]
    # the acks were lost: the same reports come back (to another actor, mixed with a new one)
    other = await SignatureIndex(bus.js, bus.names).open()
    again = await other.count(r, [(STREAM, 3), (STREAM, 1), (STREAM, 4), (STREAM, 2)])
    assert again.kinds == ["counted", "own", "duplicate", "counted"]
    assert (await occurrences(bus, r.signature))[0] == 4
    # and once more to the first actor, whose cached revision is stale now
    assert (await index.count(r, [(STREAM, 4)])).kinds == ["counted"]
    assert (await occurrences(bus, r.signature))[0] == 4


async def test_confirmed_acks_drop_their_marks_and_marks_stay_bounded(bus: Bus) -> None:
    index = await SignatureIndex(bus.js, bus.names).open()
    r = report(13)
    await index.count(r, [(STREAM, s) for s in range(1, 11)])
    assert (await occurrences(bus, r.signature))[1] == {STREAM: list(range(2, 11))}
    await index.count(r, [(STREAM, 11)], forget={STREAM: set(range(2, 11))})
    assert await occurrences(bus, r.signature) == (11, {STREAM: [11]})
    many = [(STREAM, s) for s in range(100, 100 + MAX_COUNTED + 50)]
    await index.count(r, many)
    count, marks = await occurrences(bus, r.signature)
    assert count == 11 + len(many) and len(marks[STREAM]) == MAX_COUNTED
    assert marks[STREAM][-1] == many[-1][1]  # the oldest marks went first


async def test_two_actors_counting_at_once_lose_nothing(bus: Bus) -> None:
    indexes = [await SignatureIndex(bus.js, bus.names).open() for _ in range(2)]
    sigs = [report(i) for i in range(3)]
    batches = [[(STREAM, 1000 * k + n) for n in range(20)] for k in range(12)]

    async def actor(i: int) -> None:
        for k, batch in enumerate(batches):
            if k % 2 == i:
                await asyncio.gather(*(indexes[i].count(r, batch) for r in sigs))
        # every batch once more: redeliveries count nothing
        for batch in batches[:4]:
            await asyncio.gather(*(indexes[i].count(r, batch) for r in sigs))

    await asyncio.gather(actor(0), actor(1))
    for r in sigs:
        assert (await occurrences(bus, r.signature))[0] == 12 * 20
