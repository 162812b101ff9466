"""A swarm's stop always ends: a step that hangs (a task that swallows its cancellation, a close that never
returns) is named in a warning and left behind, and the steps after it still run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from swarm.runtime import stopsteps


async def test_a_hanging_stop_step_is_named_and_left(monkeypatch, caplog) -> None:
    monkeypatch.setattr(stopsteps, "STOP_STEP_TIMEOUT_S", 0.2)

    let_go = asyncio.Event()

    async def stubborn() -> None:  # a task that keeps running through its cancellation (until let go)
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if let_go.is_set():
                    raise

    task = asyncio.create_task(stubborn(), name="collector")
    await asyncio.sleep(0)  # inside its loop, as a running swarm's tasks are
    task.cancel()
    with caplog.at_level(logging.WARNING, logger="swarm.runtime"):
        await stopsteps.stop_step("task collector", task)
        await stopsteps.stop_step("the NATS connection", asyncio.Event().wait())
    warned = [r.getMessage() for r in caplog.records]
    assert warned == ["stop: task collector did not end within 0 s; going on without it",
                      "stop: the NATS connection did not end within 0 s; going on without it"], warned
    assert not task.done()  # left behind, not awaited for ever
    let_go.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_stop_step_that_fails_still_raises_and_one_that_ends_is_awaited() -> None:
    async def broken() -> None:
        raise RuntimeError("close failed")

    with pytest.raises(RuntimeError, match="close failed"):
        await stopsteps.stop_step("the monitor", broken())
    ended = []

    async def quick() -> None:
        ended.append(True)

    await stopsteps.stop_step("the outbox", quick())
    assert ended == [True]
