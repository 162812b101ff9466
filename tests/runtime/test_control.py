"""The control plane of a running swarm (nats micro on `{ns}.svc.*`), on real Ray and a real nats-server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.bus.names import CONTROL_ENDPOINTS
from swarm.cli import app
from swarm.errors import ControlRefused, NatsUnavailable
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.control import control_request, ping
from swarm.runtime.grouping import investigation_id_for
from tests.runtime.test_delivery import result_of
from tests.support.runtime import runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]
runner = CliRunner()


def report(i: int) -> ErrorReport:
    return ErrorReport(
        error=f"IndexError: shelf {i} is empty",
        stack=f'Traceback (most recent call last):\n  File "app/s{i}.py", line {i}, in pick\nIndexError',
        service="shop",
        context={"file": f"app/s{i}.py", "line": i, "function": "pick"},
    )


async def cli(*args: str) -> dict:
    out = await asyncio.to_thread(runner.invoke, app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


async def cli_fails(*args: str) -> tuple[str, dict]:
    """A command that must fail with exit 1: its stderr line, and its `--json` error (strict JSON on stdout)."""
    human = await asyncio.to_thread(runner.invoke, app, list(args))
    assert human.exit_code == 1, human.output
    scripted = await asyncio.to_thread(runner.invoke, app, [*args, "--json"])
    assert scripted.exit_code == 1, scripted.output
    answer = json.loads(scripted.stdout)
    assert set(answer) == {"error", "exit_code"} and answer["exit_code"] == 1, answer
    return human.stderr, answer


async def test_ping_finds_the_services_and_pause_holds_intake_until_resume(bus: Bus, settings, cli_env,
                                                                            tmp_path) -> None:
    with pytest.raises(NatsUnavailable, match="no swarm answers"):
        await control_request(bus, "status", timeout_s=2)
    runtime = SwarmRuntime(settings, runtime_config(tmp_path))
    await runtime.start()
    try:
        found = await cli("control", "ping")
        assert len(found) == 1 and found[0]["metadata"]["namespace"] == bus.names.ns
        subjects = {e["name"]: e["subject"] for e in found[0]["endpoints"]}
        assert subjects == {e: bus.names.control(e) for e in CONTROL_ENDPOINTS}
        assert {"status", "pause", "resume", "cancel", "approve", "reject", "budget"} <= set(subjects)
        assert found[0]["id"] in {s["id"] for s in await ping(bus, all_namespaces=True)}

        assert (await cli("control", "pause"))["paused"] is True
        for i in range(6):
            await publish_report(bus, report(i))
        stream = bus.names.error_stream("default")

        async def untouched() -> int:  # nothing delivered: the pending count (the server updates it shortly)
            info = await bus.js.consumer_info(stream, "error-fixer")
            assert info.num_ack_pending == 0 and info.delivered.stream_seq == 0, info
            return int(info.num_pending)

        deadline = time.monotonic() + 30
        while await untouched() < 6:
            assert time.monotonic() < deadline, "the consumer never counted the 6 reports"
            await asyncio.sleep(0.05)
        until = time.monotonic() + 1.5  # paused: for several fetch timeouts nothing is taken
        while time.monotonic() < until:
            assert await untouched() == 6
            await asyncio.sleep(0.1)
        status = await cli("control", "status")
        assert status["paused"] is True and status["pending"][stream] == 6
        assert status["counters"]["received"] == 0

        assert (await cli("control", "resume"))["paused"] is False
        counters = await runtime.until_empty(timeout_s=300)
        assert counters["received"] == 6 and counters["results"] == 6 and counters["dead_lettered"] == 0
        budget = await cli("control", "budget")
        assert budget["active"] == 0
        with pytest.raises(ControlRefused, match="investigation_id"):
            await control_request(bus, "cancel", {"reason": "no id"})
        # a pause is the running driver's (README): a swarm started anew fetches
        assert (await cli("control", "pause"))["paused"] is True
        await runtime.stop()
        runtime = SwarmRuntime(settings, runtime_config(tmp_path))
        await runtime.start()
        assert (await cli("control", "status"))["paused"] is False
        # `swarm status` given the dashboard's address (the README's RAY_ADDRESS for submit and jobs), or none:
        # the pool sizes from this control service
        snap = await cli("status", "--address", "http://127.0.0.1:8265")
        why = ("--address=http://127.0.0.1:8265 is the dashboard's job address; give the cluster's (auto, host:6379 "
               "or ray://host:10001) to read the pools from Ray")
        assert snap["ray"] == {"connected": False, "namespace": f"swarm-{bus.names.ns}", "pools_from": "control",
                               "not_asked": why}
        said = await asyncio.to_thread(runner.invoke, app, ["status", "--once"], env={"RAY_ADDRESS": "http://h:8265"})
        assert "RAY_ADDRESS=http://h:8265 is the dashboard's job address" in " ".join(said.stdout.split()), said.stdout
        assert {role: p["size"] for role, p in snap["pools"].items()} == runtime.sizes(), snap["pools"]
        # and the budget (an empty table without a Ray address, for a new user)
        assert snap["budget"]["active"] == 0 and "max_concurrent" in snap["budget"], snap["budget"]
        shown = await asyncio.to_thread(runner.invoke, app, ["status", "--once"])
        assert "investigations" in shown.stdout.split("budget", 1)[-1], shown.stdout
    finally:
        await runtime.stop()


async def research_started(marker: Path) -> None:
    """Until research works on the investigation (and waits to be cancelled)."""
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert time.monotonic() < deadline, "research never started"
        await asyncio.sleep(0.05)


async def test_cancel_stops_a_running_investigation_with_a_failed_result(bus: Bus, settings, cli_env,
                                                                         tmp_path) -> None:
    marker = tmp_path / "research-started"
    config = runtime_config(tmp_path, {"research": {"hang_until_cancelled": str(marker)}})
    runtime = SwarmRuntime(settings, config)
    await runtime.start()
    try:
        await publish_report(bus, report(1))
        inv = investigation_id_for(report(1).signature)
        await research_started(marker)
        reply = await cli("control", "cancel", inv, "--reason", "wrong service")
        assert reply == {"investigation_id": inv, "cancelled": True, "reason": "wrong service"}
        counters = await runtime.until_empty(timeout_s=300)
        assert counters["results"] == 1 and counters["dead_lettered"] == 0
    finally:
        await runtime.stop()
    result = await result_of(bus, inv)
    assert result.status == "failed" and result.error == "cancelled: wrong service"


async def test_cancel_is_answered_while_every_call_slot_of_an_actor_is_busy(bus: Bus, settings, cli_env,
                                                                            tmp_path) -> None:
    """A new user's `swarm control cancel` got no answer for two minutes: the cancel is asked of every role's
    actors, and it queued behind the phase calls that filled an actor's Ray call slots. A role actor's phases are
    bounded by its own semaphore, its call slots are many. Here research's only phase slot holds a phase that
    waits to be cancelled."""
    marker = tmp_path / "research-started"
    config = runtime_config(tmp_path, {"research": {"hang_until_cancelled": str(marker)}})
    config.roles["research"].max_concurrency = 1
    # the second hypothesis's research waits for the slot: cancelled before it starts, it must not run (it hung
    # until the phase timeout): a timeout far beyond the 120 s this test gives the whole cancel
    config.orchestration.phase_timeout_s = 900
    runtime = SwarmRuntime(settings, config)
    await runtime.start()
    try:
        await publish_report(bus, report(5))
        inv = investigation_id_for(report(5).signature)
        await research_started(marker)
        [research] = runtime.pools["research"].actors.values()
        assert await asyncio.wait_for(research.active.remote(), 20) == 1  # a probe is answered too
        reply = await cli("control", "cancel", inv, "--reason", "busy actor")
        assert reply == {"investigation_id": inv, "cancelled": True, "reason": "busy actor"}
        counters = await runtime.until_empty(timeout_s=120)
        assert counters["results"] == 1
    finally:
        await runtime.stop()
    result = await result_of(bus, inv)
    assert result.status == "failed" and result.error == "cancelled: busy actor", result


async def test_cancel_of_an_investigation_no_orchestrator_runs_fails_naming_it(bus: Bus, settings, cli_env,
                                                                               tmp_path) -> None:
    runtime = SwarmRuntime(settings, runtime_config(tmp_path))
    await runtime.start()
    try:
        unknown = "inv-0000000000000000"
        stderr, answer = await cli_fails("control", "cancel", unknown)
        for said in (stderr, answer["error"]):
            assert f"'{unknown}' is not a known open investigation" in said and "Traceback" not in said, said

        await publish_report(bus, report(3))
        inv = investigation_id_for(report(3).signature)
        counters = await runtime.until_empty(timeout_s=300)
        assert counters["results"] == 1
        stderr, answer = await cli_fails("control", "cancel", inv, "--reason", "too late")
        for said in (stderr, answer["error"]):
            assert f"investigation '{inv}' already finished (COMPLETED)" in said, said
    finally:
        await runtime.stop()
