"""Bisect with a repro: the first commit where the reported error appears (`git bisect run` semantics).

    result = bisect(ws.root, repro, budget_s=120)
    result.first_bad, result.method, result.steps, result.tested     # "bisected" or "" (no answer)

Runs in the investigation's own worktree (never the user's checkout). Each tested commit gets the
repository's test files as they are at HEAD (the repro is a HEAD test); when that cannot run there (the
test imports something newer), the commit's own tests are tried. A commit where the repro cannot tell
(import error, other failure) is skipped, like `git bisect skip`. The search first walks back
exponentially from HEAD to a good commit, then halves the range; it stops at the time budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.repro import Outcome, Repro, is_test_file, run_repro
from agents.workspace import run_command

__all__ = ["BisectResult", "bisect"]

MAX_COMMITS = 2000


@dataclass
class BisectResult:
    first_bad: str | None = None
    last_good: str | None = None
    candidates: list[str] = field(default_factory=list)  # first_bad plus skipped commits it may hide behind
    steps: int = 0
    tested: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    reason: str = ""

    @property
    def method(self) -> str:
        return "bisected" if self.first_bad else ""

    def to_dict(self) -> dict[str, Any]:
        return {"first_bad": self.first_bad, "last_good": self.last_good, "candidates": self.candidates,
                "steps": self.steps, "tested": self.tested, "elapsed_s": round(self.elapsed_s, 3),
                "reason": self.reason}


def _git(root: Path, *args: str) -> str:
    res = run_command(["git", *args], root, max_output=5_000_000)
    return res.output if res.ok else ""


class _Prober:
    def __init__(self, root: Path, repro: Repro, head: str) -> None:
        self.root, self.repro, self.head = root, repro, head
        self.head_tests = [p for p in _git(root, "ls-tree", "-r", "--name-only", head).splitlines()
                           if is_test_file(p)]
        self.cache: dict[str, Outcome] = {}

    def _checkout(self, sha: str) -> bool:
        run_command(["git", "reset", "-q", "--hard"], self.root)
        run_command(["git", "clean", "-fdq"], self.root)
        return run_command(["git", "checkout", "-q", "-f", "--detach", sha], self.root).ok

    def probe(self, sha: str) -> Outcome:
        if sha in self.cache:
            return self.cache[sha]
        outcome: Outcome = "skip"
        if self._checkout(sha):
            if self.repro.kind == "test" and self.head_tests and sha != self.head:
                run_command(["git", "checkout", self.head, "--", *self.head_tests], self.root)
            outcome = run_repro(self.root, self.repro)
            if outcome == "skip" and self.repro.kind == "test" and sha != self.head and self._checkout(sha):
                outcome = run_repro(self.root, self.repro)  # the commit's own tests
        self.cache[sha] = outcome
        return outcome

    def restore(self) -> None:
        self._checkout(self.head)


def bisect(root: Path, repro: Repro, *, budget_s: float = 120.0, max_steps: int = 40) -> BisectResult:
    """The first bad commit on the first-parent history of HEAD, found with `repro` (which must be bad at HEAD)."""
    t0 = time.monotonic()
    head = _git(root, "rev-parse", "HEAD").strip()
    commits = _git(root, "rev-list", "--first-parent", f"--max-count={MAX_COMMITS}", "HEAD").split()
    result = BisectResult()
    if repro.kind == "none" or not commits:
        result.reason = "no repro to bisect with"
        return result
    prober = _Prober(root, repro, head)
    prober.cache[head] = "bad"  # find_repro established it at HEAD

    def over_budget() -> bool:
        return time.monotonic() - t0 > budget_s or result.steps >= max_steps

    def probe(i: int) -> Outcome:
        result.steps += 1
        outcome = prober.probe(commits[i])
        result.tested[commits[i]] = outcome
        return outcome

    try:
        bad, good = 0, None
        step, i = 1, 1
        tried = {0}
        while i < len(commits) and good is None and not over_budget():
            outcome = probe(i)
            tried.add(i)
            if outcome == "good":
                good = i
            elif outcome == "bad":
                bad = i
                if bad == len(commits) - 1:
                    break
                i, step = min(i + step, len(commits) - 1), step * 2  # never step past the root untested
                continue
            else:
                # skipped (the walk may have jumped over a good commit): the untested ones between the last
                # bad and the oldest tried first, nearest that one; then older ones
                oldest = max(tried)
                between = [j for j in range(bad + 1, oldest) if j not in tried]
                i = max(between) if between else oldest + 1
                continue
            break
        if good is None:
            oldest_bad = commits[bad]
            result.reason = (f"the repro never passed on {result.steps} older commit(s) "
                             f"(oldest bad {oldest_bad[:10]}; {'out of budget' if over_budget() else 'history end'})")
            if bad == len(commits) - 1:  # the root commit itself fails: it introduced the error
                result.first_bad, result.candidates = oldest_bad, [oldest_bad]
                result.reason = ""
            return result
        skipped: set[int] = set()
        while good - bad > 1 and not over_budget():
            untested = [j for j in range(bad + 1, good) if j not in skipped]
            if not untested:
                break
            mid = (bad + good) // 2
            j = min(untested, key=lambda k: (abs(k - mid), k))
            outcome = probe(j)
            if outcome == "bad":
                bad = j
            elif outcome == "good":
                good = j
            else:
                skipped.add(j)
        result.last_good = commits[good]
        between = [commits[j] for j in range(bad, good)]  # bad and the skipped ones older than it
        if good - bad == 1 or all(j in skipped for j in range(bad + 1, good)):
            result.first_bad = commits[bad] if good - bad == 1 else None
            result.candidates = list(reversed(between))  # oldest first: the likeliest culprit behind skips
            if result.first_bad is None:
                result.reason = (f"the first bad commit is one of {len(between)} (untestable commits "
                                 f"{', '.join(c[:10] for c in between[1:])} were skipped)")
        else:
            result.candidates = list(reversed(between))
            result.reason = f"out of budget after {result.steps} steps ({len(between)} commits left)"
        return result
    finally:
        result.elapsed_s = time.monotonic() - t0
        prober.restore()
