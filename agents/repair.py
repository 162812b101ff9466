"""Repair, smallest first: candidate patches from history and templates, each validated by the tests.

    result = repair(root, repro=repro, test_command="python -m pytest -q", suspects=[(sha, parent)],
                    sites=sites, shape=shape, message="KeyError: 'gold'", budget=RepairBudget())
    result.candidate, result.tried, result.test_runs, result.reason

Order: partial reverts of the suspect on the failing path (token, then line/hunk), templates at the crash
and caller lines, other partial reverts, templates on other failing-path lines and the numbers the suspect
wrote shifted together (`agents.literals`), whole-file reverts; inside
a tier the smallest diff first. A candidate passes when the repro no longer raises the error AND the full
test command passes twice (every test file as at HEAD: candidates never touch tests). The search is bounded
by candidates, test runs and seconds (`repair:` in configs/swarm.yaml).
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.candidates import blamed_lines, gather
from agents.forensics import function_spans
from agents.repro import ErrorShape, Repro, run_repro
from agents.revert import Candidate, tokens
from agents.siblings import SiblingCheck
from agents.sites import sites_for
from agents.sourcetext import dead_statements, unused_locals
from agents.templates import Site
from agents.testcmd import TestCommand, TestCommandError
from agents.testrun import holds, parse_test_counts
from agents.valueoracle import ValueOracle, ignored_keywords, new_parameters
from agents.workspace import run_heavy, test_env
from swarm.models import TestCounts

__all__ = ["RepairBudget", "RepairResult", "repair", "sites_for"]


@dataclass(frozen=True)
class RepairBudget:
    max_candidates: int = 120
    max_test_runs: int = 200
    max_seconds: float = 240.0
    tests_timeout_s: float = 600.0

    @classmethod
    def of(cls, options: dict[str, Any] | None) -> RepairBudget:
        o = options or {}
        return cls(int(o.get("max_candidates", cls.max_candidates)), int(o.get("max_test_runs", cls.max_test_runs)),
                   float(o.get("max_seconds", cls.max_seconds)), float(o.get("tests_timeout_s", cls.tests_timeout_s)))


@dataclass
class RepairResult:
    candidate: Candidate | None = None
    tried: int = 0
    generated: int = 0
    test_runs: int = 0
    elapsed_s: float = 0.0
    reason: str = ""
    attempts: list[str] = field(default_factory=list)  # short log of what was tried
    withheld: list[str] = field(default_factory=list)  # crash-site patches that passed only a made-up repro
    returned: str = ""  # what production's call returned before the regression and returns fixed (a literal)
    value_changed: str = ""  # the fix makes production's call return something else than at the last good commit


def _value_changed_reason(oracle: ValueOracle, cand: Candidate, now: str) -> str:
    return (f"the only patches that passed change what production's call returns: {oracle.call} returned "
            f"{oracle.shown} at the last good commit; {cand.description} (it returns {now}) (not claimed)")


def _changed_head_lines(old: str, new: str) -> set[int]:
    sm = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    out: set[int] = set()
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag != "equal":
            out.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return out


# templates read off the suspect's own change (its renamed names and keys, reshaped returns, units) and the
# contract repairs (agents.contracts): tried with the suspect's own hunks
_FROM_THE_SUSPECT = frozenset({"template:stale_name", "template:stale_key", "template:key_fallback",
                               "template:tuple_to_dict", "template:unit", "template:api_change", "template:call_site",
                               "template:old_default", "template:data_paths", "template:passthrough",
                               "template:base_init", "template:odd_value", "template:old_raise",
                               "template:enum_base", "template:deep_merge", "template:key_default",
                               "template:param_default", "template:format",
                               "template:suspect_zone", "template:cached_copy", "template:transfer",
                               "template:rebased", "template:old_value", "template:propagate"})


def _order(cands: list[Candidate], head: dict[str, str], sites: list[Site]) -> list[Candidate]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for s in sites:
        if s.tier > 2:
            continue  # a function the path called and left: its undos stay after the path's (tier 4)
        text = head.get(s.path, "")
        span = next((x for x in function_spans(text) if x.start <= s.line <= x.end), None)
        spans.setdefault(s.path, []).append((span.start, span.end) if span else (s.line - 2, s.line + 2))
    for c in cands:
        touched = {(p, n) for p, t in c.texts.items() for n in _changed_head_lines(head.get(p, ""), t)}
        c.on_path = c.unit == "data" and c.on_path or any(lo <= n <= hi for p, n in touched
                                                          for lo, hi in spans.get(p, []))
        if c.unit in ("token", "statement", "hunk"):
            c.tier = (0 if c.unit in ("token", "statement") else 1) if c.on_path else 4
            c.tier += 10 * c.rank  # later suspects after the first one's
        elif c.unit == "blend":  # half an undo: after every template on the path (a regrouping keeps more)
            c.tier = 4 + 10 * c.rank
        elif c.unit == "file":
            c.tier = 6
        elif c.unit == "data":  # an entry the suspect removed from a data file, named by the error: as its hunks
            c.tier = (1 if c.on_path else 4) + 10 * c.rank
        elif c.unit in _FROM_THE_SUSPECT:  # templates built from what the suspect changed: as its own hunks
            c.tier = 1
        else:  # templates: crash line 2, callers 3, suspect's lines on the path 5
            c.tier = {0: 2, 1: 3}.get(c.tier, 5)
    unique: dict[Any, Candidate] = {}
    dead = {p: (dead_statements(t), unused_locals(t)) for p, t in head.items() if p.endswith(".py")}
    for c in sorted(cands, key=lambda c: (c.tier, c.size)):
        if any(head.get(p) == t for p, t in c.texts.items()):
            continue
        if any(p in dead and _deadens(t, *dead[p]) for p, t in c.texts.items()):
            continue  # a `return` put back above what the suspect added (a revert in disguise); a value left unread
        unique.setdefault(c.key, c)
    return list(unique.values())


def _deadens(text: str, dead: int, unused: int) -> bool:
    """The patched file has statements that never run, or a local it computes and never reads, that HEAD had not
    (`shares = split(...)` left behind when the return reads the weights instead: review 24, splitbill)."""
    return dead_statements(text) > dead or unused_locals(text) > unused


_UNDOS = frozenset({"token", "statement"})
KEEP_LOOKING = 15  # candidates on the same lines tried after one that passes by deleting the suspect's additions


def _touched(cand: Candidate, head: dict[str, str]) -> set[tuple[str, int]]:
    return {(p, n) for p, t in cand.texts.items() for n in _changed_head_lines(head.get(p, ""), t)}


def _passed(result: RepairResult, cand: Candidate, root: Path, progress: Callable[[str], None] | None) -> RepairResult:
    result.candidate = cand
    result.attempts.append(f"{cand.description}: passes")
    if progress:
        progress(f"candidate {result.tried} passes: {cand.description}")
    return result


_GUARDS = frozenset({2, 3, 5})  # templates at the crash line, its callers, other failing-path lines
# repairs read from what the suspect changed, or from what the code itself offers (an accessor)
_ROOT_UNITS = frozenset({"token", "statement", "hunk", "blend", "file", "data", "template:accessor",
                         "template:spread_keyword"})


def _at_the_root(cand: Candidate, head: dict[str, str], written: Callable[[str], set[int]]) -> bool:
    """From the suspect's change or what the code offers, or a rewrite of lines the suspect wrote (`written`:
    a file's lines the first suspect last changed), not a line added at the crash."""
    if cand.unit in _ROOT_UNITS or cand.unit in _FROM_THE_SUSPECT:
        return True
    for p, text in cand.texts.items():
        ops = difflib.SequenceMatcher(None, head.get(p, "").splitlines(), text.splitlines(), autojunk=False)
        for tag, i1, i2, _, _ in ops.get_opcodes():
            if tag != "equal" and (tag != "replace" or not set(range(i1 + 1, i2 + 1)) <= written(p)):
                return False
    return True


def _withhold(result: RepairResult, cand: Candidate) -> None:
    """A crash-site patch that passes a repro of made-up values: kept out, named in the reason."""
    result.withheld.append(cand.description)
    result.attempts.append(f"{cand.description}: passes, but only a repro of made-up values, at the crash site: "
                           "not claimed")
ROOT_LOOK = 6  # the suspect's own reverts off the failing path tried after a guard passes


_VALUE = re.compile(r'-?\d[\w.]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|True|False|None|[-,]')


def _values_only(cand: Candidate, head: dict[str, str]) -> bool:
    """Whether the candidate only puts back values the suspect wrote over (`"30"` -> `30`), no code: undoing
    code (`DAILY = config['daily']` -> `DAILY = 500`) would drop what the commit was for."""
    for p, text in cand.texts.items():
        old, new = head.get(p, "").splitlines(), text.splitlines()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            a = [t[0] for line in old[i1:i2] for t in tokens(line)]
            b = [t[0] for line in new[j1:j2] for t in tokens(line)]
            for op, k1, k2, m1, m2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
                if op != "equal" and not all(_VALUE.fullmatch(t) for t in a[k1:k2] + b[m1:m2]):
                    return False
    return True


def _verdict(cand: Candidate, root: Path, repro: Repro | None, suite_ok: Callable[[], bool],
             result: RepairResult) -> str:
    """Write the candidate and judge it: "passes" (the repro, then the full suite twice), "repro <outcome>"
    or "tests fail". Its files stay written; the caller puts HEAD back."""
    result.tried += 1
    for p, t in cand.texts.items():
        (root / p).write_text(t)
    if repro is not None and repro.kind != "none":
        result.test_runs += 1
        outcome = run_repro(root, repro, strict=repro.kind == "built" and not repro.synthetic)
        if outcome != "good":
            return f"repro {outcome}"
    return "passes" if suite_ok() and suite_ok() else "tests fail"


def _nearest(result: RepairResult) -> str:
    """The candidates that made the repro pass and failed only the tests: how near the search came."""
    near = [a.rsplit(": tests fail", 1)[0] for a in result.attempts if a.endswith(": tests fail")]
    if not near:
        return "; none made the repro pass"
    return f"; {len(near)} made the repro pass and failed the tests, the first: {near[0][:200]}"


def _red_reason(result: RepairResult, baseline: TestCounts, repro: Repro | None) -> str:
    """Why nothing passed when the suite was red at HEAD already (a test of another failure)."""
    own = re.split(r"::|\.| \(", repro.target)[-1] if repro is not None and repro.kind == "test" else None
    others = [t for t in baseline.failing if not own or own not in t]  # the repro's own test is the error
    if not baseline.failing:
        return (f"the test suite fails at HEAD without any patch and its output names no failing test, so what a "
                f"patch breaks cannot be told from what was red already: none of {result.tried} candidate patches "
                "could be verified; make the suite pass (or name its failures, as pytest and unittest do) first")
    named = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return (f"none of {result.tried} candidate patches made the repro pass without failing a test that passes at "
            f"HEAD (the suite fails at HEAD without any patch{': ' + named if named else ''})")


def _suspects_own_fix(ordered: list[Candidate], guard: Candidate, head: dict[str, str], root: Path,
                      repro: Repro | None, suite_ok: Callable[[], bool], result: RepairResult,
                      budget: RepairBudget, t0: float) -> Candidate | None:
    """A revert of one token or statement of the first suspect, off the failing path, that passes too.

    A guard at the crash site (`float(cfg["timeout"])`) makes the error go, but the value that caused it
    is still wrong wherever else it is read; when undoing one small piece of the bisected commit (the
    default it turned into `"30"`) also makes the repro and the tests pass, that piece is the root cause
    and the better fix. The few smallest such reverts are tried; HEAD is put back after each."""
    for p in guard.texts:
        (root / p).write_text(head[p])
    looked = 0
    for cand in ordered:
        if not (cand.rank == 0 and not cand.on_path and not cand.drops_added
                and (cand.unit == "blend" or cand.unit in ("token", "statement") and _values_only(cand, head))):
            continue
        looked += 1
        if looked > ROOT_LOOK or result.test_runs + 3 > budget.max_test_runs or (
                time.monotonic() - t0 > budget.max_seconds):
            break
        verdict = _verdict(cand, root, repro, suite_ok, result)
        if verdict == "passes":
            result.attempts.append(f"{cand.description}: passes: the suspect's own change, preferred to "
                                   f"{guard.description}")
            return cand
        result.attempts.append(f"{cand.description}: {verdict} (root cause?)")
        for p in cand.texts:
            (root / p).write_text(head[p])
    return None


def repair(root: Path, *, repro: Repro | None, test_command: str, suspects: list[tuple[str, str | None]],
           sites: list[Site], shape: ErrorShape, message: str, budget: RepairBudget,
           progress: Callable[[str], None] | None = None, cancelled: Callable[[], bool] | None = None,
           baseline: TestCounts | None = None) -> RepairResult:
    """The smallest candidate that makes the repro pass and the suite pass twice; `baseline`, the suite's run at
    HEAD, when given lets a suite red at HEAD pass with no test failing that passed there (`agents.testrun`)."""
    t0 = time.monotonic()
    result = RepairResult()
    synthetic = repro is not None and repro.synthetic
    blamed: dict[str, set[int]] = {}

    def written(path: str) -> set[int]:
        if path not in blamed:
            blamed[path] = blamed_lines(root, path, suspects[0][0]) if suspects else set()
        return blamed[path]
    head, cands = gather(root, repro=repro, suspects=suspects, sites=sites, shape=shape, message=message,
                         written=written)
    ordered = _order(cands, head, sites)
    result.generated = len(ordered)
    try:
        args = TestCommand(test_command).argv()
    except TestCommandError as exc:
        result.reason = str(exc)
        return result

    def suite_ok() -> bool:  # green, or with a baseline red only where it was red at HEAD
        result.test_runs += 1
        run = run_heavy(args, root, timeout_s=budget.tests_timeout_s, max_output=50_000, env=test_env())
        return run.ok or holds(baseline, parse_test_counts(run))

    # a candidate that passes by deleting what the suspect added (the feature the commit was for may go
    # with it) is kept in reserve while the next candidates on the same lines are tried for one that passes
    # and keeps it: `n - 1 + 1 if closed else 0` regrouped, not cut to `n - 1`
    reserve: tuple[Candidate, set[tuple[str, int]]] | None = None
    # production's call returned a value before the regression: a patch that gives it back is preferred
    oracle = ValueOracle.before(root, repro, (suspects[0][1] or suspects[0][0] + "^") if suspects else None)
    differs: tuple[Candidate, str] | None = None  # the first patch that passed giving production's call another value
    # the parameters the suspect added that production's call passes: a patch after which the call returns the same
    # without them has dropped the feature for that call (review 24: a bill split evenly whatever its weights)
    switches = new_parameters(root, repro, *suspects[0]) if suspects else []
    # the report's None moved to the record's other text fields: a patch must not handle only the one it named
    siblings = SiblingCheck.before(root, repro, (suspects[0][1] or suspects[0][0] + "^") if suspects else None)
    ignoring: list[str] = []
    looked = after_differs = 0
    for cand in ordered:
        if differs is not None:
            after_differs += 1
            if after_differs > 2 * KEEP_LOOKING:
                break
        if reserve is not None:
            if not _touched(cand, head) & reserve[1] and cand.unit not in _FROM_THE_SUSPECT:
                continue  # elsewhere, only a repair read off the suspect's change may keep what it added
            looked += 1
            if looked > KEEP_LOOKING:
                break
        if (result.tried >= budget.max_candidates or result.test_runs >= budget.max_test_runs
                or time.monotonic() - t0 > budget.max_seconds or (cancelled and cancelled())):
            result.reason = (f"search budget spent: {result.tried} candidates, {result.test_runs} test runs, "
                             f"{time.monotonic() - t0:.0f} s")
            break
        try:
            verdict = _verdict(cand, root, repro, suite_ok, result)
            if verdict == "passes" and synthetic and cand.tier not in _GUARDS and not _at_the_root(cand, head, written):
                _withhold(result, cand)
                continue
            if verdict == "passes" and repro is not None and switches and (
                    ignored := ignored_keywords(root, repro, switches)):
                said = ", ".join(f"{n}=" for n in ignored)
                ignoring.append(f"{cand.description} (the call returns the same without {said})")
                result.attempts.append(f"{cand.description}: passes, but production's call returns the same without "
                                       f"{said}, the suspect's new parameter: it ignores the feature")
                continue
            if verdict == "passes" and siblings is not None and (still := siblings.still_failing(root)):
                ignoring.append(f"{cand.description} (still raises with {', '.join(still[:2])})")
                result.attempts.append(f"{cand.description}: passes, but the same value beside the reported one "
                                       f"still raises ({', '.join(still[:3])}): it handles only the report's case")
                continue
            if verdict == "passes":
                if cand.drops_added:  # the first in reserve; a later one is no better
                    if reserve is None:
                        reserve = (cand, _touched(cand, head))
                    result.attempts.append(f"{cand.description}: passes, but deletes what the suspect added: "
                                           "looking on for one that keeps it")
                    continue
                agreed, now = oracle.compare(root) if oracle is not None else (None, "")
                if oracle is not None and agreed is False:
                    if differs is None or (cand.unit in _UNDOS and differs[0].unit not in _UNDOS):
                        # an undo of one token or statement of the suspect that keeps what it added is the root
                        # before a template that handles the symptom (review 25: the `$` back in the rewritten
                        # regex, not its ValueError made the old refusal)
                        differs = (cand, now)
                        result.attempts.append(
                            f"{cand.description}: passes, but production's call no longer returns what it did "
                            f"before the regression ({oracle.shown}): looking on for one that gives it back")
                    continue
                if cand.tier in _GUARDS:
                    root_fix = _suspects_own_fix(ordered, cand, head, root, repro, suite_ok, result, budget, t0)
                    if root_fix is not None:
                        return _passed(result, root_fix, root, progress)
                    if synthetic and not _at_the_root(cand, head, written):
                        _withhold(result, cand)
                        continue
                    for p, t in cand.texts.items():  # the root search put HEAD back
                        (root / p).write_text(t)
                if agreed and oracle is not None:  # the regression test can assert what it returns
                    result.returned = oracle.literal
                return _passed(result, cand, root, progress)
            result.attempts.append(f"{cand.description}: {verdict}")
        finally:
            if result.candidate is not cand:
                for p in cand.texts:
                    if result.candidate is None or p not in result.candidate.texts:
                        (root / p).write_text(head[p])
    if reserve is not None:
        for p, t in reserve[0].texts.items():
            (root / p).write_text(t)
        agreed, now = oracle.compare(root) if oracle is not None else (None, "")
        if oracle is None or agreed is not False:
            if agreed and oracle is not None:
                result.returned = oracle.literal
            result.elapsed_s = time.monotonic() - t0
            return _passed(result, reserve[0], root, progress)
        # it deletes what the suspect added and changes the value too: a repair that keeps the addition is better
        result.reason = _value_changed_reason(oracle, reserve[0], now)
        for p in reserve[0].texts:
            (root / p).write_text(head[p])
    if differs is not None and oracle is not None:
        # none gave the value back. A patch read off the suspect's own change (an undo, its old raise) may differ
        # by the suspect's feature (decimal degrees now read): it is the fix, and says what changed. A template
        # that invents handling at the crash (a default, a coercion) and changes the value trades one wrong answer
        # for another (review 20: a swap check made to refuse every request, a deadline moved an hour): named,
        # not claimed
        cand, now = differs
        if cand.tier not in _GUARDS:
            for p, t in cand.texts.items():
                (root / p).write_text(t)
            result.value_changed = (f"{oracle.call} returned {oracle.shown} at the last good commit and returns "
                                    f"{now} with this fix")
            result.reason = ""
            result.elapsed_s = time.monotonic() - t0
            return _passed(result, cand, root, progress)
        result.reason = result.reason or _value_changed_reason(oracle, cand, now)
    if not result.reason and ignoring:
        result.reason = (f"the only patches that passed make production's call ignore what the suspect added, or "
                         f"handle only the report's case (not claimed): {'; '.join(ignoring[:3])}")
    if not result.reason and result.withheld:
        values = ("the report's values, which the function never accepted at any commit, so they would change "
                  "what it accepts, not what broke" if repro is not None and repro.never_passed else
                  "values production may not have had, so they may fix only that case")
        result.reason = (f"only patches at the crash site passed, and the repro is built from {values} (not claimed): "
                         f"{'; '.join(result.withheld[:3])}")
    if not result.reason:
        result.reason = (_red_reason(result, baseline, repro) if ordered and baseline is not None and not baseline.ok
                         else f"none of {result.tried} candidate patches made the repro and the tests pass"
                         + _nearest(result) if ordered else "no candidate patch could be generated")
    result.elapsed_s = time.monotonic() - t0
    return result
