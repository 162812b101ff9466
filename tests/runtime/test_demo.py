"""`swarm demo`: the whole story, for real (sample repo, real traceback, handler, swarm, fix branch)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.comms.browser import chromium_path

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]


def test_demo_turns_a_regression_into_a_reviewed_fix(cli_env, tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--namespace", cli_env["NATS_NAMESPACE"], "--workdir", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["published"], data["duplicates_dropped"]) == (2, 1)  # the same crash twice: one stored
    assert data["counters"]["investigations"] == 1 and data["counters"]["results"] == 1
    r = data["result"]
    assert r["status"] == "fixed" and data["suspect_is_the_regression"]
    assert r["suspect_commit"] == data["regression_commit"]
    assert r["tests_before"]["ok"] is False and r["tests_after"]["ok"] is True
    repo = Path(data["repository"])
    shown = subprocess.run(
        ["git", "-C", str(repo), "show", "--stat", r["branch"]], capture_output=True, text=True, check=True
    ).stdout
    assert "Swarm-Signature:" in shown and r["fix_commit"] in shown
    assert "1. creating a sample repository" in result.stderr  # progress on stderr, JSON on stdout
    comms = data["comms"]  # the agents' messages went to Postgres; the three comms pages were captured
    assert comms["stored"] > 0 and comms["run_id"] == r["investigation_id"], comms
    if chromium_path() is not None:
        assert [Path(p).name for p in comms["screenshots"]] == ["agents.png", "agents-run.png", "agents-general.png"]
