"""The failing path's sites at HEAD: the lines repair templates apply to, and how near the crash each is.

    sites = sites_for(root, [(path, line, function), ...], suspect)   # frames outermost first
    [s for s in sites if s.tier == 0]     # the crash line; 1: callers' lines; 2: the suspect's lines on the path

Beside the frames' own lines, the suspect's lines in those functions, in the functions the crash line calls
(a value computed there crashes the line that uses it) and the lines that set an attribute the crash line
reads are sites too.
"""

from __future__ import annotations

import re
from pathlib import Path

from agents.candidates import blamed_lines
from agents.forensics import function_spans
from agents.linecode import calls
from agents.repro import is_test_file
from agents.suspectdiff import git_lines
from agents.templates import Site

__all__ = ["sites_for"]


def sites_for(root: Path, frames: list[tuple[str, int, str]], suspect: str | None) -> list[Site]:
    """Failing-path sites at HEAD: the crash line, the callers' lines, then the suspect's lines in those
    functions and in the functions the crash line calls (a value computed there and returned, such as a
    count that is now 0, crashes the line that uses it: `total / self.leg_count()`), and last (tier 3) in
    the functions the callers called before (off the path: their templates only, after the path's)."""
    code = [(p, n, f) for p, n, f in frames if not is_test_file(p)]
    sites = [Site(p, n, f, 0 if i == len(code) - 1 else 1) for i, (p, n, f) in enumerate(code)]
    sites.reverse()
    if suspect:
        spans: list[tuple[str, int, int, str]] = []
        for p, n, f in code:
            text = (root / p).read_text(errors="replace") if (root / p).is_file() else ""
            span = next((s for s in function_spans(text) if s.start <= n <= s.end and s.qualname.endswith(f)), None)
            spans.append((p, *((span.start, span.end) if span else (n - 3, n + 3)), f))
        ran = [(p, lo, n) for (p, n, _), (_, lo, _, _) in zip(code, spans, strict=True)]
        crash = [(p, n, n) for p, _, n in ran[-1:]]
        spans = [(*span, 2) for span in spans + _callee_spans(root, crash, suspect)]
        spans += [(*span, 3) for span in _callee_spans(root, ran, suspect)]
        for p, lo, hi, f, tier in spans:
            for k in sorted(blamed_lines(root, p, suspect)):
                if lo <= k <= hi and not any(s.path == p and s.line == k for s in sites):
                    sites.append(Site(p, k, f, tier))
        if code:
            sites += [s for s in _attribute_sites(root, code[-1], suspect)
                      if not any(t.path == s.path and t.line == s.line for t in sites)]
    return sites


def _attribute_sites(root: Path, crash: tuple[str, int, str], suspect: str) -> list[Site]:
    """The suspect's lines in the crash file that set an attribute the crash line reads (`self.counts = [0]
    * len(self.bounds)` sized in `__init__`, indexed in `observe`): the value crashes where it is read."""
    path, line, func = crash
    text = (root / path).read_text(errors="replace") if (root / path).is_file() else ""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return []
    read = set(re.findall(r"\bself\.(\w+)", lines[line - 1]))
    out = []
    for k in sorted(blamed_lines(root, path, suspect)):
        m = re.match(r"\s*self\.(\w+)\s*(?:[-+*/]?=)(?!=)", lines[k - 1]) if 0 < k <= len(lines) else None
        if m and m.group(1) in read and k != line:
            out.append(Site(path, k, func, 2))
    return out


def _callee_spans(root: Path, ran: list[tuple[str, int, int]], suspect: str) -> list[tuple[str, int, int, str]]:
    """(path, first line, last line, name) of the functions the suspect changed that the failing path called:
    from the lines each of its functions ran up to its frame's line (`ran`: path, first line, frame's line). A
    value such a function returned crashed later (`shares = split_weighted(...)` of floats, then `fmt(c)`)."""
    called: set[str] = set()
    for path, lo, line in ran:
        text = (root / path).read_text(errors="replace") if (root / path).is_file() else ""
        lines = text.splitlines()
        for k in range(max(lo, 1), min(line, len(lines)) + 1):
            called |= {name.rsplit(".", 1)[-1] for name, *_ in calls(lines[k - 1])}
    out = []
    for p in git_lines(root, "diff", "--name-only", suspect + "^", suspect):
        if p.endswith(".py") and not is_test_file(p) and called and (root / p).is_file():
            body = (root / p).read_text(errors="replace")
            out += [(p, s.start, s.end, s.qualname) for s in function_spans(body)
                    if s.qualname.rsplit(".", 1)[-1] in called]
    return out
