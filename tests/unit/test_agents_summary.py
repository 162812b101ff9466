"""The Result's markdown summary says why a fix goes without a regression test (review 20, berthing: no test and
no reason, though the README promises one)."""

from __future__ import annotations

from agents.orchestrator import render_summary
from agents.regtest import why_no_regression_test
from agents.repro import Repro

RESULT = {"status": "fixed", "root_cause": "commit 1a54a9c (ranked …) most likely introduced …",
          "suspect_commit": "1a54a9c9f8e7" + "0" * 28, "suspect_method": "ranked", "branch": "swarm/fix/inv-1",
          "fix_commit": "f" * 40, "repro": {"kind": "built", "target": "berthing/allocate.py:allocate"}}


def test_a_fix_without_a_regression_test_says_why() -> None:
    never = Repro(kind="built", args=["python", "-c", "m.allocate()"], never_passed=True)
    why = why_no_regression_test(never)
    assert "fail the call at every commit" in why
    text = render_summary({**RESULT, "regression_test": None}, {"regression_test_why_not": why})
    assert f"**Regression test.** none: {why}" in text
    kept = render_summary({**RESULT, "regression_test": "tests/test_swarm_allocate_1.py"}, {})
    assert "**Regression test.** `tests/test_swarm_allocate_1.py`" in kept and "none:" not in kept
    assert "made up or injected" in why_no_regression_test(Repro(kind="built", made_up=True))
    assert "not a call built" in why_no_regression_test(Repro(kind="test"))
