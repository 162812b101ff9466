"""kill -9 of each actor kind mid-phase: the interrupted phase is redone, nothing else; one Result each."""

from __future__ import annotations

import dataclasses
import os
import signal

import pytest
import ray

from swarm.bench.ledger import Ledger
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from tests.faults.conftest import fault_config, wait_for
from tests.runtime.test_pipeline import report

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(360)]  # CI machines run up to 3x slower
ENVS = ["default", "production"]


@pytest.mark.parametrize("victim", ["orchestrator", "research", "implement", "review", "intake"])
async def test_kill_9_mid_phase(victim, fault_bus, fault_settings, tmp_path) -> None:
    marker = tmp_path / "mid-phase"
    options = {"orchestrator": {"hypotheses": 1}}
    if victim == "intake":  # the intake dies while implement works: its report is held by nobody
        options["implement"] = {"sleep_once": str(marker), "sleep_once_s": 5}
    else:  # the victim's first call hangs until its process is killed
        options[victim] = {**options.get(victim, {}), "hang_once": str(marker)}
    cfg = fault_config(tmp_path, options)
    reports = [report(300 + i) for i in range(3)]
    for r in reports:
        await publish_report(fault_bus, r)
    runtime = SwarmRuntime(fault_settings, cfg)
    await runtime.start()
    try:

        async def mid_phase() -> bool:
            # the victim dies with one investigation in flight, the two others settled (and counted): one
            # actor serves all three, so a kill while another one is mid-phase would interrupt it too
            return marker.exists() and (await runtime.counters())["results"] >= 2

        await wait_for(mid_phase, what=f"{victim} to be mid-phase")
        os.kill((await runtime.pids())[f"{victim}-0"], signal.SIGKILL)
        counters = await runtime.until_empty(timeout_s=150)
    finally:
        await runtime.stop()
    ledger = await Ledger.read(fault_bus, ENVS)
    problems = ledger.problems({r.signature for r in reports}, interrupted=0 if victim == "intake" else 1)
    assert not problems, problems
    assert all(rs[0].status == "fixed" for rs in ledger.results.values())
    if victim != "intake":  # the hung call was started again after the kill, once
        assert len(ledger.repeated_starts()) == 1, ledger.phase_starts
    # the counters count the work of this run, the dead intake's included, each investigation once
    assert counters["investigations"] == 3 and counters["results"] == 3 and counters["dead_lettered"] == 0


async def test_a_replacement_that_cannot_start_is_killed_and_its_name_released(fault_bus, fault_settings, tmp_path):
    """Restarts are idempotent: a failed try leaves no half-started actor holding the name."""
    # no healer racing the test's own restarts
    runtime = SwarmRuntime(fault_settings, fault_config(tmp_path, bloodstream={"auto_heal": False}))
    await runtime.start()
    good = runtime.spec
    try:
        os.kill((await runtime.pids())["intake-0"], signal.SIGKILL)
        # the replacement is handed a NATS nobody answers at: it cannot start
        bad = good.settings | {"nats_url": "nats://127.0.0.1:9", "nats_connect_timeout_s": 0.5}
        runtime.spec = dataclasses.replace(good, settings=bad)
        assert await runtime._replace_intake(0) is False
        with pytest.raises(ValueError):  # its name was released
            ray.get_actor("intake-0", namespace=runtime.ray_namespace)
        runtime.spec = good
        assert await runtime.restart("intake-0") is True  # the next try starts clean
        assert (await runtime.intake[0].stats.remote())["name"] == "intake-0"
    finally:
        runtime.spec = good
        await runtime.stop()


async def test_a_replica_ray_is_restarting_is_waited_for_not_replaced(fault_bus, fault_settings, tmp_path) -> None:
    """kill -9 of a pool replica: Ray restarts its process (max_restarts=-1). A restart asked meanwhile (the
    healer's, on the missed heartbeats) waits for Ray's instead of killing the process coming back, which
    would lose a phase call already sent to it."""
    runtime = SwarmRuntime(fault_settings, fault_config(tmp_path, bloodstream={"auto_heal": False}))
    await runtime.start()
    try:
        pool = runtime.pools["research"]
        old = pool.actors["research-0"]
        pid = (await runtime.pids())["research-0"]
        os.kill(pid, signal.SIGKILL)
        assert await runtime.restart("research-0") is True  # asked at once: Ray is still restarting it
        assert pool.actors["research-0"] is old  # Ray's restart kept, no replacement
        named = ray.get_actor("research-0", namespace=runtime.ray_namespace)
        assert named._actor_id == old._actor_id
        assert await old.ready.remote() == "research-0"
        assert (await runtime.pids())["research-0"] != pid
    finally:
        await runtime.stop()
