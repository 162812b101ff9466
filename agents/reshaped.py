"""A caller still unpacking a tuple from a function that now returns an object.

    cands = unpacking_candidates(root, "ValueError: too many values to unpack (expected 2)", sites, texts)

A refactor turns `return items, len(items)` into `return Page(items, total=len(items), ...)` and updates
the callers it knows; a missed one still does `items, total = paginate(rows)`. Unpacking the object fails
(`cannot unpack non-iterable Page object`, or, when it iterates over its items, too many or not enough
values). The class is found from the function's annotation or its `return Cls(...)`; the unpacked names
become reads of its attributes of those names (or of its first fields, in order, when the names differ):

    items, total = paginate(rows, page, batch)
    ->  result = paginate(rows, page, batch)
        items, total = result.items, result.total
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from agents.revert import Candidate
from agents.sources import production_files

if TYPE_CHECKING:
    from agents.templates import Site

__all__ = ["unpacking_candidates"]

_UNPACKING = re.compile(r"too many values to unpack|not enough values to unpack|cannot unpack non-iterable "
                        r"(\w+) object")
_LINE = re.compile(r"^(\s*)((?:[A-Za-z_]\w*\s*,\s*)+[A-Za-z_]\w*)\s*,?\s*=\s*(.+?)\s*$")


def _modules(root: Path) -> dict[str, ast.Module]:
    out: dict[str, ast.Module] = {}
    for path, text in production_files(root):
        try:
            out[path] = ast.parse(text)
        except SyntaxError:
            continue
    return out


def _returned_class(modules: dict[str, ast.Module], function: str) -> str | None:
    """The class a function of that name returns: its annotation, else the class its returns construct."""
    for tree in modules.values():
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or fn.name != function:
                continue
            if isinstance(fn.returns, ast.Name):
                return fn.returns.id
            for node in ast.walk(fn):
                if (isinstance(node, ast.Return) and isinstance(node.value, ast.Call)
                        and isinstance(node.value.func, ast.Name) and node.value.func.id[:1].isupper()):
                    return node.value.func.id
    return None


def _attributes(modules: dict[str, ast.Module], cls: str) -> tuple[list[str], set[str]]:
    """(fields in order: annotated class attributes, else `self.x =` of __init__), every attribute name."""
    for tree in modules.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef) or node.name != cls:
                continue
            fields = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
            assigned = [t.attr for s in ast.walk(init) if isinstance(s, ast.Assign | ast.AnnAssign)
                        for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
                        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                        and t.value.id == "self"] if init else []
            props = [s.name for s in node.body if isinstance(s, ast.FunctionDef)
                     and any(isinstance(d, ast.Name) and d.id == "property" for d in s.decorator_list)]
            ordered = fields or list(dict.fromkeys(assigned))
            return ordered, {*fields, *assigned, *props}
    return [], set()


def unpacking_candidates(root: Path, message: str, sites: list[Site], texts: dict[str, str]) -> list[Candidate]:
    found = _UNPACKING.search(message)
    if found is None:
        return []
    modules: dict[str, ast.Module] | None = None
    out: list[Candidate] = []
    for site in sites:
        text = texts.get(site.path)
        if text is None or site.tier >= 2:
            continue
        lines = text.splitlines(keepends=True)
        rewritten = _rewrite(root, lines[site.line - 1], found.group(1), text, modules) if 1 <= site.line <= len(
            lines) else None
        if rewritten is None:
            continue
        modules, new, function, cls, reads = rewritten
        one = "".join(lines[: site.line - 1]) + new + "".join(lines[site.line:])
        every = "".join(same[1] if (same := _rewrite(root, x, found.group(1), text, modules)) and same[2] == function
                        else x for x in lines)
        for new_text, where in ((one, f"at {site.path}:{site.line}"), (every, f"everywhere in {site.path}")):
            if new_text != text and all(c.texts.get(site.path) != new_text for c in out):
                out.append(Candidate({site.path: new_text}, "template:api_change", f"{function}() returns a "
                                     f"{cls}: its {', '.join(reads)} read {where}", 2, tier=site.tier))
    return out


def _rewrite(root: Path, line: str, named: str | None, text: str, modules: dict[str, ast.Module] | None,
             ) -> tuple[dict[str, ast.Module], str, str, str, list[str]] | None:
    """(modules, the unpacking as a call kept in a name and reads of its attributes, function, class, reads)."""
    m = _LINE.match(line.rstrip("\n"))
    if m is None:
        return None
    indent, targets, rhs = m.group(1), [t.strip() for t in m.group(2).split(",")], m.group(3)
    try:
        call = ast.parse(rhs, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call):
        return None
    modules = modules if modules is not None else _modules(root)
    function = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    cls = named or _returned_class(modules, function)
    fields, every = _attributes(modules, cls) if cls else ([], set())
    if all(t in every for t in targets):
        reads = targets
    elif fields and len(targets) <= len(fields):
        reads = fields[: len(targets)]
    else:
        return None
    temp = next((n for n in ("result", f"{(cls or 'value').lower()}_result", "returned")
                 if not re.search(rf"\b{n}\b", text)), None)
    if temp is None or cls is None:
        return None
    new = f"{indent}{temp} = {rhs}\n{indent}{', '.join(targets)} = {', '.join(f'{temp}.{a}' for a in reads)}\n"
    return modules, new, function, cls, reads
