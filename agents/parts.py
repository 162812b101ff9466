"""A caller still taking the whole return of a function that now returns several parts.

    changed = returns_made_parts(root, sha, parent, paths)   # {"match": Parts(kind="tuple", order=[0, 1], ...)}
    cands = part_candidates(changed, sites, texts)

A change makes a function return more than it did: `return sorted(hits)` becomes `return hits, waitlist`
(or `return {"rows": rows, "total": n}`), and the callers it knows unpack the new value. A caller it
missed still uses the whole return as the old value (`found = match(...)`; `best = found[0]` is now the
list of hits, and `best["seats"]` raises `list indices must be integers`). The repair takes the part that
carries the old value at that call: `match(...)[0]`. Which part that is, is read from the function
itself: the part whose names the old return used comes first (`hits`), then the others in order; the
repro and the tests decide between them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from agents.oldraise import functions_of
from agents.revert import Candidate, file_at
from agents.sourcetext import called_name, char_offset, parsed, source_lines
from agents.templates import Site

__all__ = ["Parts", "part_candidates", "returns_made_parts"]


@dataclass
class Parts:
    """How a function's return was split: a tuple of `size` parts or a dict of `keys`, and the parts in the
    order to try them (an index, or a key)."""

    kind: str  # "tuple" | "dict"
    order: list[int | str] = field(default_factory=list)


def _returns(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """The values the function itself returns (not those of functions or lambdas nested in it)."""
    out: list[ast.expr] = []
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            out.append(node.value)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _split(values: list[ast.expr]) -> tuple[str, list[int | str], list[ast.expr]] | None:
    """(kind, part labels, one return's parts) when every return is a tuple of one size or a dict literal
    of the same string keys."""
    if not values:
        return None
    if all(isinstance(v, ast.Tuple) for v in values):
        sizes = {len(v.elts) for v in values}  # type: ignore[attr-defined]
        if len(sizes) == 1 and (size := sizes.pop()) >= 2:
            return "tuple", list(range(size)), list(values[0].elts)  # type: ignore[attr-defined]
    if all(isinstance(v, ast.Dict) for v in values):
        keysets = [[k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None
                    for k in v.keys] for v in values]  # type: ignore[attr-defined]
        first = keysets[0]
        if len(first) >= 2 and all(None not in ks and set(ks) == set(first) for ks in keysets):
            return "dict", list(first), list(values[0].values)  # type: ignore[arg-type, attr-defined]
    return None


def returns_made_parts(root: Path, commit: str, parent: str | None, paths: list[str]) -> dict[str, Parts]:
    """Functions of `paths` whose returns `commit` turned from one value into a tuple or dict of parts."""
    out: dict[str, Parts] = {}
    for path in paths:
        if not path.endswith(".py"):
            continue
        before = functions_of(file_at(str(root), parent, path) or "")
        after = functions_of(file_at(str(root), commit, path) or "")
        for name, fn in after.items():
            old = before.get(name)
            split = _split(_returns(fn))
            if old is None or split is None:
                continue
            old_values = _returns(old)
            if not old_values or _split(old_values) is not None or any(
                    isinstance(v, ast.Tuple | ast.Dict) for v in old_values):
                continue
            kind, labels, parts = split
            used = set().union(*(_names(v) for v in old_values))
            # the part built from what the old return used carries the old value; ties keep the source order
            order = sorted(range(len(labels)), key=lambda i: -len(_names(parts[i]) & used))
            out[name] = Parts(kind, [labels[i] for i in order])
    return out


def _calls(text: str, name: str) -> list[ast.Call]:
    """Calls of `name` (a plain or attribute call) that do not unpack the parts into names at once."""
    tree = parsed(text)
    if tree is None:
        return []
    unpacked = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign) and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Tuple | ast.List)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and id(n) not in unpacked
            and called_name(n) == name]


def part_candidates(changed: dict[str, Parts], sites: list[Site], texts: dict[str, str]) -> list[Candidate]:
    """At each call of a function in `changed` in a file on the failing path: the call takes one part."""
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    tier_of: dict[str, int] = {}
    for site in sites:
        if site.tier < 2 and site.path in texts:
            tier_of[site.path] = min(site.tier, tier_of.get(site.path, site.tier))
    for path, tier in tier_of.items():
        text = texts[path]
        lines = source_lines(text)
        for name, parts in changed.items():
            calls = sorted(_calls(text, name), key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))
            for label in parts.order:
                taken = f"[{label!r}]"
                ends = [char_offset(lines, c.end_lineno or 0, c.end_col_offset or 0) for c in calls]
                variants = [([e], f"at {path}:{c.lineno}") for e, c in zip(ends, calls, strict=True)]
                if len(ends) > 1:
                    variants.append((ends, f"at its {len(ends)} calls in {path}"))
                for at, where in variants:
                    new = text
                    for end in sorted(at, reverse=True):
                        new = new[:end] + taken + new[end:]
                    if (path, new) in seen:
                        continue
                    seen.add((path, new))
                    part = f"part {label}" if parts.kind == "tuple" else f"the {label!r} entry"
                    out.append(Candidate({path: new}, "template:api_change", f"{name}() returns a {parts.kind} "
                                         f"now: take its {part} {where}", len(at), tier=tier))
    return out
