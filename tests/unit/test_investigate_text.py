"""`swarm investigate`'s text for people: the suspect and how it was found, what the fix changed, how the
error was reproduced, the test counts as words and the review verdict (all of which `--json` carries)."""

from __future__ import annotations

from swarm.runtime.cli import _fix_line, render_investigated


def shown(capsys, **fields: object) -> str:
    base = {"status": "fixed", "investigation_id": "inv-abc", "duration_s": 42.0, "cycles": 1,
            "suspect_commit": "3e98306511", "suspect_method": "bisected", "branch": "swarm/fix/inv-abc",
            "root_cause": "commit 3e98306 made the timeout milliseconds",
            "fix": "timeout / 1000 at gateway/settings.py:9 (template:unit, 3 token(s))",
            "tests_before": {"passed": 3, "failed": 2}, "tests_after": {"passed": 5, "failed": 0},
            "repro": {"kind": "test", "target": "tests/test_health.py::test_probe[defaults]", "detail": "raises"},
            "review": {"verdict": "approve", "reasons": [], "feedback": "approved: tests pass and the diff is clean"}}
    render_investigated({**base, **fields})
    return " ".join(capsys.readouterr().out.split())


def test_the_text_names_the_suspect_method_the_fix_the_repro_the_counts_and_the_verdict(capsys) -> None:
    text = shown(capsys)
    assert "suspect_commit: 3e98306511 (bisected)" in text
    assert "fix: timeout / 1000 at gateway/settings.py:9" in text
    assert "tests_before: 3 passed, 2 failed" in text and "tests_after: 5 passed, 0 failed" in text
    assert "repro: test tests/test_health.py::test_probe[defaults]: raises" in text  # brackets are not markup
    assert "review: approve (approved: tests pass and the diff is clean)" in text
    nothing = shown(capsys, status="no_fix", repro={"kind": "none"}, review=None, fix=None)
    assert "repro:" not in nothing and "review:" not in nothing and "fix:" not in nothing


def test_the_fix_line_is_read_from_the_summary() -> None:
    summary = "### fixed: X\n\n**Root cause.** c\n\n**Fix.** coerce x to float at a.py:3 (template:coerce)\n\n**B"
    assert _fix_line(summary) == "coerce x to float at a.py:3 (template:coerce)"
    assert _fix_line("### no fix") is None
