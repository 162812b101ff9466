"""Settlement under failure: a killed specialist, a SIGTERM or SIGINT drain, a dead actor healed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
import yaml

from swarm.bloodstream import read_health
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from tests.runtime.test_pipeline import report, results
from tests.support.cli import SWARM
from tests.support.runtime import run_until_empty, runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]


async def wait_for(condition, timeout_s: float = 300.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_killing_a_specialist_mid_investigation_redelivers_and_gives_one_result(bus, settings, tmp_path) -> None:
    marker = tmp_path / "implement-started"
    cfg = runtime_config(tmp_path, {"implement": {"hang_once": str(marker)}})
    await publish_report(bus, report(11))
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:

        async def started() -> bool:
            return marker.exists()

        await wait_for(started, what="implement to start")
        ray.kill(ray.get_actor("implement-0", namespace=runtime.ray_namespace), no_restart=False)
        counters = await runtime.until_empty(timeout_s=600)
    finally:
        await runtime.stop()
    assert counters["results"] == 1 and counters["investigations"] == 1 and counters["dead_lettered"] == 0
    got = await results(bus)
    assert len(got) == 1 and got[0].status == "fixed"
    info = await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")
    # one message, delivered twice: the consumer's delivery sequence counts every delivery
    assert info.delivered.consumer_seq == 2, "the report should have been redelivered after the actor died"


async def _stopped_by(bus, settings, tmp_path: Path, command: list[str], stop: signal.Signals) -> dict[str, int]:
    """`command` (a `swarm run` without --until-empty) at work until `stop` reaches its process group, as a
    terminal's Ctrl-C (SIGINT) or `ray job stop` (SIGTERM) sends it: its drain's counters, once it exited 0."""
    env = {**os.environ, "NATS_URL": settings.nats_url, "NATS_NAMESPACE": settings.nats_namespace,
           "PYTHONPATH": str(ROOT)}
    log = tmp_path / f"{stop.name}.stderr"
    status = await bus.nc.subscribe(bus.names.investigation_all)
    with log.open("w") as stderr:
        proc = subprocess.Popen([*command, "--address", ray.get_runtime_context().gcs_address, "--json"], env=env,
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                start_new_session=True)
    try:
        await status.next_msg(timeout=300)  # an investigation is under way

        async def says_how_to_stop() -> bool:  # trapped: what it prints once it would drain on the signal
            return "Ctrl-C or SIGTERM drains and stops" in " ".join(log.read_text(errors="replace").split())

        await wait_for(says_how_to_stop, what=f"the swarm to say it is running ({log})")
        os.killpg(proc.pid, stop)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=300)
    finally:
        await status.unsubscribe()
        if proc.poll() is None:
            proc.kill()
    err = log.read_text(errors="replace")
    assert proc.returncode == 0, f"{stop.name}: exit {proc.returncode}\n{err[-2000:]}"
    assert "draining: no new reports" in err, err[-2000:]
    drained = json.loads(out)  # the drain's counters, for scripts
    assert set(drained) == {"received", "investigations", "duplicates", "dead_lettered", "rejected", "results",
                            "handed_back"}
    assert drained["received"] >= 1 and drained["dead_lettered"] == 0, drained
    return drained


async def test_sigterm_and_sigint_drain_and_lose_nothing(bus, settings, tmp_path) -> None:
    """README: without --until-empty, `swarm run` works until SIGTERM or SIGINT, then drains (in-flight work
    finishes within the grace period or goes back to JetStream) and exits 0. SIGTERM to what `ray job submit`
    launches, then Ctrl-C's SIGINT to `swarm run`, each mid-investigation; the next run settles the rest."""
    cfg = runtime_config(
        tmp_path,
        {role: {"sleep_s": 0.5} for role in ("orchestrator", "research", "implement", "review")},
        orchestration={"grace_period_s": 1},
    )
    cfg_file = tmp_path / "swarm.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    for i in range(6):
        await publish_report(bus, report(100 + i))
    await _stopped_by(bus, settings, tmp_path, [sys.executable, "-m", "swarm.runtime", "--config", str(cfg_file)],
                      signal.SIGTERM)
    for i in range(3):  # work that surely is not settled yet, for the second swarm to be stopped amid
        await publish_report(bus, report(110 + i))
    await _stopped_by(bus, settings, tmp_path, [SWARM, "run", "--config", str(cfg_file)], signal.SIGINT)
    # whatever the drains handed back is redelivered to the next run at once: a report a drain left ack-pending
    # (neither settled nor nak'd) would come back only after the ack wait, and the bound below is half of it.
    # (A nak'd report still counts in the consumer's num_ack_pending until redelivered: that count cannot tell.)
    ack_wait = (await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")).config.ack_wait
    assert ack_wait is not None and ack_wait >= 600
    runtime = SwarmRuntime(settings, runtime_config(tmp_path))
    await runtime.start()
    try:
        await runtime.until_empty(timeout_s=ack_wait / 2)  # every report gets exactly one Result
    finally:
        await runtime.stop()
    got = await results(bus)
    assert len(got) == 9 and len({r.investigation_id for r in got}) == 9
    dead = await bus.js.stream_info(bus.names.stream("DEAD_LETTERS"))
    assert dead.state.messages == 0


async def test_until_empty_out_of_time_hands_its_work_back_like_a_drain(bus, settings, tmp_path) -> None:
    """`swarm run --until-empty --timeout S` out of time cancelled the investigation in flight with its actors
    (an ERROR and a traceback, settled `retry`); it drains as on SIGTERM now: the report goes back at once
    and the next run settles it long before the ack wait would have returned it."""
    from swarm.errors import TransientError
    from swarm.runtime.cli import run_swarm

    await publish_report(bus, report(300))
    slow = runtime_config(tmp_path, {"research": {"sleep_s": 60}})
    with pytest.raises(TransientError, match="not empty in time") as out_of_time:
        await run_swarm(SwarmRuntime(settings, slow), until_empty=True, timeout_s=3)
    assert str(out_of_time.value).endswith("; 1 in-flight report(s) handed back for redelivery"), out_of_time.value
    ack_wait = (await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")).config.ack_wait
    assert ack_wait is not None and ack_wait >= 600
    counters = await run_until_empty(settings, runtime_config(tmp_path), timeout_s=ack_wait / 2)
    got = await results(bus)
    assert len(got) == 1 and counters["results"] == 1, counters


async def test_a_dead_actor_is_noticed_by_its_silence_and_restarted(bus, settings, tmp_path) -> None:
    cfg = runtime_config(
        tmp_path, heartbeat_interval_s=0.3, bloodstream={"health_check_interval_s": 0.2, "missed_heartbeats": 3}
    )
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        old = runtime.pools["research"].actors["research-0"]
        ray.kill(old, no_restart=True)

        async def healed() -> bool:
            return runtime.pools["research"].actors["research-0"] is not old

        await wait_for(healed, what="the healer to restart research-0")
        assert await runtime.pools["research"].actors["research-0"].ready.remote() == "research-0"
        injuries = [i for i in runtime.monitor.injuries if i.affected_service == "research-0"]
        assert injuries and injuries[0].injury_type == "service_down"

        async def beating() -> bool:
            rows = {r.service: r for r in await read_health(bus)}
            return "research-0" in rows and rows["research-0"].as_dict()["status"] == "up"

        await wait_for(beating, what="the restarted actor to beat")
    finally:
        await runtime.stop()


async def test_a_report_that_exhausted_its_deliveries_elsewhere_is_dead_lettered(bus, settings, tmp_path) -> None:
    """A consumer member that crashed three times on a report: the MAX_DELIVERIES advisory dead-letters it."""
    r = report(600)
    await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    crashed = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    for _ in range(2):  # deliveries 1 and 2 end in a nak (a member that keeps failing)
        (msg,) = await crashed.fetch(1, timeout=5)
        await msg.nak()
    (last,) = await crashed.fetch(1, timeout=5)  # delivery 3 of 3 is held while the swarm starts
    assert last.metadata.num_delivered == 3
    runtime = SwarmRuntime(settings, runtime_config(tmp_path))
    await runtime.start()
    try:
        await last.nak()  # the last allowed delivery fails too: JetStream gives up and says so
        dead = await bus.js.subscribe(bus.names.dead("errors"), ordered_consumer=True)
        letter = json.loads((await dead.next_msg(timeout=300)).data)
        await runtime.until_empty(timeout_s=600)
        counters = await runtime.counters()
    finally:
        await runtime.stop()
    assert letter["error_type"] == "MaxDeliveries" and letter["deliveries"] == 3
    assert ErrorReport.model_validate_json(letter["payload"]).signature == r.signature
    assert counters["dead_lettered"] == 1 and counters["results"] == 0
    info = await bus.js.stream_info(stream)
    assert info.state.messages == 0, "the dead-lettered report must leave the work queue"


async def test_an_advisory_fired_while_no_swarm_ran_is_not_lost(bus, settings, tmp_path) -> None:
    """Advisories are kept in a stream: a report exhausted while no intake listened is dead-lettered later."""
    r = report(650)
    await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    crashed = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    for _ in range(3):
        (msg,) = await crashed.fetch(1, timeout=5)
        await msg.nak()
    with pytest.raises(TimeoutError):  # JetStream gives up on it: no fourth delivery ...
        await crashed.fetch(1, timeout=1)
    await crashed.unsubscribe()
    assert (await bus.js.stream_info(stream)).state.messages == 1  # ... and it is still in the work queue

    async def advisory_stored() -> bool:
        return (await bus.js.stream_info(bus.names.advisories_stream)).state.messages == 1

    await wait_for(advisory_stored, what="the MAX_DELIVERIES advisory to be stored")
    runtime = SwarmRuntime(settings, runtime_config(tmp_path))
    await runtime.start()
    try:
        dead = await bus.js.subscribe(bus.names.dead("errors"), ordered_consumer=True)
        letter = json.loads((await dead.next_msg(timeout=300)).data)

        async def advisory_settled() -> bool:  # acked (so removed) once its report is dead-lettered
            return (await bus.js.stream_info(bus.names.advisories_stream)).state.messages == 0

        await wait_for(advisory_settled, what="the advisory to be acked")
    finally:
        await runtime.stop()
    assert letter["error_type"] == "MaxDeliveries" and letter["source_stream"] == stream
    assert ErrorReport.model_validate_json(letter["payload"]).signature == r.signature
    assert (await bus.js.stream_info(stream)).state.messages == 0


async def test_a_signature_whose_report_was_dead_lettered_is_reopened_by_its_next_occurrence(
    bus, settings, tmp_path
) -> None:
    counter = tmp_path / "calls"
    cfg = runtime_config(tmp_path, {"implement": {"transient_count_file": str(counter), "transient_times": 3}})
    r = report(700)
    await bus.js.publish(bus.names.errors(), r.to_bytes())
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        first = await runtime.until_empty(timeout_s=600)
        assert first["dead_lettered"] == 1 and first["results"] == 0  # 3 deliveries, 3 transient failures
        await bus.js.publish(bus.names.errors(), r.to_bytes())  # the same error happens again later
        second = await runtime.until_empty(timeout_s=600)
    finally:
        await runtime.stop()
    assert second["results"] == 1 and second["duplicates"] == 0, "the next occurrence must take it over"
    (result,) = await results(bus)
    assert result.status == "fixed" and int(counter.read_text()) == 4


async def test_a_second_call_for_a_running_investigation_is_told_busy(bus, settings, tmp_path) -> None:
    from swarm.runtime.requests import InvestigationRequest

    cfg = runtime_config(tmp_path, {"implement": {"sleep_s": 1.0}})
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        orchestrator = runtime.pools["orchestrator"].actors["orchestrator-0"]
        r = report(800)
        req = InvestigationRequest(investigation_id="inv-busy", signature=r.signature, report=r.model_dump(mode="json"))
        first = orchestrator.investigate.remote(req)
        marker = await bus.nc.subscribe(bus.names.comms_run("inv-busy", "started"))
        await marker.next_msg(timeout=300)  # the first call is under way
        second = await orchestrator.investigate.remote(req)
        assert second["outcome"] == "busy"
        done = await first
        assert done["outcome"] == "result" and done["status"] == "fixed"
        third = await orchestrator.investigate.remote(req)  # a redelivery after the fact: the same Result
        assert third["outcome"] == "result" and third["duplicate"] is True
    finally:
        await runtime.stop()


async def test_a_drain_on_the_last_delivery_hands_the_report_back_instead_of_dead_lettering(
    bus, settings, tmp_path
) -> None:
    marker = tmp_path / "implement-started"
    r = report(1000)
    await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    crashed = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    for _ in range(2):  # two earlier deliveries failed elsewhere: the swarm gets the last one
        (msg,) = await crashed.fetch(1, timeout=5)
        await msg.nak()
    await crashed.unsubscribe()
    cfg = runtime_config(tmp_path, {"implement": {"hang_once": str(marker)}}, orchestration={"grace_period_s": 0.5})
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:

        async def started() -> bool:
            return marker.exists()

        await wait_for(started, what="the investigation to start on the last delivery")
        await runtime.drain()  # the grace period ends with the investigation still running
    finally:
        await runtime.stop()
    assert (await bus.js.stream_info(bus.names.stream("DEAD_LETTERS"))).state.messages == 0
    counters = await run_until_empty(settings, runtime_config(tmp_path))
    assert counters["results"] == 1 and counters["dead_lettered"] == 0
    (result,) = await results(bus)
    assert result.status == "fixed" and result.signature == r.signature
