"""The offline brain on generated regression repositories (real git, real test runs), and review's checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.review import ReviewAgent
from agents.testing.regressions import SHAPES, make_case
from swarm.config import SwarmConfig
from swarm.runtime.local import RecordingEvents, RecordingMessages, context
from swarm.runtime.local import run_in_process as run_investigation

ROOT = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    cfg = SwarmConfig.load(ROOT / "configs" / "swarm.yaml").model_dump()
    cfg["workspace_root"] = str(tmp_path / "ws")
    cfg["git_author"] = {"name": "swarm-bot", "email": "bot@example.com"}
    return cfg


def run_tests_on(repo: Path, ref: str, where: Path, command: str) -> subprocess.CompletedProcess[str]:
    git(repo, "worktree", "add", "-q", "--detach", str(where), ref)
    try:
        return subprocess.run(
            command.replace("python", sys.executable, 1).split(), cwd=where, capture_output=True, text=True, timeout=120
        )
    finally:
        git(repo, "worktree", "remove", "--force", str(where))


@pytest.mark.parametrize("shape", SHAPES)
async def test_offline_brain_finds_the_regression_and_leaves_a_passing_fix_branch(
    shape: str, tmp_path: Path, config: dict[str, Any]
) -> None:
    case = make_case(tmp_path / "repo", shape, seed=7)
    events, messages = RecordingEvents(), RecordingMessages()
    out = await run_investigation(
        case.report, case.repository, config, events=events, messages=messages, investigation_id=f"inv-{shape}"
    )
    express, impl, review = out["express"], out["implement"], out["review"]

    assert express["suspect_commit"] == case.regression_commit
    assert (express["status"], review["verdict"], out["cycles"]) == ("fixed", "approve", 1), impl
    branch = f"swarm/fix/inv-{shape}"
    assert express["branch"] == branch and git(case.path, "rev-parse", branch).strip() == express["fix_commit"]
    assert git(case.path, "rev-parse", f"{branch}^").strip() == git(case.path, "rev-parse", "main").strip()

    # the branch passes the repository's tests in a fresh checkout, and main still fails them
    assert run_tests_on(case.path, branch, tmp_path / "check-fix", case.test_command).returncode == 0
    assert run_tests_on(case.path, "main", tmp_path / "check-main", case.test_command).returncode != 0
    assert (
        express["tests_before"]["ok"] is False
        and express["tests_before"]["failed"] + express["tests_before"]["errors"] >= 1
    )
    assert express["tests_after"]["ok"] is True and express["tests_after"]["passed"] >= 2

    # only what the regression touched is changed, and what must survive (features, later commits) survives
    fixed_files = set(git(case.path, "diff", "--name-only", "main", branch).split())
    assert fixed_files and fixed_files <= set(
        git(case.path, "show", "--format=", "--name-only", case.regression_commit).split()
    )
    for path, snippet in case.must_keep:
        assert snippet in git(case.path, "show", f"{branch}:{path}"), (path, snippet)
    if shape == "caller":  # the bug was in the caller, not in the module that raised
        assert case.report.context.file not in fixed_files

    # commit metadata, summary, audit, worktrees
    assert git(case.path, "log", "-1", "--format=%an <%ae>", branch).strip() == "swarm-bot <bot@example.com>"
    message = git(case.path, "log", "-1", "--format=%B", branch)
    assert f"Swarm-Investigation: inv-{shape}\nSwarm-Signature: {case.report.signature}" in message
    assert f"`{case.regression_commit[:12]}`" in express["summary"] and f"`{branch}`" in express["summary"]
    assert "| before |" in express["summary"] and "| after |" in express["summary"]
    assert [a["outcome"] for a in events.audits] == ["approve"] and events.audits[0]["target"] == branch
    assert any(kind == "fix" for kind, _, _ in messages.said)
    assert git(case.path, "worktree", "list").count("\n") == 1
    assert not list((tmp_path / "ws").glob("inv-*"))


async def test_fix_is_pushed_to_the_configured_remote(tmp_path: Path, config: dict[str, Any]) -> None:
    case = make_case(tmp_path / "repo", "crash_line", seed=2)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repository = {**case.repository, "remote": str(remote)}
    out = await run_investigation(case.report, repository, config, investigation_id="inv-push")
    assert out["implement"]["pushed"] is True and out["implement"]["pushed_to"] == f"{remote} swarm/fix/inv-push"
    assert git(remote, "rev-parse", "swarm/fix/inv-push").strip() == out["implement"]["fix_commit"]


async def test_tests_that_miss_the_bug_get_a_repro_built_from_the_stack(tmp_path: Path,
                                                                        config: dict[str, Any]) -> None:
    case = make_case(tmp_path / "repo", "crash_line", seed=3)
    repository = {**case.repository, "test_command": "python -c pass"}  # a suite that never sees the bug
    config["orchestration"]["max_cycles"] = 1
    out = await run_investigation(case.report, repository, config, investigation_id="inv-built")
    impl, express = out["implement"], out["express"]
    assert impl["repro"]["kind"] == "built" and "no test reproduces it" in impl["repro"]["detail"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit
    assert express["suspect_method"] == "bisected" and out["review"]["verdict"] == "approve"


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        # a suite red at HEAD that names no failing test: a patch's failures cannot be told from the old ones
        ("python -c 'raise SystemExit(1)'", "the test suite fails at HEAD without any patch and its output names no "
                                            "failing test"),
    ],
)
async def test_no_fix_is_said_plainly(command: str, reason: str, tmp_path: Path, config: dict[str, Any]) -> None:
    case = make_case(tmp_path / "repo", "crash_line", seed=3)
    repository = {**case.repository, "test_command": command}
    config["orchestration"]["max_cycles"] = 1
    out = await run_investigation(case.report, repository, config, investigation_id="inv-nofix")
    impl, express = out["implement"], out["express"]
    assert impl["status"] == express["status"] == "no_fix"
    assert reason in impl["reason"] and reason in express["summary"]
    assert express["suspect_commit"] == case.regression_commit  # still named, as the top suspect
    assert express["branch"] is None and git(case.path, "branch", "--list", "swarm/fix/*").strip() == ""
    # the one cycle table skips review when there is no fix (as the runtime always did)
    assert out["review"] == {"verdict": "skipped", "reasons": ["no fix to review"]}


def _bad_fix(repo: Path, kind: str) -> str:
    """A branch that makes the tests pass the wrong way; returns its name."""
    branch = f"swarm/fix/bad-{kind}"
    git(repo, "checkout", "-q", "-b", branch)
    test_file = next((repo / "tests").glob("test_*.py"))
    text = test_file.read_text()
    if kind == "deleted_test":
        text = text.split("    def test_", 1)[0] + "    def test_nothing(self):\n        pass\n"
        test_file.write_text(text)
    elif kind == "weakened_assertion":
        lines = [
            ln if "assertEqual" not in ln else ln.split("self.")[0] + "self.assertTrue(True)"
            for ln in text.splitlines()
        ]
        test_file.write_text("\n".join(lines) + "\n")
    elif kind == "ci_edit":
        test_file.write_text(text)
        (repo / ".github" / "workflows").mkdir(parents=True)
        (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", f"make tests green ({kind})")
    git(repo, "checkout", "-q", "main")
    return branch


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("deleted_test", "deletes test test_"),
        ("weakened_assertion", "removes or weakens assertions in tests/"),
        ("ci_edit", "edits CI/workflow configuration .github/workflows/ci.yml"),
    ],
)
async def test_review_rejects_fixes_that_cheat(
    kind: str, expected: str, tmp_path: Path, config: dict[str, Any]
) -> None:
    case = make_case(tmp_path / "repo", "crash_line", seed=4)
    branch = _bad_fix(case.path, kind)
    events = RecordingEvents()
    ctx = context(
        case.report,
        case.repository,
        config,
        role="review",
        phase="review",
        investigation_id="inv-r",
        implementation={"status": "fixed", "branch": branch},
        events=events,
    )
    out = await ReviewAgent().handle(ctx)
    assert out["verdict"] == "request_changes"
    assert any(expected in r for r in out["reasons"]), out["reasons"]
    if kind != "ci_edit":
        assert out["tests"]["ok"] is True  # the cheat makes the tests pass; review still says no
    assert events.audits == [
        {"action": "review", "target": branch, "outcome": "request_changes", "details": events.audits[0]["details"]}
    ]
    assert events.audits[0]["details"]["reasons"] == out["reasons"]
