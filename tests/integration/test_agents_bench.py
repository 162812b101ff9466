"""`swarm bench fixes` end to end through the CLI (small count: the full figures are the benchmark's job)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.clikit import run_app

runner = CliRunner(env={"COLUMNS": "1000"})  # Click's error box never folds the message


def test_bench_fixes_prints_figures_per_split_as_json() -> None:
    result = CliRunner().invoke(app, ["bench", "fixes", "--count", "2", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["splits"]) == {"dev", "holdout"}
    dev, holdout = data["splits"]["dev"], data["splits"]["holdout"]
    assert [r["shape"] for r in dev["cases"]] == ["crash_line", "caller"]
    assert [r["shape"] for r in holdout["cases"]] == ["newest", "feature_later"]
    assert all(r["variant"].startswith("holdout") for r in holdout["cases"])
    for part in (dev, holdout):
        summary = part["summary"]
        assert summary["cases"] == 2
        assert all(r["right_suspect"] and r["passing_fix"] and r["review"] == "approve" for r in part["cases"])
        assert all(r["suspect_method"] == "bisected" and r["repro"] == "test" for r in part["cases"])
        assert (summary["right_suspect_pct"], summary["passing_fix_pct"], summary["goals_met"]) == (100.0, 100.0, True)
        assert set(summary["baselines"]) == {"last_commit_on_file", "blame_failing_line", "blame_revert_passes"}
        assert all(r["duration_s"] > 0 for r in part["cases"])


def test_bench_fixes_rejects_a_bad_count_as_a_usage_error() -> None:
    result = runner.invoke(app, ["bench", "fixes", "--count", "0"])
    assert result.exit_code == 2 and "Invalid value for '--count' / '-n'" in result.stderr, result.output


def test_bench_fixes_rejects_a_bad_split_as_a_usage_error() -> None:
    result = runner.invoke(app, ["bench", "fixes", "--split", "train"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--split'" in result.stderr and "'dev', 'holdout', 'both'" in result.stderr


def test_bench_fixes_refuses_a_workdir_that_is_a_file_as_a_usage_error(tmp_path: Path) -> None:
    """It was a FileExistsError traceback from agents/testing/bench.py, with no JSON under --json."""
    afile = tmp_path / "afile"
    afile.write_text("")
    for workdir, message in ((afile, f"{afile} exists and is not a directory"),
                             (afile / "sub", f"cannot create {afile / 'sub'}: Not a directory")):
        result = runner.invoke(app, ["bench", "fixes", "--count", "1", "--split", "dev", "--workdir", str(workdir)])
        assert result.exit_code == 2, result.output
        assert "'--workdir'" in result.stderr and message in result.stderr and "Traceback" not in result.output
    out = io.StringIO()
    with pytest.raises(SystemExit) as done, contextlib.redirect_stdout(out):
        run_app(app, ["bench", "fixes", "--count", "1", "--workdir", str(afile), "--json"])
    assert done.value.code == 2
    assert json.loads(out.getvalue()) == {
        "error": f"Invalid value for '--workdir': {afile} exists and is not a directory", "exit_code": 2}
