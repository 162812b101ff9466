"""A quick phase is recorded once (DONE, with its start time); a lasting one gets its RUNNING record
while it runs; a phase started without a write whose lease is lost is stopped when its RUNNING
record is due and writes nothing; only a lease known to be held lets a phase start without a write.
With running_mark_s = 0 such a lease lets the agent start alongside its RUNNING record, which is then
written however quick the phase, lands before the DONE record, and when refused stops the agent.
The budget wakes one waiting investigation per freed slot, oldest first. Real nats-server, real KV."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest

from swarm.bus.connect import Bus
from swarm.errors import TransientError
from swarm.models import utcnow
from swarm.runtime.lease import Lease
from swarm.runtime.phasemark import LEASE_MARGIN_S, Announcer, lease_known_held, marked, running_alongside
from swarm.runtime.registry import SwarmBudget
from swarm.runtime.requests import PhaseRequest
from swarm.runtime.roles import record_phase
from swarm.state import PeerState, PeerStateStore
from swarm.state.model import PhaseStatus, Status

pytestmark = pytest.mark.timeout(120)


async def _held(bus: Bus, inv: str, seconds: float = 60.0) -> tuple[PeerStateStore, PeerState, Lease]:
    store = PeerStateStore(bus)
    lease = Lease(store, "orchestrator-0", f"orchestrator-0/{inv}", seconds=seconds)
    state = PeerState.new(inv, "error", 1, status=Status.NEW, updated_by="test", signature="s" * 64,
                          owner=lease.token, lease_expires_at=lease.expiry())
    await store.create(state)
    return store, state, lease


def _request(store: PeerStateStore, state: PeerState, lease: Lease, phase: str = "plan") -> PhaseRequest:
    m = state.metadata
    return PhaseRequest(investigation_id=m.investigation_id, key=state.key, phase=phase, cycle=1, report={},
                        signature="s" * 64, lease=lease.token, state=store.remembered(state.key))


def _writer(store: PeerStateStore, req: PhaseRequest, began: Any) -> Any:
    async def running() -> None:
        await record_phase(store, req.key, "orchestrator", req.phase, "orchestrator-0", status=PhaseStatus.RUNNING,
                           lease=req.lease, started_at=began)
    return running


async def _lease_lost(bus: Bus, req: Any) -> tuple[PeerStateStore, int]:
    """The lease lapses (renewals failed) and another worker takes it: its store and the revision it left."""
    other = PeerStateStore(bus)
    await other.update(req.key, lambda s: setattr(s.metadata, "lease_expires_at", utcnow() - timedelta(seconds=1)),
                       role="orchestrator")
    assert await Lease(other, "orchestrator-1", "orchestrator-1/b", seconds=60).take(req.key)
    _, revision = await other.read(req.key)
    return other, revision


def _sleeping_agent(stopped: asyncio.Event) -> Callable[[], Coroutine[Any, Any, str]]:
    """An agent that would run a minute; `stopped` is set when it is cancelled."""
    async def agent() -> str:
        try:
            await asyncio.sleep(60)
            return "finished"
        except asyncio.CancelledError:
            stopped.set()
            raise

    return agent


async def test_a_quick_phase_is_recorded_once_done_with_its_start_time(bus: Bus) -> None:
    store, state, lease = await _held(bus, "inv-mark-quick")
    req = _request(store, state, lease)
    assert lease_known_held(req, 0.5)
    began, writes = utcnow(), store.stats.writes

    async def quick() -> dict[str, Any]:
        return {"hypotheses": []}

    output = await marked(quick(), _writer(store, req, began), after_s=0.5)
    await asyncio.sleep(0.7)  # past the moment its RUNNING record would have been due: none comes
    assert store.stats.writes == writes, "a phase that answered at once still wrote RUNNING"
    done = await record_phase(store, req.key, "orchestrator", "plan", "orchestrator-0", output=output,
                              status=PhaseStatus.DONE, lease=req.lease, started_at=began)
    assert store.stats.writes == writes + 1
    plan = done.phase("plan")
    assert plan.status == PhaseStatus.DONE and plan.started_at == began and began <= plan.completed_at
    assert done.metadata.status == Status.PLANNING and done.metadata.current_phase == "plan"


async def test_a_lasting_phase_gets_its_running_record_while_it_runs(bus: Bus) -> None:
    store, state, lease = await _held(bus, "inv-mark-long")
    req = _request(store, state, lease)
    began = utcnow()
    seen: list[PhaseStatus] = []

    async def lasting() -> str:
        for _ in range(200):  # until the RUNNING record shows in KV (read by another store)
            now, _ = await PeerStateStore(bus).read(req.key)
            if now.phase("plan").status == PhaseStatus.RUNNING:
                seen.append(now.phase("plan").status)
                return "done"
            await asyncio.sleep(0.05)
        return "never saw RUNNING"

    assert await marked(lasting(), _writer(store, req, began), after_s=0.2) == "done"
    after, _ = await store.read(req.key)
    assert seen == [PhaseStatus.RUNNING] and after.phase("plan").started_at == began
    assert after.metadata.status == Status.PLANNING


async def test_a_phase_whose_lease_is_lost_is_stopped_when_its_running_record_is_due(bus: Bus) -> None:
    store, state, lease = await _held(bus, "inv-mark-lost")
    req = _request(store, state, lease)
    assert lease_known_held(req, 0.3)  # as the holder saw it when the phase began

    # meanwhile the lease lapses (renewals failed) and another worker takes it
    other, revision = await _lease_lost(bus, req)
    stopped = asyncio.Event()
    agent = _sleeping_agent(stopped)

    with pytest.raises(TransientError, match="lease on .* lost to orchestrator-1/b"):
        await marked(agent(), _writer(store, req, utcnow()), after_s=0.3)
    await asyncio.wait_for(stopped.wait(), 10)  # the agent was cancelled, not left running
    after, now = await other.read(req.key)
    assert now == revision and after.phase("plan").status == PhaseStatus.PENDING  # nothing written


async def test_only_a_lease_known_to_be_held_lets_a_phase_start_without_a_write(bus: Bus) -> None:
    store, state, lease = await _held(bus, "inv-mark-view", seconds=60)
    req = _request(store, state, lease)
    assert lease_known_held(req, 0.5)
    assert not lease_known_held(req, 0.0)  # running_mark_s = 0: always RUNNING first
    assert not lease_known_held(_request(store, state, Lease(store, "o", "someone-else", 60)), 0.5)
    req.state = None  # the caller knows no revision
    assert not lease_known_held(req, 0.5)
    short_store, short, short_lease = await _held(bus, "inv-mark-short", seconds=LEASE_MARGIN_S)
    assert not lease_known_held(_request(short_store, short, short_lease), 0.5)  # too close to expiry


async def test_with_no_mark_the_agent_starts_alongside_its_running_record(bus: Bus) -> None:
    store, state, lease = await _held(bus, "inv-mark-along")
    req = _request(store, state, lease)
    assert running_alongside(req, 0.0) and not running_alongside(req, 0.5)  # only with running_mark_s = 0
    began, writes = utcnow(), store.stats.writes
    before_any_write: list[bool] = []

    async def quick() -> dict[str, Any]:
        before_any_write.append(store.stats.writes == writes)  # its first step: no write has landed yet
        return {"hypotheses": []}

    output = await marked(quick(), _writer(store, req, began), after_s=0.0)
    assert before_any_write == [True], "the agent waited for its RUNNING record"
    assert store.stats.writes == writes + 1, "a quick phase lost its RUNNING record"  # landed before return
    running, _ = await PeerStateStore(bus).read(req.key)
    assert running.phase("plan").status == PhaseStatus.RUNNING and running.phase("plan").started_at == began
    done = await record_phase(store, req.key, "orchestrator", "plan", "orchestrator-0", output=output,
                              status=PhaseStatus.DONE, lease=req.lease, started_at=began)
    assert done.phase("plan").status == PhaseStatus.DONE and store.stats.writes == writes + 2


async def test_with_no_mark_a_refused_running_record_stops_the_agent(bus: Bus) -> None:
    store, state, lease = await _held(bus, "inv-mark-along-lost")
    req = _request(store, state, lease)
    assert running_alongside(req, 0.0)  # the caller's view: held
    other, revision = await _lease_lost(bus, req)  # meanwhile the lease went elsewhere (expired, taken)
    stopped = asyncio.Event()
    agent = _sleeping_agent(stopped)

    with pytest.raises(TransientError, match="lease on .* lost to orchestrator-1/b"):
        await marked(agent(), _writer(store, req, utcnow()), after_s=0.0)
    await asyncio.wait_for(stopped.wait(), 10)
    after, now = await other.read(req.key)
    assert now == revision and after.phase("plan").status == PhaseStatus.PENDING  # nothing written


async def test_the_budget_wakes_one_waiter_per_freed_slot_oldest_first() -> None:
    budget = SwarmBudget(max_concurrent=1, tokens_per_hour=None, dollars_per_hour=None)
    assert await budget.wait_admit("first", timeout_s=0) == (True, "admitted")
    waiting = {}
    for i in range(30):
        waiting[f"w{i}"] = asyncio.create_task(budget.wait_admit(f"w{i}", timeout_s=300))
        await asyncio.sleep(0)
    holder = "first"
    for i in range(30):
        budget.release(holder)
        assert await asyncio.wait_for(waiting[f"w{i}"], timeout=30) == (True, "admitted")
        await asyncio.sleep(0.01)  # the others stay waiting: one slot, one admission
        assert [k for k, t in waiting.items() if t.done()] == [f"w{j}" for j in range(i + 1)]
        holder = f"w{i}"
    assert budget.status()["active"] == 1 and not budget._waiters


async def test_phase_statuses_first_at_once_quick_ones_dropped_lasting_ones_published() -> None:
    sent: list[str] = []

    async def publish(detail: str) -> None:
        sent.append(detail)

    announcer = Announcer(publish, after_s=0.3)
    await announcer.announce("planning")
    assert sent == ["planning"]  # the investigation shows up at once
    await announcer.announce("executing")  # superseded at once: never published
    await announcer.announce("expressing")
    for _ in range(100):  # this phase lasts: its status comes once it has run after_s
        if sent[-1] == "expressing":
            break
        await asyncio.sleep(0.05)
    assert sent == ["planning", "expressing"]
    await announcer.announce("reviewing")
    await announcer.settle()  # the result's status follows: nothing of the phases after it
    await asyncio.sleep(0.5)
    assert sent == ["planning", "expressing"]
    always = Announcer(publish, after_s=0)
    await always.announce("planning")
    await always.announce("executing")
    assert sent[-2:] == ["planning", "executing"]
