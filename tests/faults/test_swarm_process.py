"""Faults of a whole `swarm run` process (the real CLI, with the Ray it starts itself): kill -9 of the
driver mid-phase, a paused driver, SIGSTOP of a swarm past the ack wait while a second swarm runs, the
SIGTERM drain (to the driver, and to its whole process group), and `--until-empty` riding out a NATS outage
and an intake death."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import psutil
import pytest

from swarm.bench.ledger import Ledger, read_stream
from swarm.bus.connect import Bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.models import Injury
from swarm.reporting.reporter import publish_report
from tests.faults.conftest import ACK_WAIT_S, fault_config, wait_for
from tests.faults.swarm_process import SwarmProcess, tail
from tests.runtime.test_pipeline import report
from tests.support.runtime import run_until_empty

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(300)]
ENVS = ["default", "production"]


async def drain_injuries(sub) -> list[Injury]:
    """The injuries received so far on a core subscription."""
    seen: list[Injury] = []
    while True:
        try:
            seen.append(Injury.model_validate_json((await sub.next_msg(timeout=0.2)).data))
        except TimeoutError:
            return seen


async def test_kill_9_of_the_driver_mid_phase_the_next_swarm_redoes_only_that_phase(
    fault_bus, fault_settings, tmp_path
) -> None:
    marker = tmp_path / "implement-started"
    r = report(1100)
    await publish_report(fault_bus, r)
    cfg = fault_config(tmp_path, {"orchestrator": {"hypotheses": 1}, "implement": {"hang_once": str(marker)}})
    with SwarmProcess(fault_settings, cfg, tmp_path) as first:

        async def mid_phase() -> bool:
            first.descendants()  # remember its Ray: the driver's children outlive it
            assert first.returncode is None, tail(first)
            return marker.exists()

        await wait_for(mid_phase, 180, "the first swarm to be mid-phase")
        first.kill(signal.SIGKILL)
        first.wait(30)
    counters = await run_until_empty(fault_settings, cfg, timeout_s=150)
    ledger = await Ledger.read(fault_bus, ENVS)
    assert not ledger.problems({r.signature}, interrupted=1), ledger.problems({r.signature}, interrupted=1)
    (repeated,) = ledger.repeated_starts()  # the implement call the kill interrupted, and nothing else
    assert repeated[2:4] == ("implement", "execute")
    # resumed work is counted: its Result (the investigation was opened, and counted, by the first swarm)
    assert counters["investigations"] == 0 and counters["results"] == 1


async def test_sigstop_past_the_ack_wait_with_a_second_swarm_then_sigterm_drains(
    fault_bus, fault_settings, tmp_path
) -> None:
    reports = [report(1200 + i) for i in range(4)]
    for r in reports:
        await publish_report(fault_bus, r)
    cfg = fault_config(tmp_path, {"orchestrator": {"hypotheses": 1}, "implement": {"sleep_s": 1.0}},
                       orchestration={"grace_period_s": 3})
    injuries = await fault_bus.nc.subscribe(fault_bus.names.injury)
    with SwarmProcess(fault_settings, cfg, tmp_path) as first:
        status = await fault_bus.nc.subscribe(fault_bus.names.investigation_all)
        await status.next_msg(timeout=180)  # the first swarm is at work
        first.descendants()
        # the driver alone paused for many heartbeat windows: its actors kept beating meanwhile
        first.kill(signal.SIGSTOP)
        await asyncio.sleep(3.0)  # the fault: the pause itself
        first.kill(signal.SIGCONT)
        await asyncio.sleep(2.0)  # a window of the woken driver's health checks (every 0.2 s)
        woke = await drain_injuries(injuries)
        # then the whole swarm (driver, Ray, actors) stopped past the ack wait: a second swarm takes over
        first.kill(signal.SIGSTOP, group=True)
        stopped = time.monotonic()
        # the second swarm: in this process, on the session's Ray
        counters = await run_until_empty(fault_settings, fault_config(tmp_path, {"orchestrator": {"hypotheses": 1}}),
                                         timeout_s=150)
        assert time.monotonic() - stopped > ACK_WAIT_S
        first.kill(signal.SIGCONT, group=True)
        await asyncio.sleep(2.0)  # the fault: the resumed swarm lives on stale deliveries for a moment
        drain_started = time.monotonic()
        first.kill(signal.SIGTERM)
        rc = await asyncio.to_thread(first.wait, 120)
        drained_in = time.monotonic() - drain_started
    assert rc == 0, tail(first)
    drained = json.loads(first.stdout)  # only the JSON on stdout (Ray's forwarded lines go to stderr)
    assert drained["dead_lettered"] == 0
    ledger = await Ledger.read(fault_bus, ENVS)
    # the paused swarm may have been mid-phase on every report when it stopped
    problems = ledger.problems({r.signature for r in reports}, interrupted=len(reports))
    assert not problems, problems
    assert counters["dead_lettered"] == 0
    # the paused driver did not judge its live actors down when it woke up
    monitor_lines = [line for line in first.stderr.splitlines() if "health" in line or "NATS" in line]
    assert not [i for i in woke if i.injury_type == "service_down"], (
        [(i.affected_service, i.timestamp.isoformat(), i.details) for i in woke], monitor_lines[-20:])
    print(f"drain took {drained_in:.1f} s (grace_period_s 3)")


async def test_sigterm_to_the_process_group_drains_and_its_local_ray_ends_with_it(fault_bus, fault_settings,
                                                                                 tmp_path) -> None:
    """A SIGTERM to the whole process group of a `swarm run` on its own local Ray (`kill -TERM -PGID`, a
    supervisor stopping a group) drains like a SIGTERM to the driver: the local Ray's processes are not in that
    group, so the actors finish or hand back their work, the counters print, the exit is 0, and then nothing
    of that Ray is left running. The next swarm settles whatever went back: one Result per report."""
    reports = [report(1400 + i) for i in range(3)]
    for r in reports:
        await publish_report(fault_bus, r)
    # one hypothesis: one phase at a time per investigation, so at most one interrupted each
    cfg = fault_config(tmp_path, {"orchestrator": {"hypotheses": 1, "sleep_s": 1.0}, "research": {"sleep_s": 1.0},
                                  "implement": {"sleep_s": 1.0}}, orchestration={"grace_period_s": 1})
    with SwarmProcess(fault_settings, cfg, tmp_path) as swarm:
        status = await fault_bus.nc.subscribe(fault_bus.names.investigation_all)
        await status.next_msg(timeout=180)  # investigations are under way

        async def trapped() -> bool:  # what it prints once a signal would drain it
            assert swarm.returncode is None, tail(swarm)
            return "Ctrl-C or SIGTERM drains and stops" in " ".join(swarm.stderr.split())

        await wait_for(trapped, 180, "the swarm to say it is running")
        ray_processes = [p for p in swarm.descendants() if p.name() in ("raylet", "gcs_server")]
        assert len(ray_processes) == 2, [p.name() for p in swarm.descendants()]
        os.killpg(swarm.pid, signal.SIGTERM)
        rc = await asyncio.to_thread(swarm.wait, 120)
        assert rc == 0, tail(swarm)
        drained = json.loads(swarm.stdout)  # the drain's counters: the driver outlived the signal
        assert drained["received"] == 3 and drained["dead_lettered"] == 0, drained

        async def ray_gone() -> bool:
            return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ray_processes)

        await wait_for(ray_gone, 60, "the local Ray's GCS and raylet to end with the run")
    counters = await run_until_empty(fault_settings, fault_config(tmp_path), timeout_s=150)
    assert counters["dead_lettered"] == 0
    ledger = await Ledger.read(fault_bus, ENVS)
    problems = ledger.problems({r.signature for r in reports}, interrupted=len(reports))
    assert not problems, problems


async def test_until_empty_rides_out_a_nats_outage_and_an_intake_death(fault_settings, tmp_path) -> None:
    server = EmbeddedNats(store_dir=tmp_path / "nats-store").start()
    settings = fault_settings.model_copy(update={"nats_url": server.url})
    bus = await Bus.connect(settings)
    try:
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
        reports = [report(1300 + i) for i in range(4)]
        for r in reports:
            await publish_report(bus, r)
        cfg = fault_config(tmp_path, {"orchestrator": {"hypotheses": 1}, "implement": {"sleep_s": 1.0}})
        with SwarmProcess(settings, cfg, tmp_path, "--until-empty", "--timeout", "200") as swarm:
            status = await bus.nc.subscribe(bus.names.investigation_all)
            await status.next_msg(timeout=180)
            server.stop()
            await asyncio.sleep(ACK_WAIT_S * 2)  # the fault: NATS away for twice the ack wait
            server.requested_port = int(server.port or 0)
            server.start()

            async def intake_found() -> bool:
                return bool(swarm.actor_pids("IntakeActor"))

            await wait_for(intake_found, 60, "the intake actor's process")
            for pid in swarm.actor_pids("IntakeActor"):  # kill -9 of the intake actor, mid-run
                os.kill(pid, signal.SIGKILL)
            rc = await asyncio.to_thread(swarm.wait, 240)
        assert rc == 0, tail(swarm)
        counters = json.loads(swarm.stdout)  # stdout is the JSON alone
        assert "rode out" in swarm.stderr and "intake-0 died; restarted" in swarm.stderr, tail(swarm)
        assert counters["dead_lettered"] == 0 and counters["results"] >= 1
        ledger = await Ledger.read(bus, ENVS)
        problems = ledger.problems({r.signature for r in reports}, interrupted=len(reports))
        assert not problems, problems
        assert await read_stream(bus, bus.names.stream("DEAD_LETTERS")) == []
    finally:
        await bus.close()
        server.stop()
