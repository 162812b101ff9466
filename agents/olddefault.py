"""A literal default the suspect replaced with a computed value: the old literal as its fallback.

    found = replaced_defaults(root, sha, parent)          # [("catalog/settings.py", "page_size", "20"), ...]
    cands = old_default_candidates(head_texts, found)     # `... _env_int("PAGE_SIZE") or 20` etc.

A common regression: a setting that was `page_size: int = 20` becomes "read from the environment"
(`field(default_factory=lambda: _env_int("PAGE_SIZE"))`, `os.environ.get(...)`, a loader call), and the
new code gives None where the old literal was always a value. The parent's and the suspect's syntax trees
are compared (module and class level assignments, by target name), so a reformat or a moved line does not
hide the change; the candidate keeps the new source of the value and falls back to the old literal.
"""

from __future__ import annotations

import ast
from pathlib import Path

from agents.revert import Candidate, file_at
from agents.workspace import run_command

__all__ = ["replaced_defaults", "old_default_candidates"]


def _assignments(text: str) -> dict[str, ast.expr]:
    """Target name -> value of the single-name assignments at module level and in class bodies."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out: dict[str, ast.expr] = {}
    bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for body in bodies:
        for stmt in body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                out[stmt.targets[0].id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                out[stmt.target.id] = stmt.value
    return out


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False


def replaced_defaults(root: Path, sha: str, parent: str | None) -> list[tuple[str, str, str]]:
    """(path, name, old literal source) for each literal assignment the suspect made a computed value."""
    names = run_command(["git", "diff", "--name-only", parent or f"{sha}^", sha], root).output.split()
    out = []
    for path in (p for p in names if p.endswith(".py")):
        before, after = file_at(str(root), parent or f"{sha}^", path), file_at(str(root), sha, path)
        if before is None or after is None:
            continue
        old, new = _assignments(before), _assignments(after)
        for name, value in old.items():
            if name in new and _literal(value) and not _literal(new[name]):
                out.append((path, name, ast.get_source_segment(before, value) or ""))
    return [f for f in out if f[2]]


def _with_fallback(text: str, value: ast.expr, old: str) -> str | None:
    """The source of `value` giving `old` where it gives nothing (inside a default_factory lambda)."""
    if isinstance(value, ast.Call):
        for kw in value.keywords:
            if kw.arg == "default_factory":
                inner = kw.value
                body = inner.body if isinstance(inner, ast.Lambda) else None
                src = ast.get_source_segment(text, body if body is not None else inner)
                if src is None:
                    return None
                new = f"lambda: {src} or {old}" if body is not None else f"lambda: {src}() or {old}"
                start, end = _offsets(text, inner)
                vstart, vend = _offsets(text, value)
                return text[vstart:start] + new + text[end:vend]
    src = ast.get_source_segment(text, value)
    return None if src is None or isinstance(value, ast.Lambda) else f"({src}) or {old}"


def _offsets(text: str, node: ast.expr) -> tuple[int, int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return (starts[node.lineno - 1] + node.col_offset,
            starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0))


def old_default_candidates(texts: dict[str, str], found: list[tuple[str, str, str]]) -> list[Candidate]:
    """For each replaced default still computed at HEAD: its computation with the old literal as fallback."""
    out = []
    for path, name, old in found:
        text = texts.get(path)
        value = _assignments(text).get(name) if text else None
        if text is None or value is None or _literal(value):
            continue
        new = _with_fallback(text, value, old)
        if new is None:
            continue
        start, end = _offsets(text, value)
        out.append(Candidate({path: text[:start] + new + text[end:]}, "template:old_default",
                             f"{name}: falls back to its old default {old} in {path}", 2))
    return out
