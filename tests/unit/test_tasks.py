"""swarm.tasks.stop_tasks: a task whose cancel Python 3.11's wait_for swallowed is stopped all the same."""

from __future__ import annotations

import asyncio
import contextlib

from swarm.tasks import stop_tasks


async def test_a_loop_whose_cancel_wait_for_swallowed_is_stopped() -> None:
    waits: list[asyncio.Future[None]] = []

    async def poll_forever() -> None:  # a monitor's loop: one request after another
        while True:
            waits.append(asyncio.get_running_loop().create_future())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waits[-1], 10)

    task = asyncio.create_task(poll_forever())
    while not waits:
        await asyncio.sleep(0)
    waits[-1].set_result(None)  # the reply lands in the turn of the cancel: wait_for returns it, cancel lost
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done() and len(waits) == 2  # what a single cancel leaves behind on 3.11: a loop running on
    await asyncio.wait_for(stop_tasks(task), 10)
    assert task.cancelled()


async def test_ended_failed_and_none_tasks_are_taken_as_they_are() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    sleeping = asyncio.create_task(asyncio.sleep(60))
    await asyncio.sleep(0.01)
    await stop_tasks(failed, None, finished, sleeping)
    assert failed.done() and finished.done() and sleeping.cancelled()
