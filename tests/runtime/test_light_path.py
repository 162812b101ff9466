"""The lighter investigation path keeps its guarantees: pipelined events arrive, all and in order; a
phase write is refused once the lease is lost; the budget wakes a waiting investigation when a slot
frees (no polling); a store learns only newer revisions; a batch of acked reports still logs a line
per report. Real nats-server, real KV."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from swarm.bench.baseline import bench_report
from swarm.bloodstream import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.names import ERROR_CONSUMER
from swarm.errors import TransientError
from swarm.models import utcnow
from swarm.reporting.reporter import publish_report
from swarm.runtime.lease import Lease
from swarm.runtime.registry import SwarmBudget
from swarm.runtime.roles import record_phase
from swarm.state import PeerState, PeerStateStore
from swarm.state.model import PhaseStatus, Status
from swarm.telemetry.logs import log_acked
from tests.support.bloodstream import stored

pytestmark = pytest.mark.timeout(120)


async def test_emitted_events_all_arrive_in_order_and_are_counted(bus: Bus, tmp_path: Path) -> None:
    bs = Bloodstream(bus, tmp_path / "outbox", event_versions=[1, 2])
    sent = [await bs.emit("phase_done", {"n": i}, investigation_id="inv-1") for i in range(200)]
    assert sent == [True] * 200  # sent without waiting for acks
    await bs.settled(timeout_s=30)
    assert bs.by_kind["event"].published == 400 and bs.by_kind["event"].failed == 0
    for version in (1, 2):
        got = await stored(bus, bus.names.event("phase_done", version))
        assert [e["data"]["n"] for e in got] == list(range(200)), f"v{version} lost or reordered events"
        assert all(e["schema_version"] == version for e in got)
    # interleaved with awaited publishes of the same connection, order still holds
    await bs.emit("order_check", {"n": 0})
    assert await bs.event("order_check", {"n": 1})
    await bs.emit("order_check", {"n": 2})
    await bs.settled(timeout_s=30)
    assert [e["data"]["n"] for e in await stored(bus, bus.names.event("order_check", 1))] == [0, 1, 2]
    # best effort: a bad event type is counted failed, never raised
    assert await bs.emit("not.a.token", {}) is False
    assert bs.by_kind["event"].failed == 1


async def test_an_emitted_event_the_server_refuses_is_counted_failed(bus: Bus, tmp_path: Path) -> None:
    bs = Bloodstream(bus, tmp_path / "outbox")
    await bus.js.delete_stream(bus.names.bloodstream_stream)  # nothing stores events any more
    assert await bs.emit("lost_event", {"n": 1}) is True  # it left; its ack never will
    await bs.settled(timeout_s=30)
    assert bs.by_kind["event"].failed == 1 and bs.by_kind["event"].published == 0


async def _state(store: PeerStateStore, inv: str) -> PeerState:
    state = PeerState.new(inv, "error", 1, status=Status.NEW, updated_by="test", signature="s" * 64)
    await store.create(state)
    return state


async def test_a_phase_write_is_refused_once_the_lease_is_lost(bus: Bus) -> None:
    store = PeerStateStore(bus)
    state = await _state(store, "inv-lease-1")
    first = Lease(store, "orchestrator-0", "orchestrator-0/a", seconds=60)
    assert await first.take(state.key)
    written = await record_phase(store, state.key, "orchestrator", "plan", "orchestrator-0",
                                 status=PhaseStatus.RUNNING, lease=first.token)
    assert written.phase("plan").status == PhaseStatus.RUNNING

    # the lease lapses (renewals failed) and another worker takes it
    def lapse(s: PeerState) -> PeerState:
        s.metadata.lease_expires_at = utcnow() - timedelta(seconds=1)
        return s

    await store.update(state.key, lapse, role="orchestrator")
    second = Lease(PeerStateStore(bus), "orchestrator-1", "orchestrator-1/b", seconds=60)
    assert await second.take(state.key)
    _, before = await PeerStateStore(bus).read(state.key)

    # the first worker's store still remembers a revision where it held the lease: refused anyway
    remembered = store.remembered(state.key)
    assert remembered is not None and remembered[0] < before
    with pytest.raises(TransientError, match="lease on .* lost to orchestrator-1/b"):
        await record_phase(store, state.key, "orchestrator", "plan", "orchestrator-0",
                           output={"hypotheses": []}, status=PhaseStatus.DONE, lease=first.token)
    after, revision = await store.read(state.key)
    assert revision == before and after.phase("plan").status == PhaseStatus.RUNNING  # nothing written
    done = await record_phase(store, state.key, "orchestrator", "plan", "orchestrator-1",
                              output={"hypotheses": []}, status=PhaseStatus.DONE, lease=second.token)
    assert done.phase("plan").status == PhaseStatus.DONE


async def test_a_restarted_actor_takes_the_lease_its_dead_incarnation_held_and_nothing_else(bus: Bus) -> None:
    store = PeerStateStore(bus)
    state = await _state(store, "inv-lineage-1")
    lineage = "10.0.0.1:6379/swarm/orchestrator-0"
    dead = Lease(store, "orchestrator-0", f"{lineage}/111-aaaaaa/c1", seconds=60, lineage=lineage)
    assert await dead.take(state.key)  # then its process is killed: the lease would hold for 60 s
    # the same incarnation's second call (a redelivery while the first still runs) waits
    sibling = Lease(store, "orchestrator-0", f"{lineage}/111-aaaaaa/c2", seconds=60, lineage=lineage)
    assert not await sibling.take(state.key)
    # another actor, and the same name in another cluster, wait too
    other = Lease(store, "orchestrator-1", "10.0.0.1:6379/swarm/orchestrator-1/222-bbbbbb/c1", seconds=60,
                  lineage="10.0.0.1:6379/swarm/orchestrator-1")
    elsewhere = "10.9.9.9:6379/swarm/orchestrator-0"
    twin = Lease(store, "orchestrator-0", f"{elsewhere}/333-cccccc/c1", seconds=60, lineage=elsewhere)
    assert not await other.take(state.key) and not await twin.take(state.key)
    # the restarted incarnation of orchestrator-0 takes it at once
    reborn = Lease(store, "orchestrator-0", f"{lineage}/444-dddddd/c1", seconds=60, lineage=lineage)
    assert await reborn.take(state.key)
    held, _ = await store.read(state.key)
    assert held.metadata.owner == reborn.token
    with pytest.raises(ValueError, match="not of the actor"):
        Lease(store, "orchestrator-0", "orchestrator-0/x/y", seconds=60, lineage=lineage)


async def test_a_store_learns_only_newer_revisions(bus: Bus) -> None:
    store, other = PeerStateStore(bus), PeerStateStore(bus)
    state = await _state(store, "inv-known-1")
    old = store.remembered(state.key)
    assert old is not None
    await other.update(state.key, lambda s: None, role="orchestrator")  # no change: no revision
    state2, rev2 = await other.update(
        state.key, lambda s: setattr(s.metadata, "occurrences", 5), role="orchestrator")
    newer = other.remembered(state.key)
    assert newer is not None and newer[0] == rev2 > old[0]
    store.remember(state.key, *newer)
    store.remember(state.key, *old)  # an older revision arriving late is ignored
    assert store.remembered(state.key) == newer
    # an update on the learned revision needs no read and does not conflict
    reads = store.stats.reads
    await store.update(state.key, lambda s: setattr(s.metadata, "occurrences", 6), role="orchestrator")
    assert store.stats.reads == reads and store.stats.stale == 0


async def test_the_budget_wakes_a_waiting_investigation_when_a_slot_frees() -> None:
    budget = SwarmBudget(max_concurrent=1, tokens_per_hour=None, dollars_per_hour=None)
    assert await budget.wait_admit("a", timeout_s=0) == (True, "admitted")
    ok, why = await budget.wait_admit("b", timeout_s=0.05)  # nothing frees: refused after the wait
    assert not ok and "1 investigations running (max 1)" in why
    waiting = asyncio.create_task(budget.wait_admit("b", timeout_s=300))
    await asyncio.sleep(0)
    assert not waiting.done()
    budget.release("a")
    # woken by the release, long before its own timeout
    assert await asyncio.wait_for(waiting, timeout=30) == (True, "admitted")
    assert budget.status()["delayed"] == 2 and budget.status()["active"] == 1


async def test_a_batch_of_acked_reports_is_one_record_with_a_line_per_report(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    tag = uuid.uuid4().hex[:6]
    sent = [await publish_report(bus, bench_report(tag, i)) for i in range(3)]
    sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=bus.names.error_stream("default"))
    msgs = await sub.fetch(3, timeout=5)
    with caplog.at_level(logging.INFO, logger="swarm.settled"):
        log_acked("intake-0", msgs)
    [record] = [r for r in caplog.records if r.name == "swarm.settled"]
    lines = record.getMessage().split("\n")
    assert len(lines) == 3
    for line, msg, published in zip(lines, msgs, sent, strict=True):
        assert line.startswith(f"settled report={published.msg_id} signature={published.signature} ")
        assert f"seq={msg.metadata.sequence.stream} actor=intake-0" in line and "settlement=ack" in line
