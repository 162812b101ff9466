"""Forensics over a worktree: stack trace -> regions on the failing path -> ranked suspect commits.

    regions = failing_path(ws, report)              # crash function, callers in the trace, callees of the line
    history = History(ws)
    suspects = history.rank(regions)                # [Suspect(commit, score, reasons, hunks)], best first

A region is one function (its line span at HEAD). A commit is a suspect for a region when its diff has hunks
inside that function as the commit left it. This ranking is the fallback when no repro exists (agents/repro.py);
undoing parts of a suspect lives in agents/revert.py.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.pickaxe import named_commits
from agents.repro import repo_path
from agents.workspace import Workspace, WorkspaceError, run_command
from swarm.models import ErrorReport

__all__ = [
    "Frame",
    "Region",
    "Hunk",
    "Suspect",
    "History",
    "parse_traceback",
    "failing_path",
    "function_spans",
]

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?', re.M)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)
WEIGHTS = {"crash": 1.0, "caller": 0.8, "callee": 0.7}
NAMED_GAIN = 6.0  # a commit that changed a name the error quotes: above a blamed crash-line commit (3.5 x 1.25)


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str = ""


@dataclass(frozen=True)
class Span:
    qualname: str
    start: int
    end: int


@dataclass
class Region:
    path: str
    qualname: str | None  # None: module-level code, a window around `focus_line`
    start: int
    end: int
    kind: str  # crash | caller | callee
    weight: float
    focus_line: int | None = None

    def label(self) -> str:
        return f"{self.path}:{self.qualname or self.start}"


@dataclass
class Hunk:
    file: str
    function: str | None
    old_start: int
    old_len: int
    new_start: int
    new_len: int

    @property
    def changed(self) -> int:
        return max(self.old_len, self.new_len)


@dataclass
class Suspect:
    commit: str
    parent: str | None
    subject: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)
    created: bool = False  # the commit created the function (nothing to revert to)

    def hunks_in(self, path: str) -> list[Hunk]:
        return [h for h in self.hunks if h.file == path]

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "parent": self.parent,
            "subject": self.subject,
            "score": round(self.score, 4),
            "reason": "; ".join(self.reasons),
            "hunks": [asdict(h) for h in self.hunks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suspect:
        return cls(
            commit=str(data["commit"]),
            parent=data.get("parent"),
            subject=str(data.get("subject", "")),
            score=float(data.get("score", 0.0)),
            reasons=[str(data["reason"])] if data.get("reason") else [],
            hunks=[Hunk(**h) for h in data.get("hunks") or [] if isinstance(h, dict) and "file" in h],
        )


# -- stack traces ------------------------------------------------------------------------------------
def parse_traceback(stack: str) -> list[Frame]:
    """Frames of the last traceback in `stack`, outermost first (chained exceptions: the final one)."""
    last = stack.rsplit("Traceback (most recent call last):", 1)[-1]
    return [Frame(m["file"], int(m["line"]), m["func"] or "") for m in _FRAME.finditer(last)]


def _in_repo(ws: Workspace, file: str) -> str | None:
    """The worktree path of a traceback file (agents.repro.repo_path: confined to the worktree)."""
    return repo_path(ws.root, file)


def function_spans(source: str) -> list[Span]:
    """Every function and method with its qualified name and line span (decorators included)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    spans: list[Span] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    spans.append(Span(name, start, child.end_lineno or child.lineno))
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return spans


def _enclosing(source: str, line: int) -> Span | None:
    inside = [s for s in function_spans(source) if s.start <= line <= s.end]
    return min(inside, key=lambda s: s.end - s.start) if inside else None


def _span_of(source: str | None, qualname: str) -> tuple[int, int] | None:
    if source is None:
        return None
    for s in function_spans(source):
        if s.qualname == qualname:
            return s.start, s.end
    return None


def _called_names(source: str, line: int) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno <= line <= (node.end_lineno or node.lineno):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            if name and name not in names:
                names.append(name)
    return names


def _region(ws: Workspace, path: str, line: int, kind: str, weight: float) -> Region:
    source = ws.resolve(path).read_text(errors="replace")
    span = _enclosing(source, line)
    if span is None:
        return Region(path, None, max(1, line - 3), line + 3, kind, weight, line)
    return Region(path, span.qualname, span.start, span.end, kind, weight, line)


def failing_path(ws: Workspace, report: ErrorReport, max_callees: int = 6) -> list[Region]:
    """Regions on the failing path: the innermost repo frame, its callers in the trace, what its line calls and
    what its callers' lines call besides the stack's own functions."""
    frames = [(p, f.line) for f in parse_traceback(report.stack) if (p := _in_repo(ws, f.file))]
    if not frames and report.context.file and report.context.line:
        path = _in_repo(ws, report.context.file)
        frames = [(path, report.context.line)] if path else []
    if not frames:
        return []
    crash_path, crash_line = frames[-1]
    regions = [_region(ws, crash_path, crash_line, "crash", WEIGHTS["crash"])]
    for distance, (path, line) in enumerate(reversed(frames[:-1]), 1):
        regions.append(_region(ws, path, line, "caller", WEIGHTS["caller"] / distance))
    # what the crash line calls, then what the callers' lines call besides the next frame (a value handed down
    # the stack was made there: `due_targets(load_targets(text), ...)` parsed the interval that crashes)
    weights = {n: WEIGHTS["callee"] for n in _called_names(ws.resolve(crash_path).read_text(errors="replace"),
                                                            crash_line)}
    on_stack = {f.function for f in parse_traceback(report.stack)}
    for distance, (path, line) in enumerate(reversed(frames[:-1]), 1):
        text = ws.resolve(path).read_text(errors="replace") if ws.resolve(path).is_file() else ""
        for n in set(_called_names(text, line)) - on_stack:
            weights.setdefault(n, WEIGHTS["callee"] * 0.8 / distance)
    if weights:
        for path in ws.git("ls-files", "-z", "--", "*.py").split("\0"):
            if not path or len([r for r in regions if r.kind == "callee"]) >= max_callees:
                continue
            source = ws.resolve(path).read_text(errors="replace") if ws.resolve(path).is_file() else ""
            for span in function_spans(source):
                if (w := weights.get(span.qualname.rsplit(".", 1)[-1])) is not None:
                    regions.append(Region(path, span.qualname, span.start, span.end, "callee", w))
    unique: dict[tuple[str, str | None, int], Region] = {}
    for r in regions:
        key = (r.path, r.qualname, r.start if r.qualname is None else 0)
        if key not in unique or unique[key].weight < r.weight:
            unique[key] = r
    return list(unique.values())


def _clip(h: Hunk, span: tuple[int, int], before: tuple[int, int] | None) -> Hunk | None:
    """Keep only the part of a hunk inside the function: new lines within its span in the commit, old lines
    within its span in the parent (a hunk that also adds the next function must not lose that function)."""
    lo, hi = span
    new_start, new_len = h.new_start, h.new_len
    if new_len:
        first, last = max(h.new_start, lo), min(h.new_start + h.new_len - 1, hi)
        new_start, new_len = (first, last - first + 1) if last >= first else (min(max(h.new_start - 1, lo), hi), 0)
    old_start, old_len = h.old_start, h.old_len
    if old_len and before is not None:
        first, last = max(h.old_start, before[0]), min(h.old_start + h.old_len - 1, before[1])
        old_start, old_len = (first, last - first + 1) if last >= first else (first, 0)
    if not new_len and not old_len:
        return None
    return Hunk(h.file, h.function, old_start, old_len, new_start, new_len)


# -- history -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Commit:
    sha: str
    parent: str | None
    subject: str
    time: int


class History:
    """Git history of a worktree's files at HEAD, with caches (one instance per investigation step)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._log: dict[str, list[_Commit]] = {}
        self._files: dict[tuple[str, str], str | None] = {}
        self._hunks: dict[tuple[str, str], list[tuple[int, int, int, int]]] = {}

    def commits(self, path: str) -> list[_Commit]:
        if path not in self._log:
            out = self.ws.git("log", "--format=%H%x1f%P%x1f%at%x1f%s", "--", path)
            rows = []
            for line in out.splitlines():
                sha, parents, ts, subject = (line.split("\x1f") + ["", "", ""])[:4]
                rows.append(_Commit(sha, parents.split()[0] if parents.split() else None, subject, int(ts or 0)))
            self._log[path] = rows
        return self._log[path]

    def file_at(self, sha: str | None, path: str) -> str | None:
        if sha is None:
            return None
        if (sha, path) not in self._files:
            res = run_command(["git", "show", f"{sha}:{path}"], self.ws.root, max_output=5_000_000)
            self._files[(sha, path)] = res.output if res.ok else None
        return self._files[(sha, path)]

    def raw_hunks(self, commit: _Commit, path: str) -> list[tuple[int, int, int, int]]:
        key = (commit.sha, path)
        if key not in self._hunks:
            diff = self.ws.git("diff", "-U0", "--no-color", commit.parent or EMPTY_TREE, commit.sha, "--", path)
            self._hunks[key] = [
                (int(m[1]), int(m[2] if m[2] is not None else 1), int(m[3]), int(m[4] if m[4] is not None else 1))
                for m in _HUNK.finditer(diff)
            ]
        return self._hunks[key]

    def blame_line(self, path: str, line: int) -> str | None:
        res = run_command(["git", "blame", "--porcelain", "-L", f"{line},{line}", "HEAD", "--", path], self.ws.root)
        return res.output.split(" ", 1)[0] if res.ok and res.output else None

    def region_hunks(self, commit: _Commit, region: Region) -> tuple[list[Hunk], bool]:
        """Hunks of `commit` inside the region's function as the commit left it; and whether it created it."""
        after = self.file_at(commit.sha, region.path)
        if region.qualname is None:
            span = (region.start, region.end) if commit.sha == self.commits(region.path)[0].sha else None
            created = False
        else:
            span = _span_of(after, region.qualname)
            created = span is not None and _span_of(self.file_at(commit.parent, region.path), region.qualname) is None
        if span is None:
            return [], False
        lo, hi = span
        before = None
        if region.qualname is not None and not created:
            before = _span_of(self.file_at(commit.parent, region.path), region.qualname)
        hunks = []
        for old_start, old_len, new_start, new_len in self.raw_hunks(commit, region.path):
            inside = (new_start <= hi and new_start + new_len - 1 >= lo) if new_len else lo <= new_start <= hi
            if inside:
                hunk = _clip(Hunk(region.path, region.qualname, old_start, old_len, new_start, new_len), span, before)
                if hunk is not None:
                    hunks.append(hunk)
        return hunks, created

    def rank(self, regions: list[Region], exclude: set[str] | frozenset[str] = frozenset(),
             message: str = "", origin: bool = False) -> list[Suspect]:
        """Suspect commits for the regions, best first (score: where, how much, the failing line, recency; a
        commit that added or removed a name the error `message` quotes, agents.pickaxe). `origin`: the report's
        values failed the stack's own functions at every commit, so the commits that wrote those functions or
        their failing lines name no cause; what changed where the values were made (callees) still counts."""
        suspects: dict[str, Suspect] = {}
        times: dict[str, int] = {}
        for sha, term, weight in named_commits(self.ws, message, exclude) if message else []:
            head = self.ws.git("show", "-s", "--format=%P%x1f%at%x1f%s", sha).strip().split("\x1f")
            parents, ts, subject = (head + ["", "", ""])[:3]
            sus = suspects.setdefault(sha, Suspect(sha, parents.split()[0] if parents.split() else None, subject))
            times[sha] = int(ts or 0)
            sus.score += NAMED_GAIN * weight
            sus.reasons.append(f"changed how often {term!r}, which the error names, appears in the code")
        for region in regions:
            blamed = self.blame_line(region.path, region.focus_line) if region.focus_line else None
            for commit in self.commits(region.path):
                if commit.sha in exclude:
                    continue
                hunks, created = self.region_hunks(commit, region)
                if not hunks or (origin and created and region.kind in ("crash", "caller")):
                    continue
                sus = suspects.setdefault(commit.sha, Suspect(commit.sha, commit.parent, commit.subject))
                times[commit.sha] = commit.time
                changed = sum(h.changed for h in hunks)
                gain = region.weight * (1.0 + min(changed, 8) / 8)
                what = f"changed {region.qualname or 'code'}() in {region.path} ({region.kind}, {changed} lines)"
                if created:
                    gain *= 0.15
                    what = f"created {region.qualname}() in {region.path} ({region.kind})"
                    sus.created = True
                if blamed == commit.sha and not (origin and region.kind in ("crash", "caller")):
                    gain += region.weight * 1.5
                    what += f", last changed the failing line {region.path}:{region.focus_line}"
                sus.score += gain
                sus.reasons.append(what)
                sus.hunks.extend(h for h in hunks if h not in sus.hunks)
        if times:
            lo, hi = min(times.values()), max(times.values())
            order = sorted(times, key=lambda s: times[s])
            for rank_, sha in enumerate(order):
                recency = (times[sha] - lo) / (hi - lo) if hi > lo else rank_ / max(len(order) - 1, 1)
                suspects[sha].score *= 1.0 + 0.25 * recency
        return sorted(suspects.values(), key=lambda s: (-s.score, -times.get(s.commit, 0)))

    def describe(self, sha: str) -> str:
        try:
            return self.ws.git("show", "-s", "--format=%h %s (%an, %ad)", "--date=short", sha).strip()
        except WorkspaceError:
            return sha[:12]
