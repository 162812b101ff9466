"""deploy/: promtool accepts the scrape config and the alert rules; the dashboard names only exported metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from swarm.telemetry.metrics import METRICS, exported_names
from tests.support.cli import SWARM
from tests.telemetry.support import DEPLOY, dashboard_exprs, names_in, readme_names, rule_exprs

pytestmark = pytest.mark.timeout(120)
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
DECLARED = {n for name in METRICS for n in exported_names(name)}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    rules = promtool("check", "rules", str(DEPLOY / "prometheus" / "swarm-rules.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 7 rules found" in rules.stdout
    config = promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_alerts_fire_on_what_they_say_and_name_commands_that_exist() -> None:
    """`promtool test rules`: the lag alert fires for an error stream whose backlog grows, not for the agent-comms
    stream of a deployment without comms ingest (it did, for a new user); every `swarm ...` command an alert tells
    the operator to run exists (one named `swarm errors dead`, which never did)."""
    import yaml

    tested = promtool("test", "rules", str(DEPLOY / "prometheus" / "swarm-rules.test.yml"))
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    rules = yaml.safe_load((DEPLOY / "prometheus" / "swarm-rules.yml").read_text())
    texts = [v for g in rules["groups"] for r in g["rules"] for v in r.get("annotations", {}).values()]
    commands = {m for t in texts for m in re.findall(r"`(swarm [a-z][a-z -]*?)(?: --[a-z].*?)?`", t)}
    assert commands, texts
    for command in sorted(commands):
        shown = subprocess.run([SWARM, *command.split()[1:], "--help"], capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, f"{command}: {shown.stderr}"


def test_the_alerts_cover_what_the_issue_asks_for() -> None:
    import yaml

    rules = yaml.safe_load((DEPLOY / "prometheus" / "swarm-rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"SwarmConsumerLagGrowing", "SwarmDeadLetters", "SwarmServiceSilent", "SwarmBrainDead",
            "SwarmBudgetExhausted", "SwarmOutboxNotDraining"} <= alerts


def test_the_dashboard_has_a_row_per_stage_and_names_only_declared_metrics() -> None:
    dash = json.loads((DEPLOY / "grafana" / "swarm-dashboard.json").read_text())
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert [r.split(":")[0] for r in rows] == ["Intake", "Investigations", "Agents", "Bloodstream and health", "Budget"]
    used = names_in(dashboard_exprs()) | names_in(rule_exprs())
    assert readme_names() <= DECLARED, readme_names() - DECLARED
    assert used and used <= DECLARED, used - DECLARED
    # every metric of the table shows up somewhere an operator looks
    shown = {name for name in METRICS if set(exported_names(name)) & used}
    assert shown == set(METRICS), set(METRICS) - shown
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
