"""`swarm bench state` runs its scenarios against a real server, loses nothing and cleans up after itself."""

from __future__ import annotations

import json

import pytest
from nats.js.errors import BucketNotFoundError
from typer.testing import CliRunner

from swarm.bench.state import command, measure
from swarm.bus.connect import Bus
from swarm.bus.names import Names
from swarm.bus.settings import Settings


async def test_measure_reports_every_scenario_and_deletes_its_bucket(settings: Settings) -> None:
    steps: list[str] = []
    r = await measure(settings, ops=64, writers=8, progress=steps.append)
    assert r["ops"] == 64 and r["lost_updates"] == 0
    for name in ("raw_put_1key", "raw_put_8keys", "cas_uncontended", "cas_contended", "cas_8keys"):
        assert r[name] > 0, name
    assert set(r["ratios"]) == {"cas_uncontended/raw_put_1key", "cas_contended/raw_put_1key", "cas_8keys/raw_put_8keys"}
    assert len(steps) == 5  # progress for each scenario
    bus = await Bus.connect(settings)
    try:
        with pytest.raises(BucketNotFoundError):
            await bus.js.key_value(Names(r["namespace"]).peer_bucket)
    finally:
        await bus.close()


def test_bench_command_json(cli_env: dict[str, str]) -> None:
    import typer

    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--ops", "16", "--writers", "2", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["server"] == cli_env["NATS_URL"] and data["lost_updates"] == 0
    assert "measuring" in result.stderr
    assert "note:" not in result.stderr  # 16 writes by 2 writers: nothing rounded


def test_bench_says_when_it_rounds_the_ops_to_a_multiple_of_the_writers(cli_env: dict[str, str]) -> None:
    """`--ops 100` with 8 writers measured 96 writes and said nothing."""
    import typer

    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--ops", "20", "--writers", "8", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ops"] == 16
    assert "note: --ops 20 is not a multiple of --writers 8: measuring 16 writes per scenario" in result.stderr
