"""A caller left behind when a function's parameters were reordered.

    moved = reordered_params(root, sha, parent, paths)    # {"can_swap": (["rota", "a", "b", "day"],
                                                          #               ["rota", "day", "a", "b"])}
    cands = reorder_candidates(moved, sites, texts)
    params_changed(root, sha, parent, "rota/swap.py", "can_swap")   # True: a repro built from its caller's
                                                                      # arguments may encode the old order

A change reorders `def can_swap(rota, a, b, day)` as `def can_swap(rota, day, a, b)` and updates the calls
it knows; a caller it missed still passes the day last, and the function fails deep inside on a value in
the wrong place (`KeyError: 'n04'` where a day was expected). The call is rewritten so each value reaches
the parameter it reached before the change: positionally where the new order allows, by keyword after.
The other calls of the module that were written for the old order move with it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from agents.oldraise import functions_of
from agents.revert import Candidate, file_at
from agents.sourcetext import called_name, parsed, replaced_nodes
from agents.templates import Site

__all__ = ["params_changed", "reorder_candidates", "reordered_params"]


def _positional(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[str], list[str], bool, bool]:
    a = fn.args
    return _positional(fn), [k.arg for k in a.kwonlyargs], a.vararg is not None, a.kwarg is not None


def params_changed(root: Path, commit: str, parent: str | None, path: str, function: str) -> bool:
    """Whether `commit` changed the parameter list of `function` in `path` (names, order, kinds)."""
    before = functions_of(file_at(str(root), parent, path) or "").get(function)
    after = functions_of(file_at(str(root), commit, path) or "").get(function)
    return before is not None and after is not None and _signature(before) != _signature(after)


def reordered_params(root: Path, commit: str, parent: str | None, paths: list[str]
                     ) -> dict[str, tuple[list[str], list[str]]]:
    """Functions of `paths` whose positional parameters `commit` put in another order (the same names)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for path in paths:
        if not path.endswith(".py"):
            continue
        before = functions_of(file_at(str(root), parent, path) or "")
        for name, fn in functions_of(file_at(str(root), commit, path) or "").items():
            old_fn = before.get(name)
            if old_fn is None or old_fn.args.vararg or fn.args.vararg:
                continue
            old, new = _positional(old_fn), _positional(fn)
            if old != new and sorted(old) == sorted(new):
                out[name] = (old, new)
    return out


def _rewritten(text: str, call: ast.Call, old: list[str], new: list[str]) -> str | None:
    """The call's argument list with each positional value moved to the parameter it was bound to before."""
    # a method called on an instance (`self.f(...)`, `obj.f(...)`) binds its first parameter itself; through its
    # class (`Rota.f(self, ...)`) it does not
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    bound = isinstance(receiver, ast.Name) and not receiver.id[:1].isupper() or isinstance(receiver, ast.Attribute)
    first = 1 if old and old[0] in ("self", "cls") and bound else 0
    if any(isinstance(a, ast.Starred) for a in call.args) or first + len(call.args) > len(old):
        return None
    bound = {old[first + i]: ast.get_source_segment(text, a) for i, a in enumerate(call.args)}
    if None in bound.values() or new[:first] != old[:first]:
        return None
    keywords = [ast.get_source_segment(text, k) for k in call.keywords]
    positional: list[str] = []
    rest = new[first:]
    while rest and rest[0] in bound:  # positional as far as the new order has every value
        positional.append(bound.pop(rest.pop(0)))  # type: ignore[arg-type]
    args = positional + [f"{name}={value}" for name, value in bound.items()] + [k for k in keywords if k]
    inside = ", ".join(args)
    func = ast.get_source_segment(text, call.func)
    return f"{func}({inside})" if func else None


def _moved_calls(text: str, tree: ast.AST, moved: dict[str, tuple[list[str], list[str]]],
                 lines: list[int] | None) -> list[tuple[ast.Call, str]]:
    """(call, its rewrite) for each call of a reordered function, on `lines` only unless None."""
    out = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        if lines is not None and not any(call.lineno <= n <= (call.end_lineno or call.lineno) for n in lines):
            continue
        name = called_name(call)
        if name in moved and (new_call := _rewritten(text, call, *moved[name])) is not None:
            out.append((call, new_call))
    return out


def reorder_candidates(moved: dict[str, tuple[list[str], list[str]]], sites: list[Site], texts: dict[str, str],
                       before: Callable[[str], str]) -> list[Candidate]:
    """At each call of a reordered function on the failing path's lines (crash and callers): the values moved.
    `before(path)` is the file as it was before the suspect: a call written there as it is now was written for
    the old order, so when the failing call is one of several such calls in its file, they all move at once."""
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    paths = {s.path: [t.line for t in sites if t.path == s.path and t.tier < 2] for s in sites if s.tier < 2}
    for path, on_path in paths.items():
        text = texts.get(path)
        if text is None or not moved:
            continue
        tree = parsed(text)
        if tree is None:
            continue
        tier = min(s.tier for s in sites if s.path == path)
        old_text = before(path)
        written_before = [(c, new) for c, new in _moved_calls(text, tree, moved, None)
                          if (segment := ast.get_source_segment(text, c)) and segment in old_text]
        variants = []
        for rw in _moved_calls(text, tree, moved, on_path):
            if len(written_before) > 1 and any(c is rw[0] for c, _ in written_before):
                variants.append((written_before, f"at its {len(written_before)} calls in {path} written before "
                                 "the change"))
            else:
                variants.append(([rw], f"at {path}:{rw[0].lineno}"))
        for rewrites, where in variants:
            new = replaced_nodes(text, rewrites)  # type: ignore[arg-type]
            if new == text or (path, new) in seen:
                continue
            seen.add((path, new))
            names = sorted({called_name(c) or "" for c, _ in rewrites})
            order = "; ".join(f"{n}() takes ({', '.join(moved[n][1])}) now, not ({', '.join(moved[n][0])})"
                              for n in names)
            out.append(Candidate({path: new}, "template:api_change", f"{order}: its values moved {where}",
                                 len(rewrites), tier=tier))
    return out
