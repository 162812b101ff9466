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
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.apichange import api_candidates, properties_made_methods
from agents.contracts import contract_candidates
from agents.forensics import EMPTY_TREE, function_spans
from agents.linecode import calls
from agents.literals import shifted_literal_candidates
from agents.olddefault import old_default_candidates, replaced_defaults
from agents.repro import ErrorShape, Repro, is_test_file, python_args, run_repro
from agents.revert import Candidate, partial_reverts, tokens
from agents.templates import Site, template_candidates
from agents.units import unit_candidates, unit_renames
from agents.workspace import run_command, run_heavy, test_env

__all__ = ["RepairBudget", "RepairResult", "repair", "sites_for", "renames_in", "key_renames_in", "index_keys_in"]


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


def _git_lines(root: Path, *args: str) -> list[str]:
    res = run_command(["git", *args], root, max_output=5_000_000)
    return res.output.splitlines() if res.ok else []


def _diff_lines(root: Path, commit: str, parent: str | None) -> list[str]:
    """`git diff -U0` of the commit against its parent (the empty tree for a root commit)."""
    return _git_lines(root, "diff", "-U0", "--no-color", parent or EMPTY_TREE, commit)


def _blamed_lines(root: Path, path: str, commit: str) -> set[int]:
    out: set[int] = set()
    for line in _git_lines(root, "blame", "-l", "-s", "HEAD", "--", path):
        sha, _, rest = line.partition(" ")
        num = rest.strip().split(")", 1)[0].split()[-1] if ")" in rest else rest.split()[0] if rest else ""
        if sha.lstrip("^") == commit and num.isdigit():
            out.add(int(num))
    return out


def sites_for(root: Path, frames: list[tuple[str, int, str]], suspect: str | None) -> list[Site]:
    """Failing-path sites at HEAD: the crash line, the callers' lines, then the suspect's lines in those
    functions and in the functions the crash line calls (a value computed there and returned, such as a
    count that is now 0, crashes the line that uses it: `total / self.leg_count()`)."""
    code = [(p, n, f) for p, n, f in frames if not is_test_file(p)]
    sites = [Site(p, n, f, 0 if i == len(code) - 1 else 1) for i, (p, n, f) in enumerate(code)]
    sites.reverse()
    if suspect:
        spans: list[tuple[str, int, int, str]] = []
        for p, n, f in code:
            text = (root / p).read_text(errors="replace") if (root / p).is_file() else ""
            span = next((s for s in function_spans(text) if s.start <= n <= s.end and s.qualname.endswith(f)), None)
            spans.append((p, *((span.start, span.end) if span else (n - 3, n + 3)), f))
        if code:
            spans += _callee_spans(root, code[-1], suspect)
        for p, lo, hi, f in spans:
            for k in sorted(_blamed_lines(root, p, suspect)):
                if lo <= k <= hi and not any(s.path == p and s.line == k for s in sites):
                    sites.append(Site(p, k, f, 2))
    return sites


def _callee_spans(root: Path, crash: tuple[str, int, str], suspect: str) -> list[tuple[str, int, int, str]]:
    """(path, first line, last line, name) of the functions the crash line calls that the suspect changed."""
    path, line, _ = crash
    text = (root / path).read_text(errors="replace") if (root / path).is_file() else ""
    lines = text.splitlines()
    called = {name.rsplit(".", 1)[-1] for name, *_ in calls(lines[line - 1])} if 0 < line <= len(lines) else set()
    out = []
    for p in _git_lines(root, "diff", "--name-only", suspect + "^", suspect):
        if p.endswith(".py") and not is_test_file(p) and called and (root / p).is_file():
            body = (root / p).read_text(errors="replace")
            out += [(p, s.start, s.end, s.qualname) for s in function_spans(body)
                    if s.qualname.rsplit(".", 1)[-1] in called]
    return out


def _replaced_tokens(root: Path, commit: str, parent: str | None) -> list[tuple[str, str]]:
    """(old, new) tokens the commit replaced one for one in a changed line (the most similar added line)."""
    out: list[tuple[str, str]] = []
    diff = _diff_lines(root, commit, parent)
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    for old in removed:
        best = max(added, key=lambda a: difflib.SequenceMatcher(None, old, a).ratio(), default=None)
        if best is None:
            continue
        to, tn = [t[0] for t in tokens(old)], [t[0] for t in tokens(best)]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, to, tn, autojunk=False).get_opcodes():
            if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
                out.append((to[i1], tn[j1]))
    return out


def _renamed(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for old, new in pairs:
        targets = out.setdefault(old, [])
        if new not in targets:
            targets.append(new)
    return out


def renames_in(root: Path, commit: str, parent: str | None) -> dict[str, list[str]]:
    """Identifiers the commit replaced one for one (old -> [new]): what a stale caller should now say."""
    pairs = _replaced_tokens(root, commit, parent)
    return _renamed([(o, n) for o, n in pairs if o.isidentifier() and n.isidentifier()])


def key_renames_in(root: Path, commit: str, parent: str | None) -> dict[str, list[str]]:
    """String keys the commit replaced one for one (`s["count"]` -> `s["orders"]`, unquoted), read hunk by
    hunk with quotes as tokens of their own (so keys inside f-strings count too): what a stale consumer of
    a dict the commit reshaped should now read."""
    diff = _diff_lines(root, commit, parent)
    hunks: list[tuple[list[str], list[str]]] = []
    for line in diff:
        if line.startswith("@@"):
            hunks.append(([], []))
        elif hunks and line.startswith("-") and not line.startswith("---"):
            hunks[-1][0].append(line[1:])
        elif hunks and line.startswith("+") and not line.startswith("+++"):
            hunks[-1][1].append(line[1:])
    word = re.compile(r"[A-Za-z_][\w.-]*|\S")
    pairs = []
    chunks = [("\n".join(removed), "\n".join(added)) for removed, added in hunks]  # a block rewritten as a whole
    for removed, added in hunks:  # and each removed line with its most similar added line
        for old in removed:
            best = max(added, key=lambda a, o=old: difflib.SequenceMatcher(None, o, a).ratio(), default=None)
            if best is not None:
                chunks.append((old, best))
    for before, after in chunks:
        to, tn = word.findall(before), word.findall(after)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, to, tn, autojunk=False).get_opcodes():
            if (tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1 and i1 > 0 and i2 < len(to) and j1 > 0
                    and j2 < len(tn) and to[i1 - 1] == to[i2] == tn[j1 - 1] == tn[j2] and to[i2] in "'\""
                    and to[i1][0].isalpha() and tn[j1][0].isalpha()):
                pairs.append((to[i1], tn[j1]))
    return _renamed(pairs)


def index_keys_in(root: Path, commit: str, parent: str | None) -> dict[int, str]:
    """Tuple positions the commit turned into dict keys: a removed `return a, b` and an added
    `return {"x": a, "y": ..., "z": b}` (values matched by their text) give {0: "x", 1: "z"}; a caller
    still indexing by position (`parts[1]`) then raises KeyError: 1."""
    diff = _diff_lines(root, commit, parent)
    squash = functools.partial(re.sub, r"\s+", "")
    tuples = [m.group(1) for line in diff if line.startswith("-") and not line.startswith("---")
              and (m := re.match(r"^-\s*return\s+\(?(.+?,.+?)\)?\s*$", line))]
    dicts = [m.group(1) for line in diff if line.startswith("+") and not line.startswith("+++")
             and (m := re.match(r"^\+\s*return\s+\{(.+)\}\s*$", line))]
    out: dict[int, str] = {}
    for items in dicts:
        values = {squash(v): k for k, v in re.findall(r"""["'](\w+)["']\s*:\s*([^,]+(?:\([^()]*\))?)""", items)}
        for old in tuples:
            for i, part in enumerate(_split_top(old)):
                if squash(part) in values:
                    out.setdefault(i, values[squash(part)])
    return out


def _split_top(text: str) -> list[str]:
    """`a, f(b, c), d[1]` -> its top-level comma-separated parts."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k].strip())
            start = k + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def removed_handlers(root: Path, commit: str, parent: str | None) -> list[tuple[str, list[str]]]:
    """`except` blocks the commit deleted: (exception, body lines dedented), to restore around a crash.

    The `except` line comes from the diff; its body from the parent's file (the block under it, by
    indentation): a body line the new code happens to keep (`return default` under a new `if`) is not
    in the diff's removed lines, yet it was the handler's."""
    out: list[tuple[str, list[str]]] = []
    lines = _diff_lines(root, commit, parent)
    path, old_line, old_texts = "", 0, {}
    for line in lines:
        if line.startswith("--- "):
            path = line[6:] if line.startswith("--- a/") else ""
            continue
        hunk = re.match(r"^@@ -(\d+)(?:,\d+)? \+", line)
        if hunk:
            old_line = int(hunk.group(1))
            continue
        if not line.startswith("-") or line.startswith("---"):
            continue
        at, old_line = old_line, old_line + 1
        m = re.match(r"^-(\s*)except\s+\(?([\w., ]+?)\)?(?:\s+as\s+\w+)?\s*:\s*$", line)
        if not m or not path or parent is None:
            continue
        if path not in old_texts:
            old_texts[path] = _git_lines(root, "show", f"{parent}:{path}")
        indent, body, first = len(m.group(1)), [], 0
        for nxt in old_texts[path][at:]:  # the lines after the `except` line (1-based `at`)
            depth = len(nxt) - len(nxt.lstrip())
            if not nxt.strip():
                continue
            if depth <= indent:
                break
            first = first or depth
            body.append(nxt[min(first, depth):].rstrip())  # nested blocks keep their relative indent
        if body:
            out.append((m.group(2).strip(), body))
    return out


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
                               "template:tuple_to_dict", "template:unit", "template:api_change",
                               "template:old_default", "template:data_paths", "template:passthrough"})


def _order(cands: list[Candidate], head: dict[str, str], sites: list[Site]) -> list[Candidate]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for s in sites:
        text = head.get(s.path, "")
        span = next((x for x in function_spans(text) if x.start <= s.line <= x.end), None)
        spans.setdefault(s.path, []).append((span.start, span.end) if span else (s.line - 2, s.line + 2))
    for c in cands:
        touched = {(p, n) for p, t in c.texts.items() for n in _changed_head_lines(head.get(p, ""), t)}
        c.on_path = any(lo <= n <= hi for p, n in touched for lo, hi in spans.get(p, []))
        if c.unit in ("token", "statement", "hunk"):
            c.tier = (0 if c.unit in ("token", "statement") else 1) if c.on_path else 4
            c.tier += 10 * c.rank  # later suspects after the first one's
        elif c.unit == "file":
            c.tier = 6
        elif c.unit in _FROM_THE_SUSPECT:  # templates built from what the suspect changed: as its own hunks
            c.tier = 1
        else:  # templates: crash line 2, callers 3, suspect's lines on the path 5
            c.tier = {0: 2, 1: 3}.get(c.tier, 5)
    unique: dict[Any, Candidate] = {}
    for c in sorted(cands, key=lambda c: (c.tier, c.size)):
        if any(head.get(p) == t for p, t in c.texts.items()):
            continue
        unique.setdefault(c.key, c)
    return list(unique.values())


KEEP_LOOKING = 15  # candidates on the same lines tried after one that passes by deleting the suspect's additions


def _touched(cand: Candidate, head: dict[str, str]) -> set[tuple[str, int]]:
    return {(p, n) for p, t in cand.texts.items() for n in _changed_head_lines(head.get(p, ""), t)}


def _passed(result: RepairResult, cand: Candidate, root: Path, progress: Callable[[str], None] | None) -> RepairResult:
    result.candidate = cand
    result.attempts.append(f"{cand.description}: passes")
    if progress:
        progress(f"candidate {result.tried} passes: {cand.description}")
    return result


def repair(root: Path, *, repro: Repro | None, test_command: str, suspects: list[tuple[str, str | None]],
           sites: list[Site], shape: ErrorShape, message: str, budget: RepairBudget,
           progress: Callable[[str], None] | None = None, cancelled: Callable[[], bool] | None = None,
           ) -> RepairResult:
    t0 = time.monotonic()
    result = RepairResult()
    files: set[str] = {s.path for s in sites}
    for sha, parent in suspects:
        files.update(p for p in _git_lines(root, "diff", "--name-only", parent or sha + "^", sha)
                     if p.endswith(".py") and not is_test_file(p) and (root / p).is_file())
    head = {p: (root / p).read_text(errors="replace") for p in sorted(files) if (root / p).is_file()}
    cands: list[Candidate] = []
    renames: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    positions: dict[int, str] = {}
    handlers: list[tuple[str, list[str]]] = []
    defaults: list[tuple[str, str, str]] = []
    for k, (sha, parent) in enumerate(suspects):
        paths = [p for p in _git_lines(root, "diff", "--name-only", parent or sha + "^", sha) if p in head]
        for c in partial_reverts(str(root), sha, parent, paths, head):
            c.rank = k
            cands.append(c)
        for old, new in renames_in(root, sha, parent).items():
            renames.setdefault(old, []).extend(n for n in new if n not in renames.get(old, []))
        for i, key in index_keys_in(root, sha, parent).items():
            positions.setdefault(i, key)
        for old, new in key_renames_in(root, sha, parent).items():
            keys.setdefault(old, []).extend(n for n in new if n not in keys.get(old, []))
        handlers += removed_handlers(root, sha, parent)
        for c in shifted_literal_candidates(head, {p: _blamed_lines(root, p, sha) for p in paths}):
            c.rank = k
            cands.append(c)
        if "NoneType" in message:  # a None where the suspect replaced a literal default
            defaults += replaced_defaults(root, sha, parent)
    cands += old_default_candidates(head, defaults)
    cands += unit_candidates(head, unit_renames({**keys, **renames}))
    made = set().union(*(properties_made_methods(root, sha, parent, list(head)) for sha, parent in suspects))
    cands += api_candidates(shape, message, sites, head, made)
    cands += contract_candidates(root, shape, message, sites, head, suspects)
    cands += template_candidates(shape, message, sites, head, renames, handlers=handlers, keys=keys,
                                 positions=positions)
    for cand in cands:  # contract repairs may touch files off the failing path: restored from HEAD too
        for p in cand.texts:
            if p not in head and (root / p).is_file():
                head[p] = (root / p).read_text(errors="replace")
    ordered = _order(cands, head, sites)
    result.generated = len(ordered)
    try:
        args = python_args(test_command)
    except ValueError as exc:
        result.reason = f"cannot parse the test command: {exc}"
        return result

    def suite_ok() -> bool:
        result.test_runs += 1
        return run_heavy(args, root, timeout_s=budget.tests_timeout_s, max_output=50_000, env=test_env()).ok

    # a candidate that passes by deleting what the suspect added (the feature the commit was for may go
    # with it) is kept in reserve while the next candidates on the same lines are tried for one that passes
    # and keeps it: `n - 1 + 1 if closed else 0` regrouped, not cut to `n - 1`
    reserve: tuple[Candidate, set[tuple[str, int]]] | None = None
    looked = 0
    for cand in ordered:
        if reserve is not None:
            if not _touched(cand, head) & reserve[1]:
                continue
            looked += 1
            if looked > KEEP_LOOKING:
                break
        if (result.tried >= budget.max_candidates or result.test_runs >= budget.max_test_runs
                or time.monotonic() - t0 > budget.max_seconds or (cancelled and cancelled())):
            result.reason = (f"search budget spent: {result.tried} candidates, {result.test_runs} test runs, "
                             f"{time.monotonic() - t0:.0f} s")
            break
        result.tried += 1
        for p, t in cand.texts.items():
            (root / p).write_text(t)
        try:
            if repro is not None and repro.kind != "none":
                result.test_runs += 1
                outcome = run_repro(root, repro)
                if outcome != "good":
                    result.attempts.append(f"{cand.description}: repro {outcome}")
                    continue
            if suite_ok() and suite_ok():
                if cand.drops_added:  # the first in reserve; a later one is no better
                    if reserve is None:
                        reserve = (cand, _touched(cand, head))
                    result.attempts.append(f"{cand.description}: passes, but deletes what the suspect added: "
                                           "looking on for one that keeps it")
                    continue
                return _passed(result, cand, root, progress)
            result.attempts.append(f"{cand.description}: tests fail")
        finally:
            if result.candidate is not cand:
                for p in cand.texts:
                    (root / p).write_text(head[p])
    if reserve is not None:
        for p, t in reserve[0].texts.items():
            (root / p).write_text(t)
        result.elapsed_s = time.monotonic() - t0
        return _passed(result, reserve[0], root, progress)
    if not result.reason:
        result.reason = (f"none of {result.tried} candidate patches made the repro and the tests pass"
                         if ordered else "no candidate patch could be generated")
    result.elapsed_s = time.monotonic() - t0
    return result
