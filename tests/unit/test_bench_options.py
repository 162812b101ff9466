"""Option values the benchmarks cannot use are refused on the command line (exit 2, naming the option) before
anything starts: no server, no Ray, no measuring. NATS_URL points at a port nobody listens on, so a
command that got past its options fails fast with exit 1 instead."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from swarm.cli import app

runner = CliRunner(env={"COLUMNS": "1000"})  # Click's error box never folds the message


@pytest.fixture(autouse=True)
def _nobody_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{port}")


def _refused(args: list[str], option: str, message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.stderr and message in result.stderr, result.stderr


def test_bench_pipeline_refuses_more_storm_errors_than_storm_reports() -> None:
    """It ran for 35 s, then failed its own self-check (expecting -7 duplicates) and lost every figure."""
    _refused(["bench", "pipeline", "--storm-reports", "3", "--storm-signatures", "10", "--json"],
             "--storm-signatures", "10 errors need at least as many reports (--storm-reports 3)")
    skipped = runner.invoke(app, ["bench", "pipeline", "--storm-reports", "0", "--storm-signatures", "10"])
    assert skipped.exit_code == 1 and "nothing answers" in skipped.stderr  # no storm: nothing to refuse


@pytest.mark.parametrize("value", ["inf", "1e400"])
@pytest.mark.timeout(120)  # without the check `--seconds inf` measured for ever
def test_bench_durations_must_be_finite(value: str) -> None:
    _refused(["bench", "security", "--seconds", value, "--json"], "--seconds", "must be a finite number, got inf")
    _refused(["bench", "pipeline", "--timeout", value], "--timeout", "must be a finite number")
    _refused(["bench", "pipeline", "--sleep-s", value], "--sleep-s", "must be a finite number")
