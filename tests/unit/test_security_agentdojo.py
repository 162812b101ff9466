"""A public set the model never saw: AgentDojo's injection goals in its attacks' wording, and its user tasks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from swarm.cli import app

runner = CliRunner()
TASKS = Path(__file__).resolve().parents[1] / "data" / "agentdojo" / "tasks.jsonl"


def test_agentdojo_attacks_read_as_reports_are_caught_beyond_the_rules_and_user_requests_mostly_pass() -> None:
    result = runner.invoke(app, ["security", "eval", str(TASKS), "--as-report", "--compare", "--json"])
    assert result.exit_code == 0, result.output
    [per] = json.loads(result.stdout)["corpora"].values()
    rules, both = per["rules"], per["rules+model"]
    assert rules["attacks"] == 230 and rules["benign"] == 108
    # rules alone: 20 % (one template of five), no false positive; the model 62.2 % at 13.9 % of the requests
    # (15 of 108; the model before it was trained on localized messages, 2026-12-05: 63.9 % at 9.3 %, 10 of 108).
    # These are requests a user makes of an agent ("Please pay the bill ..."), put in an error report's fields:
    # instructions to an agent where an error belongs, which is what the filter doubts
    assert rules["recall"] < 0.3 and rules["false_positive_rate"] == 0.0
    assert both["recall"] >= rules["recall"] + 0.4 and both["false_positive_rate"] <= 0.14
