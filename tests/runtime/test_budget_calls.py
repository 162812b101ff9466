"""The intake's calls to the budget actor, coalesced: a batch's admissions are one call and each gets
its own answer; a batch admission never goes ahead of a waiting investigation; an admission whose
caller is gone is released; releases of one turn are one call. Real Ray (the budget is an actor)."""

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
