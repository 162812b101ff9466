"""Operator-submitted work on `{ns}.tasks.investigation`, taken like an error report (real Ray and NATS)."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.models import ErrorReport, Result, Task
from swarm.runtime.grouping import investigation_id_for
from swarm.runtime.tasks import submit_investigation
from tests.support.runtime import run_until_empty, runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]
runner = CliRunner()


def report(i: int) -> ErrorReport:
    return ErrorReport(
        error=f"ZeroDivisionError: ratio {i} of nothing",
        stack=f'Traceback (most recent call last):\n  File "app/r{i}.py", line {i}, in ratio\nZeroDivisionError',
        service="shop",
        context={"file": f"app/r{i}.py", "line": i, "function": "ratio"},
    )


async def test_submitted_investigations_are_taken_like_error_reports(bus, settings, cli_env, tmp_path) -> None:
    wanted = report(1)
    error_file = tmp_path / "error.json"
    error_file.write_text(wanted.model_dump_json())
    submitted = await asyncio.to_thread(
        runner.invoke, app, ["investigate", "--submit", "--error-file", str(error_file), "--json"])
    assert submitted.exit_code == 0, submitted.output
    data = json.loads(submitted.stdout)
    assert data["stream"] == bus.names.tasks_stream and data["signature"] == wanted.signature
    await submit_investigation(bus, wanted)  # the same error asked again: one more occurrence
    await bus.publish(bus.names.task_investigation, Task(kind="investigation", payload={"report": {"stack": "x"}}))
    await bus.publish(bus.names.task_investigation, b"{not a task")
    await bus.publish(bus.names.errors(), report(2))  # and an error stream alongside

    counters = await run_until_empty(settings, runtime_config(tmp_path), timeout_s=300)
    assert counters["investigations"] == 2 and counters["duplicates"] == 1
    assert counters["dead_lettered"] == 2 and counters["results"] == 2

    info = await bus.js.stream_info(bus.names.tasks_stream)
    assert info.state.messages == 0  # every task settled
    sub = await bus.js.subscribe(bus.names.result_of(investigation_id_for(wanted.signature)), ordered_consumer=True)
    result = Result.model_validate_json((await sub.next_msg(timeout=5)).data)
    await sub.unsubscribe()
    assert result.status == "fixed" and result.signature == wanted.signature
    sub = await bus.js.subscribe(bus.names.dead_all, ordered_consumer=True)
    dead = [json.loads((await sub.next_msg(timeout=5)).data) for _ in range(2)]
    await sub.unsubscribe()
    reasons = sorted(d["reason"] for d in dead)
    assert all(d["source_stream"] == bus.names.tasks_stream for d in dead)
    assert "invalid Task" in reasons[0] and "payload.report.error: Field required" in reasons[0]
    assert reasons[1].startswith("invalid Task:") and "json" in reasons[1].lower()


def test_submit_needs_a_running_swarm(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    error_file = tmp_path / "error.json"
    error_file.write_text(report(3).model_dump_json())
    out = runner.invoke(app, ["investigate", "--submit", "--error-file", str(error_file)])
    assert out.exit_code == 1 and "NATS_URL" in out.stderr
