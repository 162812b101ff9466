"""A stop lets every actor close (its NATS client, its heartbeat) before killing it, each at its own pace, and
names the ones that did not close in time: CI once saw an orchestrator killed mid-close (its NATS client's tasks
destroyed pending, tracebacks in `ray job logs`) when all closes shared one 5 s deadline on a loaded node."""

from __future__ import annotations

import asyncio
import logging

import pytest
import ray

from swarm.runtime.stopsteps import close_actors

pytestmark = pytest.mark.usefixtures("ray_session")


@ray.remote(num_cpus=0)
class Closing:
    def __init__(self, close_s: float) -> None:
        self.close_s, self.closed = close_s, False

    async def close(self) -> None:
        await asyncio.sleep(self.close_s)
        self.closed = True

    async def is_closed(self) -> bool:
        return self.closed


async def test_each_actor_closes_at_its_own_pace_and_a_late_one_is_named(caplog) -> None:
    quick, slowish, stuck, dead = Closing.remote(0.0), Closing.remote(1.5), Closing.remote(60.0), Closing.remote(0.0)
    await asyncio.gather(*(a.is_closed.remote() for a in (quick, slowish, stuck, dead)))
    ray.kill(dead, no_restart=True)
    with caplog.at_level(logging.WARNING, logger="swarm.runtime"):
        late = await close_actors([("orchestrator-0", quick), ("orchestrator-1", slowish), ("research-0", stuck),
                                   ("review-0", dead)], timeout_s=3.0)
    # the slow one was waited for (a shared deadline shorter than its close would have cut it), the dead one
    # counts as closed, the stuck one is named
    assert late == ["research-0"]
    assert await quick.is_closed.remote() and await slowish.is_closed.remote()
    assert not await stuck.is_closed.remote()
    assert [r.getMessage() for r in caplog.records] == [
        "stop: research-0 did not close within 3 s; killed with connections open"]
    for a in (quick, slowish, stuck):
        ray.kill(a, no_restart=True)
