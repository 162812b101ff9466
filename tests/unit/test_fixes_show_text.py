"""`swarm fixes show`'s text for people: what `--json` carries about an error that came back is shown too."""

from __future__ import annotations

from swarm.runtime.fixes_cli import render_investigation


def shown(capsys, **fields: object) -> str:
    base = {"status": "fixed", "investigation_id": "inv-abc-2", "service": "shop", "environment": "production",
            "has_result": True, "cycles": 1, "duration_s": 4.2, "signature_status": "fixed",
            "root_cause": "commit 1234 made the tax rate None"}
    render_investigation({**base, **fields})
    return " ".join(capsys.readouterr().out.split())


def test_a_reopened_investigation_says_what_it_came_back_after_and_whether_it_is_a_regression(capsys) -> None:
    assert "came back: a regression, after inv-abc" in shown(capsys, previous_investigation_id="inv-abc",
                                                             regression=True)
    text = shown(capsys, previous_investigation_id="inv-abc", regression=False)
    assert "came back: after inv-abc" in text and "regression" not in text
    first = shown(capsys, previous_investigation_id=None, regression=False)  # a first investigation: no such line
    assert "came back" not in first and "root cause: commit 1234 made the tax rate None" in first


def test_a_fix_names_the_regression_test_it_added(capsys) -> None:
    assert "regression test: tests/test_swarm_bill_1.py" in shown(capsys, regression_test="tests/test_swarm_bill_1.py")
    assert "regression test" not in shown(capsys, regression_test=None)


def test_a_fix_pushed_without_a_pull_request_says_where_it_went(capsys) -> None:
    assert "pushed to: ../origin.git swarm/fix/inv-1" in shown(capsys, pushed_to="../origin.git swarm/fix/inv-1")
