"""A function the suspect made answer None where it computed a value before: the caller that crashes on
the None gets that value back, where it reads the result.

    found = replaced_values(root, sha, parent)       # [Replaced("geo/shape.py", "centroid", ["points"], ...)]
    cands = old_value_candidates(head, found, sites)  # `cx, cy = centroid(points)` ->
    #   value = centroid(points)
    #   if value is None:
    #       n = len(points)
    #       value = (sum(p[0] for p in points) / n, sum(p[1] for p in points) / n)
    #   cx, cy = value

A commit that teaches a function to say "no answer" (None for a degenerate shape, a missing record, an
empty window) removes the fallback it used to compute in that case. The None is the feature; the callers
it did not update crash on it. The fallback is read off the suspect's removed lines (a branch that
returned a value, with the assignments before its return), its parameters renamed to the caller's
arguments, and put at the crash line as what the caller uses when the function answers None.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from agents.oldraise import functions_of
from agents.repro import is_test_file
from agents.revert import Candidate, file_at
from agents.sourcetext import (
    called_name,
    import_from,
    indent_of,
    module_names,
    parsed,
    simple_statement_at,
    source_lines,
)
from agents.suspectdiff import git_lines
from agents.templates import Site

__all__ = ["Replaced", "old_value_candidates", "replaced_values"]

_IDENT = re.compile(r"(?<![.\w'\"])[A-Za-z_]\w*")  # a name, not an attribute: `p.points` keeps its `points`


@dataclass(frozen=True)
class Replaced:
    path: str
    function: str
    params: list[str]
    steps: list[str]  # the assignments the removed branch made before returning, as written
    value: str  # what it returned, as written


def _none_returned(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """It may answer None: `return None`, a bare `return`, or a lookup with no default (`d.get(k)`)."""
    def none(v: ast.expr | None) -> bool:
        return (v is None or isinstance(v, ast.Constant) and v.value is None
                or isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "get"
                and len(v.args) == 1 and not v.keywords)
    return any(isinstance(n, ast.Return) and none(n.value) for n in ast.walk(func))


def replaced_values(root: Path, sha: str, parent: str | None) -> list[Replaced]:
    """Each function that returns None at `sha` and not in its parent, with each branch of the parent's that
    returned a value and that `sha` removed."""
    out: list[Replaced] = []
    for path in git_lines(root, "diff", "--name-only", parent or sha + "^", sha):
        if not path.endswith(".py") or is_test_file(path):
            continue
        before, after = file_at(str(root), parent or sha + "^", path), file_at(str(root), sha, path)
        old, new = functions_of(before), functions_of(after)
        for name, func in old.items():
            if name not in new or not _none_returned(new[name]) or _none_returned(func):
                continue
            for branch in (n for n in ast.walk(func) if isinstance(n, ast.If)):
                *steps, last = branch.body
                text = ast.get_source_segment(before or "", branch) or ""
                if (isinstance(last, ast.Return) and last.value is not None and text not in (after or "")
                        and all(isinstance(s, ast.Assign) and s.lineno == s.end_lineno for s in steps)):
                    written = [ast.get_source_segment(before or "", s) or "" for s in [*steps, last.value]]
                    if all(written) and "\n" not in written[-1]:
                        out.append(Replaced(path, name, [a.arg for a in func.args.args], written[:-1], written[-1]))
    return out


def _fallback(found: Replaced, call: ast.Call) -> list[str] | None:
    """The branch's statements with the function's parameters renamed to the call's arguments."""
    names: dict[str, str] = {}
    for param, arg in zip(found.params, call.args, strict=False):
        if not isinstance(arg, ast.Name):
            return None
        names[param] = arg.id
    for kw in call.keywords:
        if kw.arg is None or not isinstance(kw.value, ast.Name):
            return None
        names[kw.arg] = kw.value.id
    code = [*found.steps, found.value]
    read = _read(code)
    if any(p in read and p not in names for p in found.params):
        return None  # the fallback reads a parameter the call leaves at its default
    return [_IDENT.sub(lambda m: names.get(m.group(), m.group()), c) for c in code]


def _read(code: list[str]) -> set[str]:
    return {n.id for c in code for n in ast.walk(ast.parse(c)) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def old_value_candidates(head: dict[str, str], found: list[Replaced], sites: list[Site]) -> list[Candidate]:
    """At each line of the failing path that calls a function in `found`: its old value when it answers None."""
    out: list[Candidate] = []
    for site in sites:
        text = head.get(site.path)
        tree = parsed(text)
        if text is None or tree is None:
            continue
        lines = source_lines(text)
        stmt = simple_statement_at(tree, lines, site.line)
        if not isinstance(stmt, (ast.Assign, ast.Return, ast.Expr)) or stmt.lineno != stmt.end_lineno:
            continue
        for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call)):
            for f in (f for f in found if f.function == called_name(call)):
                fallback = _fallback(f, call)
                if fallback is None:
                    continue
                used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
                tmp = next(n for n in ("value", f"{f.function}_value", f"{f.function}_result") if n not in used)
                line = lines[stmt.lineno - 1]
                ind = indent_of(line)
                segment = ast.get_source_segment(text, call) or ""
                new_line = line.replace(segment, tmp, 1)
                block = [f"{ind}{tmp} = {segment}\n", f"{ind}if {tmp} is None:\n"]
                block += [f"{ind}    {s}\n" for s in fallback[:-1]] + [f"{ind}    {tmp} = {fallback[-1]}\n"]
                patched = "".join(lines[:stmt.lineno - 1] + block + [new_line] + lines[stmt.lineno:])
                if f.path != site.path:  # the fallback's module-level names (`STANDARD`), imported where it goes
                    theirs = module_names(parsed(head.get(f.path)))
                    for name in sorted(_read(fallback) & theirs - module_names(tree)):
                        patched = import_from(patched, name, f.path, site.path)
                if parsed(patched) is None:
                    continue
                out.append(Candidate({site.path: patched}, "template:old_value",
                                     f"{f.function}() ({f.path}) answers None where it computed "
                                     f"`{fallback[-1][:80]}` before: that value at {site.path}:{site.line}",
                                     size=len(block)))
    return out
