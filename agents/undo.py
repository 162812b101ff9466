"""Which recent commit, undone on HEAD, makes HEAD's repro pass: the suspect when bisect could not ask the
old commits themselves.

    sha, tested = undo_culprit(root, repro, head, commits, over_budget)

Bisect asks old commits whether they have the error, but a test written after the bug (the usual case: the
bug stayed latent until a new feature or test walked its path) cannot run there, and the fallbacks answer
weakly: an old commit's own suite passes because nothing exercised the path, and a replayed call fails
wherever its arguments were already corrupted upstream. Undoing a commit on HEAD keeps HEAD's test
runnable: each commit's production changes are reverted on HEAD (its tests kept as at HEAD), newest first,
and the first whose undoing makes the repro pass, whole, is the suspect (culprit finding by revert, as
continuous-integration culprit finders do it). Failing that, the newest whose undoing leaves the error gone
and only assertions failing (the commit brought both the bug and a feature the test checks: undoing it
lets the path run through). A revert that conflicts, or that leaves the test unable to run (another
error), answers nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agents.repro import Outcome, Repro, classify, is_test_file, parse_tracebacks
from agents.workspace import repro_env, run_command, run_heavy, test_env

__all__ = ["undo_culprit"]


def _git(root: Path, *args: str) -> tuple[bool, str]:
    res = run_command(["git", *args], root, max_output=2_000_000)
    return res.ok, res.output


def _clean(root: Path, head: str) -> None:
    _git(root, "reset", "-q", "--hard")
    _git(root, "clean", "-fdq")
    _git(root, "checkout", "-q", "-f", "--detach", head)


def undone(root: Path, repro: Repro, head: str, sha: str) -> Outcome | Literal["asserts"]:
    """HEAD's repro with `sha`'s production changes reverted on HEAD: "good" when it passes, "asserts" when
    the error is gone and only assertions fail (undoing a feature the test also checks), "skip" when the
    undo conflicts or the test cannot run."""
    ok, out = _git(root, "diff-tree", "--no-commit-id", "--name-only", "-r", sha)
    changed = out.split() if ok else []
    if not any(not is_test_file(p) for p in changed):
        return "skip"
    _clean(root, head)
    try:
        ok, _ = _git(root, "revert", "--no-commit", "--no-edit", sha)
        if not ok:
            return "skip"  # a conflict with what came after: this undo says nothing
        for path in (p for p in changed if is_test_file(p)):  # the tests stay HEAD's: the question is the code
            if _git(root, "cat-file", "-e", f"{head}:{path}")[0]:
                _git(root, "checkout", head, "--", path)
            else:
                _git(root, "rm", "-q", "-f", "--ignore-unmatch", "--", path)
        res = run_heavy(repro.args, root, timeout_s=repro.timeout_s, max_output=200_000,
                        env=test_env() if repro.kind == "test" else repro_env())
        outcome, _ = classify(res, repro.error_shape(), root, repro.kind, repro.crash())
        traces = parse_tracebacks(res.output, root) if outcome == "skip" and not res.timed_out else []
        if traces and all(t.exc_type == "AssertionError" for t in traces):
            return "asserts"  # the path now runs through: only a value the test checks differs
        return outcome
    finally:
        _git(root, "revert", "--quit")
        _clean(root, head)


def undo_culprit(root: Path, repro: Repro, head: str, commits: list[str], over_budget: Callable[[], bool],
                 limit: int = 25) -> tuple[str | None, dict[str, str]]:
    """The newest of `commits` (newest first) whose undoing on HEAD makes the repro pass, else the newest
    whose undoing leaves only failed assertions; and every answer."""
    tested: dict[str, str] = {}
    for sha in commits[:limit]:
        if over_budget():
            break
        if len(_git(root, "rev-list", "--parents", "-n", "1", sha)[1].split()) != 2:
            continue  # the root commit (nothing to revert to) or a merge
        tested[sha] = undone(root, repro, head, sha)
        if tested[sha] == "good":
            return sha, tested
    return next((sha for sha, outcome in tested.items() if outcome == "asserts"), None), tested
