"""`swarm bench scenarios`: shipped scenarios run through the CLI; the judge names the first wrong event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swarm.bench.scenario import Scenario
from swarm.bench.scenarios import judge
from swarm.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "configs" / "scenarios").glob("*.yaml"))
SHIPPED_RUN = ("poison", "injection", "fix", "duplicate_storm", "actor_killed")  # files run by the CLI test


def test_the_shipped_scenarios_load() -> None:
    names = {Scenario.load(p).name for p in SHIPPED}
    assert names == {"fix", "duplicate_storm", "injection_rejected", "poison", "nats_outage", "actor_killed"}


def test_the_judge_names_the_first_missing_late_or_unexpected_event(tmp_path) -> None:
    s = Scenario.load(ROOT / "configs" / "scenarios" / "fix.yaml")
    good = [(1.0, "events:investigation_started"), (2.0, "events:pool_scaled"), (30.0, "events:fix_committed"),
            (40.0, "events:review_approved"), (41.0, "results:fixed")]
    assert judge(s, good) is None
    assert judge(s, good[:2] + good[3:]) == "missing: events:fix_committed (within 400 s)"
    late = [*good[:4], (900.0, "results:fixed")]
    assert judge(s, late) == "late: results:fixed at 900 s (within 500 s)"
    twice = [*good, (42.0, "results:fixed")]
    assert judge(s, twice) == "unexpected: results:fixed at 42 s (expected 1 results:*)"
    assert judge(s, good, {"T_ERROR_REPORTS unacked": 1}) == "stranded: {'T_ERROR_REPORTS unacked': 1}"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nexpect: [{event: 'result:fixed'}]\n")
    with pytest.raises(InvalidInput, match="expect.0.event"):
        Scenario.load(bad)


@pytest.mark.timeout(600)
def test_the_shipped_scenarios_pass_through_the_cli_and_a_wrong_expectation_fails(tmp_path) -> None:
    """The README's `swarm bench scenarios configs/scenarios/*.yaml`, one run of the CLI: every shipped file but
    nats_outage (~80 s; the fault suite's own NATS outage tests cover it) passes, a wrong expectation fails."""
    wrong = tmp_path / "wrong.yaml"  # poison, but expecting a Result it can never give
    wrong.write_text((ROOT / "configs" / "scenarios" / "poison.yaml").read_text().replace("name: poison", "name: wrong")
                     .replace('  - {event: "dead_letters:InvalidInput", within_s: 60}',
                              '  - {event: "dead_letters:InvalidInput", within_s: 60}\n'
                              '  - {event: "results:fixed", within_s: 60}'))
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "RAY_ADDRESS")}  # the runner's own server
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "swarm"), "bench", "scenarios",
         *(str(ROOT / "configs" / "scenarios" / f"{name}.yaml") for name in SHIPPED_RUN), str(wrong),
         "--workdir", str(tmp_path), "--json"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=560,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]  # one scenario failed
    rows = {r["scenario"]: r for r in json.loads(proc.stdout)}  # stdout is the JSON alone
    passed = sorted(name for name, row in rows.items() if row["passed"] and row["problem"] is None)
    assert passed == sorted(["poison", "injection_rejected", "fix", "duplicate_storm", "actor_killed"]), rows
    for name in ("fix", "duplicate_storm", "actor_killed"):  # one error, one Result, nothing left behind
        ledger = rows[name]["ledger"]
        assert ledger["signatures"] == 1 and ledger["results"] == 1 and ledger["dead_letters"] == 0, ledger
        assert not any(ledger["left"].values()), ledger
    assert [f for f in rows["actor_killed"]["faults"] if f.startswith("kill -9 implement-0")], rows["actor_killed"]
    assert [e["event"] for e in rows["poison"]["seen"]] == ["dead_letters:InvalidInput"] * 3
    assert rows["injection_rejected"]["ledger"]["results"] == 1
    assert rows["wrong"]["problem"] == "missing: results:fixed (within 60 s)"


def test_a_bad_config_override_is_refused_before_any_scenario_runs(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "configs" / "scenarios" / "poison.yaml").read_text().replace("name: poison", "name: bad")
                   + "\nconfig: {intake: {batch: many}, heartbeat_intervall_s: 1}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "RAY_ADDRESS")}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "swarm"), "bench", "scenarios", str(ROOT / "configs/scenarios/poison.yaml"),
         str(bad), "--workdir", str(tmp_path), "--json"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0 and json.loads(proc.stdout)["error"].startswith(f"scenario {bad}: config:")
    assert f"scenario {bad}: config:" in proc.stderr and "intake.batch" in proc.stderr, proc.stderr[-2000:]
    assert "heartbeat_intervall_s" in proc.stderr
    assert not list(tmp_path.glob("scn-*")), "a scenario ran before the bad one was refused"
