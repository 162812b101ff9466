"""A parameter default the suspect changed: the callers that relied on the old one pass it explicitly.

    changed = changed_param_defaults(root, sha, parent, paths)  # [("app/locale.py", "resolve_locale", ...)]
    cands = param_default_candidates(head_texts, changed, written)
    # resolve_locale(user.get("locale")) -> resolve_locale(user.get("locale"), fallback='en')

A commit that changes `def resolve_locale(code, fallback="en")` to `fallback=None` usually does it for a new
caller of its own (`is_supported()` asks for None); the old callers, which never passed it, now get None and fail
further on. Putting the old default back breaks the new caller (its tests check it). The old callers pass the
old value instead: every call that does not give the parameter, outside the lines the suspect wrote, gets it as a
keyword (first all of them: they all relied on it), then each alone.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from agents.revert import Candidate, file_at, parses

__all__ = ["changed_param_defaults", "param_default_candidates"]

MAX_CALLS = 8


def _defaults(text: str) -> dict[str, dict[str, tuple[int, str]]]:
    """Function name -> parameter -> (its position, or -1 for keyword-only; its default's source)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        a = fn.args
        positional = a.posonlyargs + a.args
        params = {p.arg: (i, ast.unparse(d))
                  for i, (p, d) in enumerate(zip(positional[len(positional) - len(a.defaults):], a.defaults,
                                                 strict=True), start=len(positional) - len(a.defaults))}
        params |= {p.arg: (-1, ast.unparse(d)) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
                   if d is not None}
        out.setdefault(fn.name, {}).update(params)
    return out


def changed_param_defaults(root: Path, sha: str, parent: str | None,
                           paths: list[str]) -> list[tuple[str, str, str, str, int]]:
    """(path, function, parameter, old default source, position) for each default the commit changed in
    `paths` (the files it changed)."""
    if parent is None:
        return []
    out = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        before = _defaults(file_at(str(root), parent, path) or "")
        after = _defaults(file_at(str(root), sha, path) or "")
        for fn, params in before.items():
            for name, (_, old) in params.items():
                new = after.get(fn, {}).get(name)
                if new is not None and new[1] != old:
                    out.append((path, fn, name, old, new[0]))
    return out


def _calls(text: str, fn: str, param: str, pos: int) -> list[ast.Call]:
    """Calls of `fn` in `text` that give no value for `param` (neither by keyword nor at its position)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else None
        if name != fn or any(k.arg == param or k.arg is None for k in node.keywords):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or (pos >= 0 and len(node.args) > pos):
            continue
        found.append(node)
    return found


def _with_keyword(text: str, calls: list[ast.Call], param: str, value: str) -> str:
    lines = text.splitlines(keepends=True)
    for call in sorted(calls, key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0), reverse=True):
        row, col = (call.end_lineno or 1) - 1, (call.end_col_offset or 1) - 1  # the call's closing parenthesis
        line = lines[row]
        sep = "" if not (call.args or call.keywords) else " " if line[:col].rstrip().endswith(",") else ", "
        lines[row] = line[:col] + f"{sep}{param}={value}" + line[col:]
    return "".join(lines)


def param_default_candidates(head: dict[str, str], changed: list[tuple[str, str, str, str, int]],
                             written: Callable[[str], set[int]]) -> list[Candidate]:
    out: list[Candidate] = []
    for _, fn, param, old, pos in changed:
        sites = [(path, call) for path, text in sorted(head.items()) if path.endswith(".py")
                 for call in _calls(text, fn, param, pos) if call.lineno not in written(path)
                 and parses(_with_keyword(text, [call], param, old))][:MAX_CALLS]  # `f(a,)`: no room
        for path, call in sites:
            out.append(Candidate({path: _with_keyword(head[path], [call], param, old)}, "template:param_default",
                                 f"pass {param}={old} (its default before the suspect) to {fn}() at "
                                 f"{path}:{call.lineno}", 3))
        if len(sites) > 1:
            texts = {p: _with_keyword(head[p], [c for q, c in sites if q == p], param, old)
                     for p in {p for p, _ in sites}}
            out.append(Candidate(texts, "template:param_default", f"pass {param}={old} (its default before the "
                                 f"suspect) to the {len(sites)} calls of {fn}() that relied on it", 2))
    return out
