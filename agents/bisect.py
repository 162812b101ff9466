"""Bisect with a repro: the first commit where the reported error appears (`git bisect run` semantics).

    result = bisect(ws.root, repro, budget_s=120)
    result.first_bad, result.method, result.steps, result.tested     # "bisected" or "" (no answer)

Runs in the investigation's own worktree (never the user's checkout). Each tested commit gets the
repository's test files as they are at HEAD (the repro is a HEAD test); when that cannot run there (the
test imports something newer), the outermost production call on the HEAD test's crash path that exists
there is run with the arguments it got at HEAD (`agents.argcapture`), then the commit's own test of that
id, then its own whole suite. A commit where none can tell (import error, other failure) is skipped, like
`git bisect skip`. The search first walks back exponentially from HEAD to a good commit, then halves the
range; it stops at the time budget. When HEAD's repro fails on every commit it runs on, a second pass
asks each commit's own test suite (`BisectResult.oracle` says which answered).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.argcapture import CapturedCall, capture_calls, first_defined, run_call, string_arguments
from agents.repro import Outcome, Repro, is_test_file, run_repro
from agents.undo import undo_culprit
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
    never_passed: bool = False  # no commit passed the repro (HEAD's data or API may be newer than them)
    oracle: str = "HEAD's repro"  # what judged the first bad commit (and the last good one)
    captured: list[dict[str, Any]] = field(default_factory=list)  # the calls on the crash path, outermost first

    @property
    def method(self) -> str:
        return "bisected" if self.first_bad else ""

    def to_dict(self) -> dict[str, Any]:
        return {"first_bad": self.first_bad, "last_good": self.last_good, "candidates": self.candidates,
                "steps": self.steps, "tested": self.tested, "elapsed_s": round(self.elapsed_s, 3),
                "reason": self.reason, "oracle": self.oracle, "captured": self.captured}


def _git(root: Path, *args: str) -> str:
    res = run_command(["git", *args], root, max_output=5_000_000)
    return res.output if res.ok else ""


class _Prober:
    """Answers "does commit X have the error?" With `own_suite`, from the commit's own whole test suite only
    (bisect's second pass); otherwise from HEAD's repro, and where that cannot tell, from the outermost
    captured call that exists there, the commit's own test of that id, then its own whole suite."""

    def __init__(self, root: Path, repro: Repro, head: str, calls: list[CapturedCall], own_suite: bool = False,
                 own_test: bool = False) -> None:
        self.root, self.repro, self.head, self.calls, self.own_suite = root, repro, head, calls, own_suite
        self.own_test = own_test
        self.head_tests = [p for p in _git(root, "ls-tree", "-r", "--name-only", head).splitlines()
                           if is_test_file(p)]
        self.cache: dict[str, Outcome] = {head: "bad"}  # find_repro established it at HEAD
        self.how: dict[str, str] = {head: "HEAD's test" if repro.kind == "test" else "the repro"}

    def _checkout(self, sha: str) -> bool:
        run_command(["git", "reset", "-q", "--hard"], self.root)
        run_command(["git", "clean", "-fdq"], self.root)
        return run_command(["git", "checkout", "-q", "-f", "--detach", sha], self.root).ok

    def probe(self, sha: str) -> Outcome:
        if sha in self.cache:
            return self.cache[sha]
        outcome: Outcome = "skip"
        if self.own_suite:
            if self.repro.suite and self._checkout(sha):
                outcome, self.how[sha] = self._suite(), "its own suite"
        elif self.own_test:
            if self._checkout(sha):
                outcome, self.how[sha] = run_repro(self.root, self.repro), "its own test of that id"
        elif self._checkout(sha):
            if self.repro.kind == "test" and self.head_tests:
                run_command(["git", "checkout", self.head, "--", *self.head_tests], self.root)
            outcome, self.how[sha] = run_repro(self.root, self.repro), self.how[self.head]
            if outcome == "skip" and self._checkout(sha):
                outcome = self._older(sha)
        self.cache[sha] = outcome
        return outcome

    def _older(self, sha: str) -> Outcome:
        call = first_defined(self.root, self.calls)
        if call is not None and (outcome := run_call(self.root, call, self.repro)) != "skip":
            self.how[sha] = f"the call {call.function}() HEAD's test made, with its arguments"
            return outcome
        if self.repro.kind == "test" and (outcome := run_repro(self.root, self.repro)) != "skip":
            self.how[sha] = "its own test of that id"
            return outcome
        # the suite is an oracle only where it raises the error at HEAD (a built repro's does not)
        if self.repro.suite and self.repro.kind in ("test", "suite"):
            self.how[sha] = "its own suite"
            return self._suite()
        return "skip"

    def _suite(self) -> Outcome:
        suite = Repro("suite", self.repro.suite, shape=self.repro.shape, timeout_s=max(self.repro.timeout_s, 300.0))
        return run_repro(self.root, suite)

    def restore(self) -> None:
        self._checkout(self.head)


def _oracle(prober: _Prober, result: BisectResult) -> str:
    """What judged the first bad commit and the last good one."""
    bad = prober.how.get(result.first_bad or "", "")
    good = prober.how.get(result.last_good or "", "")
    if not bad:
        return "HEAD's repro"
    return bad if not good or good == bad else f"{bad} (bad), {good} (good)"


def _only_tests(root: Path, sha: str) -> bool:
    changed = _git(root, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", sha).split()
    return all(is_test_file(p) for p in changed)


def bisect(root: Path, repro: Repro, *, budget_s: float = 120.0, max_steps: int = 40) -> BisectResult:
    """The first bad commit on the first-parent history of HEAD, found with `repro` (which must be bad at HEAD).

    When HEAD's repro fails on every commit it can run on (it may rely on a data format or module that came
    later), a second pass asks each commit's own test suite instead; its answer is kept when it is a commit
    that changed more than tests."""
    t0 = time.monotonic()
    head = _git(root, "rev-parse", "HEAD").strip()
    commits = _git(root, "rev-list", "--first-parent", f"--max-count={MAX_COMMITS}", "HEAD").split()
    result = BisectResult()
    if repro.kind == "none" or not commits:
        result.reason = "no repro to bisect with"
        return result
    calls = capture_calls(root, repro)
    result.captured = [c.to_dict() for c in calls]

    def over_budget() -> bool:
        return time.monotonic() - t0 > budget_s or result.steps >= max_steps

    prober = _Prober(root, repro, head, calls)
    try:
        _search(commits, prober, over_budget, result)
        result.oracle = _oracle(prober, result)
        if result.never_passed and repro.suite and repro.kind in ("test", "suite") and not over_budget():
            second = BisectResult(steps=result.steps)
            _search(commits, _Prober(root, repro, head, calls, own_suite=True), over_budget, second)
            result.steps, result.tested = second.steps, {**result.tested, **second.tested}
            if second.first_bad and not _only_tests(root, second.first_bad):
                oldest = (result.first_bad or "")[:10] or "the oldest tried"
                for name in ("first_bad", "last_good", "candidates", "reason"):
                    setattr(result, name, getattr(second, name))
                result.oracle = "each commit's own test suite (second pass)"
                result.reason = (f"HEAD's repro failed on every older commit it ran on (to {oldest}); "
                                 "each commit's own test suite first raises it here")
        elif result.first_bad and repro.kind == "test" and prober.how.get(result.first_bad) == prober.how[head]:
            _newer_data(root, repro, head, calls, commits, over_budget, result)
        # undoing bisect's own first bad commit on HEAD cleared the error: no guess after that
        confirmed = (repro.kind == "test" and _weak(prober, result, head)
                     and _undo_instead(root, repro, head, commits, over_budget, result))
        if confirmed:
            return result
        if repro.kind == "test" and calls and result.last_good is None and _weak(prober, result, head):
            _value_origin(root, calls, result)
        elif repro.kind == "test" and _weak(prober, result, head) and not over_budget():
            _off_the_path(root, repro, result, _Prober(root, repro, head, calls, own_suite=True))
        return result
    finally:
        result.elapsed_s = time.monotonic() - t0
        prober.restore()


def _newer_data(root: Path, repro: Repro, head: str, calls: list[CapturedCall], commits: list[str],
                over_budget: Callable[[], bool], result: BisectResult) -> None:
    """HEAD's test fails on the first bad commit, but does that commit's own version of the test (its own
    fixtures and data) pass there? Then its code worked with the data of its day, and the error came with a
    later change of data and code (a payload format, a fixture schema) that missed this consumer: the first
    commit after it whose own test fails is the suspect, unless that commit changed only tests."""
    first_bad = result.first_bad or ""
    own = _Prober(root, repro, head, calls, own_test=True)
    if over_budget() or own.probe(first_bad) != "good":
        return
    result.steps += 1
    later = commits[: commits.index(first_bad) + 1]
    newer = BisectResult(steps=result.steps)
    _search(later, own, over_budget, newer)
    result.steps, result.tested = newer.steps, {**result.tested, **newer.tested}
    if newer.first_bad and newer.first_bad != first_bad and not _only_tests(root, newer.first_bad):
        result.reason = (f"HEAD's test first fails at {first_bad[:10]}, whose own test passes there; "
                         f"its own test first fails at {newer.first_bad[:10]}, which changed the data it reads")
        result.candidates = [newer.first_bad, first_bad]
        result.first_bad, result.last_good = newer.first_bad, newer.last_good
        result.oracle = "each commit's own test of that id (newer data)"


def _weak(prober: _Prober, result: BisectResult, head: str) -> bool:
    """Whether the answer rests on a fallback verdict (no single first bad commit, or one of its two sides
    judged by anything but HEAD's test itself)."""
    if result.first_bad is None:
        return True
    strong = prober.how[head]
    return any(prober.how.get(sha or "", strong) != strong for sha in (result.first_bad, result.last_good))


def _undo_instead(root: Path, repro: Repro, head: str, commits: list[str], over_budget: Callable[[], bool],
                  result: BisectResult) -> bool:
    """Ask HEAD with each recent commit undone; a commit whose undoing makes HEAD's test pass is the suspect.
    True when that is bisect's own first bad commit: its weak verdict is confirmed on HEAD itself."""
    culprit, tested = undo_culprit(root, repro, head, commits, over_budget)  # older than first_bad too: a
    # latent bug comes before the commit whose test first walks its path
    result.steps += len(tested)
    result.tested = {**result.tested, **{f"undo {sha}": outcome for sha, outcome in tested.items()}}
    if culprit is not None and culprit == result.first_bad and tested[culprit] == "good":
        result.oracle = f"{_oracle_text(result)}; confirmed: undoing it on HEAD makes HEAD's test pass"
        return True
    if culprit is None or culprit == result.first_bad:
        return False
    before = (result.first_bad or "")[:10] or "none"
    effect = "pass" if tested[culprit] == "good" else "run through (the error gone, only assertions fail)"
    result.reason = (f"bisect's verdicts were indirect ({_oracle_text(result)}; first bad {before}); undoing "
                     f"{culprit[:10]} on HEAD makes HEAD's test {effect}")
    result.candidates = [culprit, *([result.first_bad] if result.first_bad else [])]
    parent = _git(root, "rev-parse", f"{culprit}^").strip()
    result.first_bad, result.last_good = culprit, parent or None
    result.oracle = "HEAD's test with the commit undone on HEAD"
    return False


def _value_origin(root: Path, calls: list[CapturedCall], result: BisectResult) -> None:
    """The crash path's call fails on every commit it ran on, so its arguments carried the error: when one
    of its string arguments is written in a production file at HEAD, the commit that wrote it (the first
    whose diff adds it, `git log -S`) is the suspect: a typo in data, whatever commit first read it."""
    for value in (v for c in calls for v in string_arguments(c.code)):
        for path in _git(root, "grep", "-l", "-F", "-e", value, "HEAD", "--").split():
            path = path.removeprefix("HEAD:")
            if is_test_file(path):
                continue
            added = _git(root, "log", "--format=%H", "--reverse", "-S", value, "HEAD", "--", path).split()
            if added and added[0] != result.first_bad and not _only_tests(root, added[0]):
                before = (result.first_bad or "")[:10] or "none"
                result.reason = (f"the crash path's call fails on every commit it ran on (first bad {before}): "
                                 f"its argument {value!r} is data that {added[0][:10]} wrote into {path}")
                result.candidates = [added[0], *([result.first_bad] if result.first_bad else [])]
                result.first_bad = added[0]
                result.last_good = _git(root, "rev-parse", f"{added[0]}^").strip() or None
                result.oracle = "the commit that wrote the crash path's argument (git log -S)"
                return


def _off_the_path(root: Path, repro: Repro, result: BisectResult, own_suite: _Prober) -> None:
    """A weakly judged first bad commit that changed no production file on the error's traceback (the
    first commit HEAD's test can run on, say) did not write the crashing code: the newest older commit that
    changed the file the error is raised in did. Unless that commit's own test suite already raises the
    error: then it broke what its own tests expected (a helper that now returns None where the crashing
    caller reads a value is off the traceback, being returned from)."""
    trace = repro.head_trace()
    crash = trace.crash if trace else None
    if crash is None or is_test_file(crash.path) or not result.first_bad:
        return
    path_files = {f.path for f in trace.frames if not is_test_file(f.path)} if trace else set()
    changed = set(_git(root, "diff", "--name-only", f"{result.first_bad}^", result.first_bad).split())
    if changed & path_files:
        return
    if own_suite.probe(result.first_bad) == "bad":
        result.oracle = f"{_oracle_text(result)}; its own test suite raises the error there"
        return
    older = _git(root, "log", "-n", "1", "--format=%H", f"{result.first_bad}^", "--", crash.path).strip()
    if not older or older == result.first_bad or _only_tests(root, older):
        return
    before = result.first_bad[:10]
    result.reason = (f"bisect's verdicts were indirect ({_oracle_text(result)}; first bad {before}, which changed "
                     f"no file on the error's traceback); {older[:10]} last changed {crash.path}, where it is raised")
    result.candidates = [older, result.first_bad]
    result.first_bad = older
    result.last_good = _git(root, "rev-parse", f"{older}^").strip() or None
    result.oracle = "the last commit before it to change the file the error is raised in"


def _oracle_text(result: BisectResult) -> str:
    return result.oracle or result.reason or "no single first bad commit"


def _search(commits: list[str], prober: _Prober, over_budget: Callable[[], bool], result: BisectResult) -> None:
    """Walk back exponentially from HEAD (commits[0]) to a good commit, then halve the range."""

    def probe(i: int) -> Outcome:
        result.steps += 1
        outcome = prober.probe(commits[i])
        result.tested[commits[i]] = outcome
        return outcome

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
        result.never_passed = True
        result.reason = (f"the repro never passed on {result.steps} older commit(s) "
                         f"(oldest bad {oldest_bad[:10]}; {'out of budget' if over_budget() else 'history end'})")
        if bad == len(commits) - 1:  # the root commit itself fails: it introduced the error
            result.first_bad, result.candidates = oldest_bad, [oldest_bad]
            result.reason = ""
        return
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
