"""Actor calls coalesced per turn. The intake's calls to the budget: a batch's admissions are one call
and each gets its own answer; a batch admission never goes ahead of a waiting investigation; an
admission whose caller is gone is released; releases of one turn are one call. The orchestrator's phase
calls: one call per replica, spread as single calls would be, each caller its own answer or error.
Real Ray actors."""

from __future__ import annotations

import asyncio
import time

import pytest
import ray

from swarm.runtime.coalesce import BudgetCalls
from swarm.runtime.registry import SwarmBudget

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(120)]


async def _until(check, what: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_coalesced_budget_calls_keep_the_budget_exact() -> None:
    budget = ray.remote(SwarmBudget).remote(2, None, None)
    calls = BudgetCalls(budget)

    async def status() -> dict:  # type: ignore[type-arg]
        return await budget.status.remote()

    # one turn, five admissions: one call, each its own answer, in order
    answers = await asyncio.gather(*(calls.admit_now(f"i{k}") for k in range(5)))
    assert [a[0] for a in answers] == [True, True, False, False, False] and calls.admit_now.calls == 1
    assert "2 investigations running (max 2)" in answers[2][1]

    # a waiting investigation is first in line: a batch admission is refused while it waits
    waiter = asyncio.create_task(calls.wait_admit("i2", 300))

    async def waiting() -> bool:
        return (await status())["delayed"] >= 1

    await _until(waiting, "i2 to wait")
    assert await calls.admit_now("i9") == (False, "others wait for a slot first")
    await calls.release("i0")
    assert await asyncio.wait_for(waiter, 30) == (True, "admitted")
    assert (await status())["active"] == 2

    # an admission granted to a caller that is gone (cancelled while its batch was in flight) is released
    await asyncio.gather(calls.release("i1"), calls.release("i2"))  # one turn: one call
    assert calls.release.calls == 2 and (await status())["active"] == 0
    gone = asyncio.create_task(calls.admit_now("i7"))
    await asyncio.sleep(0)  # asked (the batch leaves at the end of the turn) ...
    await asyncio.sleep(0)
    gone.cancel()  # ... and its caller cancelled before the answer came

    async def released() -> bool:
        return (await status())["active"] == 0

    await asyncio.sleep(0.2)
    await _until(released, "the orphaned admission to be released")
    assert (await calls.admit_now("i8"))[0] and (await status())["active"] == 1


class _Replica:
    """A pool replica that records the batches it was given."""

    def __init__(self, name: str) -> None:
        self.name, self.batches = name, []

    async def handle_phases(self, items: list[int]) -> list[tuple[str, object]]:
        self.batches.append(list(items))
        return [("ok", (item, self.name)) if item >= 0 else ("error", ValueError(f"bad item {item}")) for item in items]

    def seen(self) -> list[list[int]]:
        return self.batches


async def test_phase_calls_of_one_turn_go_as_one_call_per_replica_spread_like_single_calls() -> None:
    from swarm.runtime.coalesce import Coalesced
    from swarm.runtime.registry import REGISTRY_NAME, PoolClient, Registry

    ns = f"spread-{time.monotonic_ns()}"
    registry = ray.remote(Registry).options(name=REGISTRY_NAME, namespace=ns).remote()
    replicas = {n: ray.remote(_Replica).options(name=n, namespace=ns).remote(n) for n in ("research-0", "research-1")}
    await registry.set_members.remote("research", sorted(replicas))
    pool = PoolClient("research", ns)
    calls = Coalesced(lambda items: pool.spread("handle_phases", items))
    # six callers in one turn (one of them with an item its replica fails): one call per replica
    answers = await asyncio.gather(*(calls(i) for i in (0, 1, 2, 3, -4, 5)))
    assert calls.calls == 1
    assert [a[0] for a in answers] == ["ok", "ok", "ok", "ok", "error", "ok"]
    assert isinstance(answers[4][1], ValueError) and "bad item -4" in str(answers[4][1])
    got = {n: await r.seen.remote() for n, r in replicas.items()}
    assert sorted(len(b) for b in got.values()) == [1, 1]  # one call each
    assert sorted(len(b[0]) for b in got.values()) == [3, 3]  # spread evenly, as least-busy picks would
    for item, (kind, answer) in zip((0, 1, 2, 3, -4, 5), answers, strict=True):
        if kind == "ok":  # each caller got its own item's answer, from the replica that had it
            assert answer[0] == item and item in got[answer[1]][0]
    # items that belong together (one investigation's phases) go to the same replica
    together = await pool.spread("handle_phases", [10, 11, 12, 13], together=lambda item: item % 2)
    by_replica = {item: answer[1] for item, (_, answer) in zip((10, 11, 12, 13), together, strict=True)}
    assert by_replica[10] == by_replica[12] and by_replica[11] == by_replica[13] and by_replica[10] != by_replica[11]
    for handle in (*replicas.values(), registry):
        ray.kill(handle)


async def test_a_batch_call_whose_callers_are_all_cancelled_is_cancelled_unless_an_orphan_needs_its_answer() -> None:
    """A stopping orchestrator cancels its investigations: their phase call in flight must not outlive them
    (the actor's loop closed on it, and `ray job logs` showed "Task was destroyed but it is pending")."""
    from swarm.runtime.coalesce import Coalesced

    started, ended = asyncio.Event(), []

    async def call(items: list[int]) -> list[int]:
        started.set()
        try:
            await asyncio.Event().wait()  # a phase that runs long
        finally:
            ended.append(items)
        return items

    calls: Coalesced[int, int] = Coalesced(call)
    callers = [asyncio.ensure_future(calls(i)) for i in (1, 2)]
    await started.wait()
    callers[0].cancel()
    await asyncio.sleep(0.05)
    assert len(calls.sending) == 1 and not ended, "one caller still waits: the call goes on"
    callers[1].cancel()
    await _until(lambda: _true(not calls.sending), "the abandoned call cancelled", 5)
    assert ended == [[1, 2]]
    # with an orphan handler the answer is still needed (an admission nobody uses is released): it goes on
    orphans: list[tuple[int, int]] = []
    gate = asyncio.Event()

    async def answer_later(items: list[int]) -> list[int]:
        await gate.wait()
        return [i * 10 for i in items]

    kept: Coalesced[int, int] = Coalesced(answer_later, orphan=lambda item, value: orphans.append((item, value)))
    waiter = asyncio.ensure_future(kept(3))
    await asyncio.sleep(0.05)
    waiter.cancel()
    await asyncio.sleep(0.05)
    gate.set()
    await _until(lambda: _true(not kept.sending), "the kept call answered", 5)
    assert orphans == [(3, 30)]


async def _true(value: bool) -> bool:
    return value
