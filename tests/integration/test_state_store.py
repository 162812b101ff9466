"""PeerStateStore against the real nats-server: CAS, ownership, corruption, recovery, watch."""

from __future__ import annotations

import asyncio
import logging

import pytest

from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.errors import (
    ConfigError,
    ConflictRetriesExhausted,
    InvalidInput,
    OwnershipViolation,
    StateCorrupted,
    StateError,
    StateExists,
    StateNotFound,
)
from swarm.state import PeerState, PeerStateStore, PhaseStatus, Status
from swarm.state.store import LOG_JSON_LIMIT

KEY = "peer.error.inv-1.cycle.1"


@pytest.fixture
async def store(bus: Bus) -> PeerStateStore:
    return PeerStateStore(bus)


async def _created(store: PeerStateStore, inv: str = "inv-1") -> tuple[PeerState, int]:
    state = PeerState.new(inv, "error", 1, signature="sig", service="api")
    return state, await store.create(state)


async def test_create_read_roundtrip_and_create_existing_fails(store: PeerStateStore) -> None:
    state, rev = await _created(store)
    assert await store.read(KEY) == (state, rev)
    with pytest.raises(StateExists, match=rf"'{KEY}' already exists \(revision {rev}\)"):
        await store.create(PeerState.new("inv-1", "error", 1))
    assert (await store.read(KEY))[1] == rev  # nothing written
    assert await store.keys() == [KEY]


async def test_a_state_over_the_max_payload_is_a_state_error_not_a_transient_one(bus: Bus, store) -> None:
    """The server refuses it whatever the retries: dead-lettered with the key and the size, nothing written."""
    state, rev = await _created(store)

    def grow(s: PeerState) -> None:
        s.metadata.extra = {"result": {"root_cause": "A" * bus.nc.max_payload}}

    with pytest.raises(StateError, match=rf"PEER state '{KEY}' takes \d+ bytes, more than the NATS server's max "
                                         "payload") as caught:
        await store.update(KEY, grow, role="orchestrator")
    assert caught.value.settlement == "dead_letter"
    assert await store.read(KEY) == (state, rev)


async def test_update_of_missing_key_is_state_not_found(store: PeerStateStore) -> None:
    with pytest.raises(StateNotFound, match="no PEER state at key 'peer.error.ghost.cycle.1'"):
        await store.update("peer.error.ghost.cycle.1", lambda s: None, "operator")


async def test_store_from_js_and_names_and_missing_bucket(settings: Settings, bus: Bus) -> None:
    await _created(PeerStateStore(bus.js, bus.names))
    assert (await PeerStateStore(bus).read(KEY))[0].metadata.signature == "sig"
    other = Bus(nc=bus.nc, js=bus.js, names=type(bus.names)(f"{settings.nats_namespace}x"), settings=settings)
    with pytest.raises(ConfigError, match="does not exist: provision namespace"):
        await PeerStateStore(other).read(KEY)


async def test_eight_concurrent_writers_lose_no_update(settings: Settings, store: PeerStateStore) -> None:
    writers, increments = 8, 200
    _, first = await _created(store)
    buses = [await Bus.connect(settings) for _ in range(writers)]  # one connection per writer, as in production
    stores = [PeerStateStore(b) for b in buses]

    def bump(s: PeerState) -> None:
        s.phases.execute.output["count"] = s.phases.execute.output.get("count", 0) + 1  # type: ignore[union-attr]

    async def writer(st: PeerStateStore, n: int) -> list[int]:
        return [(await st.update(KEY, bump, "implement", actor=f"w{n}"))[1] for _ in range(increments)]

    try:
        revisions = await asyncio.gather(*(writer(st, n) for n, st in enumerate(stores)))
    finally:
        for b in buses:
            await b.close()
    state, rev = await store.read(KEY)
    assert state.phases.execute.output == {"count": writers * increments}
    flat = [r for rs in revisions for r in rs]
    assert len(set(flat)) == writers * increments  # every increment got its own revision
    assert rev == first + writers * increments == max(flat)  # and nothing else was written
    assert sum(st.stats.writes for st in stores) == writers * increments
    assert sum(st.stats.conflicts for st in stores) > 0  # the writers really raced (hundreds of lost CAS)


async def test_role_writing_outside_its_phase_is_refused_and_writes_nothing(store: PeerStateStore) -> None:
    _, rev = await _created(store)

    def run_tests(s: PeerState) -> None:
        s.phases.review.status = PhaseStatus.RUNNING

    for role in ("orchestrator", "research", "implement"):
        with pytest.raises(OwnershipViolation, match=f"role '{role}' may not change phases.review"):
            await store.update(KEY, run_tests, role)
    assert (await store.read(KEY))[1] == rev
    assert [h.revision for h in await store.history(KEY)] == [rev]

    state, new_rev = await store.update(KEY, run_tests, "review", actor="rev-1")
    assert new_rev > rev and state.phases.review.status is PhaseStatus.RUNNING
    assert state.metadata.updated_by == "rev-1"
    assert (await store.read(KEY))[0] == state


async def test_transform_may_return_a_new_state_or_be_async(store: PeerStateStore) -> None:
    await _created(store)

    async def plan(s: PeerState) -> PeerState:
        return s.model_copy(update={"metadata": s.metadata.model_copy(update={"status": Status.PLANNING})})

    state, _ = await store.update(KEY, plan, "orchestrator")
    assert (await store.read(KEY))[0].metadata.status is Status.PLANNING == state.metadata.status
    assert state.metadata.updated_by == "orchestrator"  # no actor given: the role

    def named(s: PeerState) -> None:
        s.metadata.owner, s.metadata.updated_by = "orch-7", "orch-7"

    state, _ = await store.update(KEY, named, "orchestrator")
    assert state.metadata.updated_by == "orch-7"  # the transform named the actor itself


async def test_invalid_transform_results_write_nothing(store: PeerStateStore) -> None:
    _, rev = await _created(store)

    def bad_nested(s: PeerState) -> None:
        s.metadata.extra["when"] = object()  # type: ignore[assignment]  # not JSON: bypasses assignment checks

    def identity_change(s: PeerState) -> None:
        s.metadata.cycle = 2

    def not_a_state(s: PeerState) -> dict:
        return {"metadata": {}}

    def unvalidated(s: PeerState) -> PeerState:
        return PeerState.model_construct(metadata=s.metadata, phases=s.phases, schema_version="two")

    with pytest.raises(InvalidInput, match="would write an invalid PeerState"):
        await store.update(KEY, bad_nested, "operator")
    with pytest.raises(InvalidInput, match="changed the state's identity to 'peer.error.inv-1.cycle.2'"):
        await store.update(KEY, identity_change, "operator")
    with pytest.raises(InvalidInput, match="returned dict, expected PeerState"):
        await store.update(KEY, not_a_state, "operator")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="schema_version"):
        await store.update(KEY, unvalidated, "operator")
    assert (await store.read(KEY))[1] == rev


async def test_no_change_writes_no_revision(store: PeerStateStore) -> None:
    state, rev = await _created(store)
    assert await store.update(KEY, lambda s: None, "review") == (state, rev)
    assert len(await store.history(KEY)) == 1


async def test_conflict_retries_are_bounded(bus: Bus) -> None:
    store = PeerStateStore(bus, max_attempts=3)
    rival = PeerStateStore(bus)
    await _created(rival)  # `store` has never seen the key: every attempt reads
    calls = 0

    async def always_loses(s: PeerState) -> None:
        nonlocal calls
        calls += 1
        await rival.update(KEY, lambda r: setattr(r.metadata, "occurrences", r.metadata.occurrences + 1), "operator")
        s.metadata.owner = "loser"

    with pytest.raises(ConflictRetriesExhausted, match="lost the compare-and-set 3 times"):
        await store.update(KEY, always_loses, "orchestrator")
    state, _ = await store.read(KEY)
    assert calls == 3 and store.stats.conflicts == 3
    assert state.metadata.occurrences == 4 and state.metadata.owner is None  # the rival's writes all survived


async def test_a_writer_updates_without_reading_until_someone_else_writes(bus: Bus) -> None:
    mine, theirs = PeerStateStore(bus), PeerStateStore(bus)
    _, rev = await _created(mine)
    for _ in range(5):
        _, rev = await mine.update(
            KEY, lambda s: setattr(s.metadata, "occurrences", s.metadata.occurrences + 1), "research"
        )
    assert (mine.stats.reads, mine.stats.writes, mine.stats.stale) == (0, 6, 0)  # its own revisions were current

    await theirs.update(KEY, lambda s: setattr(s.metadata, "owner", "them"), "orchestrator")
    seen: list[str | None] = []

    def note_owner(s: PeerState) -> None:
        seen.append(s.metadata.owner)
        s.metadata.occurrences += 1

    state, _ = await mine.update(KEY, note_owner, "research")
    assert seen == [None, "them"]  # tried on its remembered revision, lost, redone on the fresh value
    assert (mine.stats.stale, mine.stats.reads, mine.stats.conflicts) == (1, 1, 0)
    assert (state.metadata.occurrences, state.metadata.owner) == (7, "them")
    assert await theirs.read(KEY) == (state, rev + 2)

    refused: list[str | None] = []

    def touch_plan(s: PeerState) -> None:
        refused.append(s.metadata.owner)
        s.phases.plan.status = PhaseStatus.RUNNING

    await theirs.update(KEY, lambda s: setattr(s.metadata, "owner", None), "orchestrator")
    with pytest.raises(OwnershipViolation):  # decided again on the fresh value before refusing
        await mine.update(KEY, touch_plan, "research")
    assert refused == ["them", None]


async def test_the_lost_investigation_story_is_caught_and_repaired(bus: Bus, store: PeerStateStore) -> None:
    """Valid, then malformed JSON, then two empty values written behind the store's back."""
    good, _ = await _created(store)
    good, good_rev = await store.update(KEY, lambda s: setattr(s.metadata, "status", Status.EXECUTING), "operator")
    kv = await store.kv()
    bad_rev = await kv.put(KEY, b'{"metadata": {"investigation_id": "inv-1", ')
    await kv.put(KEY, b"")
    last_rev = await kv.put(KEY, b"")

    with pytest.raises(StateCorrupted) as caught:
        await store.read(KEY)
    assert caught.value.key == KEY and caught.value.revision == last_rev and "empty value" in str(caught.value)
    with pytest.raises(StateCorrupted, match=f"revision {bad_rev}: not JSON"):
        await store.read(KEY, bad_rev)
    with pytest.raises(StateCorrupted):  # an update never builds on a corrupt value
        await store.update(KEY, lambda s: None, "operator")

    history = await store.history(KEY)
    assert [(h.revision, h.valid) for h in history][-4:] == [
        (good_rev, True),
        (bad_rev, False),
        (bad_rev + 1, False),
        (last_rev, False),
    ]
    assert await store.last_valid(KEY) == (good, good_rev)

    report = await store.doctor()
    assert not report.healthy
    [finding] = report.findings
    assert (finding.key, finding.revision, finding.problem, finding.last_valid_revision) == (
        KEY,
        last_rev,
        "corrupt",
        good_rev,
    )

    restored = await store.restore(KEY, good_rev)
    assert restored == last_rev + 1
    assert await store.read(KEY) == (good, restored)
    assert (await store.doctor()).healthy


async def test_valid_json_that_is_not_a_peer_state_is_corrupt(store: PeerStateStore) -> None:
    await _created(store)
    kv = await store.kv()
    other = PeerState.new("inv-2").to_bytes()
    rev1 = await kv.put(KEY, b'{"metadata": {"investigation_id": "inv-1", "kind": "error", "cycle": "one"}}')
    with pytest.raises(StateCorrupted, match=f"revision {rev1}: not a valid PeerState: metadata.cycle"):
        await store.read(KEY)
    rev2 = await kv.put(KEY, other)
    with pytest.raises(StateCorrupted, match=f"revision {rev2}: value belongs to key 'peer.error.inv-2.cycle.1'"):
        await store.read(KEY)
    with pytest.raises(StateCorrupted, match="cannot|revision"):
        await store.restore(KEY, rev1)  # a corrupt revision is never restored


async def test_deleted_key_is_found_by_doctor_and_restored(store: PeerStateStore) -> None:
    state, rev = await _created(store)
    await _created(store, "inv-2")
    kv = await store.kv()
    await kv.delete(KEY)
    with pytest.raises(StateNotFound, match="was deleted"):
        await store.read(KEY)
    with pytest.raises(StateExists):
        await store.create(state)
    report = await store.doctor()
    assert report.checked == 2
    assert [(f.key, f.problem, f.last_valid_revision) for f in report.findings] == [(KEY, "deleted", rev)]
    assert await store.keys() == ["peer.error.inv-2.cycle.1"]
    new_rev = await store.restore(KEY, rev)
    assert await store.read(KEY) == (state, new_rev)
    with pytest.raises(InvalidInput, match="already the latest"):
        await store.restore(KEY, new_rev)


async def test_writes_are_logged_at_debug(store: PeerStateStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="swarm.state")
    state = PeerState.new("inv-1")
    state.metadata.extra["blob"] = "x" * (LOG_JSON_LIMIT * 2)
    rev = await store.create(state)
    [record] = [r for r in caplog.records if r.name == "swarm.state"]
    msg = record.getMessage()
    size = len(state.to_bytes())
    assert msg.startswith(f"create key={KEY} revision={rev} size={size} json={{")
    assert msg.endswith(f"...(+{size - LOG_JSON_LIMIT} chars)")


async def test_watch_one_key_and_the_bucket(store: PeerStateStore) -> None:
    _, rev = await _created(store)
    async with store.watch(KEY) as changes:  # subscribed once entered
        first = await anext(changes)  # the current value
        assert (first.key, first.revision, first.state.metadata.status) == (KEY, rev, Status.NEW)
        _, rev2 = await store.update(KEY, lambda s: setattr(s.metadata, "status", Status.PLANNING), "orchestrator")
        await _created(store, "inv-2")  # another key: not seen by this watch
        second = await anext(changes)
        assert (second.revision, second.state.metadata.status, second.error) == (rev2, Status.PLANNING, None)
        await (await store.kv()).put(KEY, b"garbage")
        third = await anext(changes)
        assert third.state is None and third.error.startswith("not JSON")

    async with store.watch(initial=False) as changes:  # whole bucket, only what is written from now on
        await (await store.kv()).delete("peer.error.inv-2.cycle.1")
        _, rev3 = await _created(store, "inv-3")
        seen = [await anext(changes), await anext(changes)]
        assert [(c.key, c.operation) for c in seen] == [
            ("peer.error.inv-2.cycle.1", "DEL"),
            ("peer.error.inv-3.cycle.1", "PUT"),
        ]
        assert seen[0].state is None and seen[1].revision == rev3
    assert [c async for c in changes] == []  # closed: iteration ends


async def test_purged_key_has_no_valid_revision_left(store: PeerStateStore) -> None:
    await _created(store)
    kv = await store.kv()
    await kv.purge(KEY)
    [finding] = (await store.doctor()).findings
    assert (finding.key, finding.problem, finding.last_valid_revision) == (KEY, "purged", None)
    assert [h.operation for h in await store.history(KEY)] == ["PURGE"]
    with pytest.raises(StateCorrupted, match="no valid revision in the kept history"):
        await store.last_valid(KEY)
    assert await store.keys() == []


async def test_writers_of_one_key_in_one_process_take_turns_without_reads_or_conflicts(store: PeerStateStore) -> None:
    await _created(store, "inv-turns")
    key = "peer.error.inv-turns.cycle.1"
    reads, conflicts = store.stats.reads, store.stats.conflicts

    def bump(s: PeerState) -> None:
        s.metadata.occurrences += 1

    done = await asyncio.gather(*(store.update(key, bump, role="orchestrator") for _ in range(20)))
    revisions = sorted(rev for _, rev in done)
    assert len(set(revisions)) == 20 and revisions == list(range(revisions[0], revisions[0] + 20))
    final, _ = await store.read(key)
    assert final.metadata.occurrences == 21  # every one applied, none lost
    # each tried on the revision the one before it wrote: no read, no lost compare-and-set
    assert store.stats.reads == reads + 1 and store.stats.conflicts == conflicts  # (+1: the read just above)
    assert not store._turns  # nothing kept once the writers are done
