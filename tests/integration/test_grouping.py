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


class _CountedGets:
    """The index's real KV handle, its reads counted (every call still goes to the server)."""

    def __init__(self, kv: object) -> None:
        self.kv, self.gets = kv, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.kv, name)

    async def get(self, *args: object, **kwargs: object) -> object:
        self.gets += 1
        return await self.kv.get(*args, **kwargs)  # type: ignore[attr-defined]


async def test_a_result_closes_the_entry_this_actor_wrote_without_a_read_and_a_stale_one_after_one(
    bus: Bus,
) -> None:
    index = await SignatureIndex(bus.js, bus.names).open()
    counted = _CountedGets(index.kv)
    index.kv = counted  # type: ignore[assignment]
    r = report(21)
    tally = await index.count(r, [(STREAM, 1), (STREAM, 2)])
    await index.close(r.signature, tally.investigation_id, "no_fix")
    kv = await bus.js.key_value(bus.names.signature_bucket)
    entry = json.loads((await kv.get(r.signature)).value)
    assert entry["status"] == "no_fix" and entry["occurrences"] == 2
    assert counted.gets == 0, "closing the entry this actor had just written read it again"
    # the next occurrence starts from the closed entry this actor wrote: counted, no read, not reopened
    assert (await index.count(r, [(STREAM, 3)])).kinds == ["duplicate"] and counted.gets == 0

    # another actor writes meanwhile: the cached entry is stale, its compare-and-set is refused, read again
    other = await SignatureIndex(bus.js, bus.names).open()
    r2 = report(22)
    tally2 = await index.count(r2, [(STREAM, 10)])
    await other.count(r2, [(STREAM, 11), (STREAM, 12)])
    await index.close(r2.signature, tally2.investigation_id, "fixed")
    entry2 = json.loads((await kv.get(r2.signature)).value)
    assert entry2["status"] == "fixed" and entry2["occurrences"] == 3  # the other actor's count kept
    assert counted.gets == 1
    # a decision not to write, taken on a stale cached entry, is taken again on the latest one
    r3 = report(23)
    await index.count(r3, [(STREAM, 20)])  # this actor's cache: the report at 20 holds the signature
    await other.transfer(r3.signature, (STREAM, 20), (STREAM, 30))  # a re-published copy took it over
    await index.transfer(r3.signature, (STREAM, 30), (STREAM, 40))  # cached: not the holder; latest: it is
    entry3 = json.loads((await kv.get(r3.signature)).value)
    assert entry3["source_seq"] == 40


async def test_the_listing_is_empty_only_for_an_empty_bucket(bus: Bus) -> None:
    """`swarm fixes list` reads `entries()`. It listed the keys with nats-py's `kv.keys()` and read any error
    as "no entries": a CI run found an empty list right after its investigation. Now the keys are the bucket
    stream's subjects (`swarm.bus.kvlist`): an index of one entry lists it every time."""
    index = await SignatureIndex(bus.js, bus.names).open()
    assert await index.entries() == []  # an empty bucket
    r = report(5)
    await index.count(r, [(STREAM, 1)])
    for _ in range(50):  # one key: the case nats-py's watcher can race on
        assert [e["signature"] for e in await index.entries()] == [r.signature]


async def test_bucket_keys_lists_every_key_once_and_a_deleted_one_reads_as_gone(bus: Bus) -> None:
    from nats.js.errors import KeyNotFoundError

    from swarm.bus.kvlist import bucket_keys

    kv = await bus.js.key_value(bus.names.signature_bucket)
    assert await bucket_keys(bus.js, bus.names.signature_bucket) == []
    for key in ("b", "a", "c"):
        await kv.put(key, b"1")
    await kv.put("a", b"2")  # a second revision: still one key
    await kv.delete("c")
    keys = await bucket_keys(bus.js, bus.names.signature_bucket)
    assert keys == ["a", "b", "c"]  # the deleted key's marker is its last message
    try:
        await kv.get("c")
        raise AssertionError("a deleted key was read")
    except KeyNotFoundError:
        pass


async def test_a_no_fix_reopens_on_a_fact_no_occurrence_had_and_never_on_less_or_the_same(bus: Bus) -> None:
    """New evidence is a stack line or context field never seen for the signature. An occurrence without the
    stack an earlier one had, or with the same frames under other thread ids and addresses, is a duplicate:
    reports alternating with and without a stack once reopened a no_fix error after each close."""
    index = await SignatureIndex(bus.js, bus.names).open()
    frames = ['Traceback (most recent call last):', '  File "app/f.py", line 7, in load',
              "    return rows[key]", "KeyError: 'field_40'"]

    def occurrence(stack: list[str], **context: object) -> ErrorReport:
        return report(40).model_copy(update={"stack": "\n".join(stack), "context": report(40).context.model_copy(
            update=context)})

    first = occurrence([f"Thread 0x7f3a{n}9c00 (most recent call first):" for n in (1,)] + frames)
    sig = first.signature
    tally = await index.count(first, [(STREAM, 1)], reports=[first])
    await index.close(sig, tally.investigation_id, "no_fix")
    seq = iter(range(2, 100))

    async def kinds(r: ErrorReport) -> list[str]:
        s = next(seq)
        return (await index.count(r, [(STREAM, s)], reports=[r])).kinds

    bare = occurrence([])
    for _ in range(2):  # with and without the stack, twice: nothing new
        assert await kinds(bare) == ["duplicate"]
        assert await kinds(first) == ["duplicate"]
    other_thread = occurrence([f"Thread 0x7f3a{n}9c00 (most recent call first):" for n in (5,)] + frames,
                              request_id="req-77")
    assert await kinds(other_thread) == ["duplicate"]  # an address and a request id are no facts
    deeper = occurrence(frames[:1] + ['  File "app/api.py", line 88, in handler'] + frames[1:])
    assert await kinds(deeper) == ["new"]  # a frame never seen: the error comes back as a new investigation
    kv = await bus.js.key_value(bus.names.signature_bucket)
    entry = json.loads((await kv.get(sig)).value)
    assert entry["generation"] == 2 and entry["reopen_reason"] == "new_evidence"
    await index.close(sig, entry["investigation_id"], "no_fix")
    for r in (first, bare, deeper, occurrence(frames)):  # every fact seen by one of the two investigations
        assert await kinds(r) == ["duplicate"]
    assert await kinds(occurrence(frames, tenant="acme")) == ["new"]  # a context field never seen
    assert json.loads((await kv.get(sig)).value)["generation"] == 3


async def test_an_entry_from_before_facts_learns_them_without_reopening(bus: Bus) -> None:
    """A no_fix entry written when evidence was one digest per occurrence cannot tell which facts are new:
    its next occurrence is a duplicate that records its facts; from then on a new fact reopens it."""
    index = await SignatureIndex(bus.js, bus.names).open()
    r = report(41).model_copy(update={"stack": 'File "app/f.py", line 7, in load'})
    tally = await index.count(r, [(STREAM, 1)], reports=[r])
    await index.close(r.signature, tally.investigation_id, "no_fix")
    kv = await bus.js.key_value(bus.names.signature_bucket)
    entry = json.loads((await kv.get(r.signature)).value)
    await kv.put(r.signature, json.dumps({**entry, "evidence": ["0123456789abcdef"]}).encode())
    fresh = await SignatureIndex(bus.js, bus.names).open()  # reads the entry as stored
    assert (await fresh.count(r, [(STREAM, 2)], reports=[r])).kinds == ["duplicate"]
    assert (await fresh.count(r, [(STREAM, 3)], reports=[r])).kinds == ["duplicate"]
    other = r.model_copy(update={"stack": r.stack + '\nFile "app/g.py", line 9, in main'})
    assert (await fresh.count(other, [(STREAM, 4)], reports=[other])).kinds == ["new"]
