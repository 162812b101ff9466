"""Where a report points and where a change lands, by function: with no repro, the one tie between a
change that turns the suite green and the reported error.

    outside = off_the_report(root, report, frames, cand.texts, files)   # "": it edits what the report names
    # e.g. "apply_discount() of shop/pricing.py" for a report at shop/pricing.py:13, in order_total()

A report names functions: its stack's frames, `context.function`, the functions around `context.line` in
`context.file`. A change that only edits other functions of those files fixes another failure (a red test
of another bug in the same module). Lines outside any function (a constant, an import) count as the
file's own, and a file the report names no function of counts whole, as before.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import subprocess
from collections.abc import Callable
from pathlib import Path

from agents.repro import repo_path
from swarm.models import ErrorReport

__all__ = ["off_the_report", "function_node_at"]


def function_node_at(text: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost function holding `line` of `text` (None: module level, or unparsable)."""
    try:
        inside = _around(ast.parse(text), line)
    except (SyntaxError, ValueError):
        return None
    return max(inside, key=lambda n: n.lineno) if inside else None


def _head_text(root: Path, path: str) -> str | None:
    done = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{path}"], capture_output=True, text=True,
                          check=False)
    return done.stdout if done.returncode == 0 else None


def _named(report: ErrorReport, frames: list[tuple[str, int, str]], context_file: str | None,
           head: Callable[[str], str | None]) -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for path, _, function in frames:
        if path and function and function != "<module>":
            named.setdefault(path, set()).add(function)
    ctx = report.context
    if context_file:  # in the repository
        if ctx.function:
            named.setdefault(context_file, set()).add(ctx.function.rsplit(".", 1)[-1])
        elif ctx.line and (text := head(context_file)) is not None:
            with contextlib.suppress(SyntaxError, ValueError):  # every function around the line, nested ones too
                named.setdefault(context_file, set()).update(n.name for n in _around(ast.parse(text), ctx.line))
    return named


def _edited(old: str, new: str) -> set[str | None]:
    """The functions (None: module level) of `old` whose lines `new` changes, inserts into or deletes; a line
    of a nested function counts for the functions around it too."""
    try:
        tree = ast.parse(old)
    except (SyntaxError, ValueError):
        return {None}
    a, b = old.splitlines(), new.splitlines()
    out: set[str | None] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":  # an insertion lands between lines i1 and i1 + 1
            for line in range(i1 + 1, max(i2, i1 + 1) + 1):
                out.update({n.name for n in _around(tree, line)} or {None})
    return out


def _around(tree: ast.Module, line: int) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function of `tree` holding `line`, nested ones and those around them."""
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.lineno <= line <= (n.end_lineno or n.lineno)]


def off_the_report(root: Path, report: ErrorReport, frames: list[tuple[str, int, str]], texts: dict[str, str],
                   files: set[str]) -> str:
    """What a change edits in `files` (the report's files) outside the functions the report names: "" when
    it edits one of those functions, lines of such a file outside any function, or a file the report names
    no function of."""
    heads: dict[str, str | None] = {}

    def head(path: str) -> str | None:  # each file read from HEAD once
        if path not in heads:
            heads[path] = _head_text(root, path)
        return heads[path]

    context_file = repo_path(root, report.context.file) if report.context.file else None
    named = _named(report, frames, context_file, head)
    outside: list[str] = []
    for path, new in sorted(texts.items()):
        if path not in files:
            continue
        if path not in named or (old := head(path)) is None:
            return ""
        edited = _edited(old, new)
        if None in edited or edited & named[path]:
            return ""
        outside += [f"{fn}() of {path}" for fn in sorted(f for f in edited if f)]
    return ", ".join(outside)
