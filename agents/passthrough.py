"""A None passed through a helper that hands its argument back: the helper gives the empty value instead.

    cands = passthrough_candidates(root, "TypeError: object of type 'NoneType' has no len()", sites)

A change starts producing None for missing data (a reader, a lookup); the crashing function does not get
it straight from there but through a helper it calls, one that formats or normalises values and returns
what it does not know as is (`return value`). The fix a maintainer writes is in that helper: None shown as
the empty value the callers need (`""` where they take a length or pad it). For each function the crashing
function calls that is defined in the repository, every `return <parameter>` becomes `return "" if
<parameter> is None else <parameter>` (the empty value of the kind the message asks for). A helper whose
other paths return a module constant for "nothing" (`NO_PROMO`) and that now returns None on a new one: the
caller takes that constant for the None (`null_object_candidates`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from agents.revert import Candidate
from agents.sources import production_files
from agents.sourcetext import called_name, char_offset, import_from, indent_of, parsed, source_lines

if TYPE_CHECKING:
    from agents.templates import Site

__all__ = ["null_object_candidates", "passthrough_candidates"]


def _empties(message: str) -> list[str]:
    if re.search(r"has no len|not iterable|not subscriptable", message):
        return ['""', "[]"]
    if "attribute" in message:
        return ['""']
    if re.search(r"operand|real number|must be", message):
        return ["0"]
    return []


def _called(root: Path, site: Site) -> set[str]:
    """Names of the functions the crashing function calls (plain names and `self.`/module attributes)."""
    try:
        tree = ast.parse((root / site.path).read_text(errors="replace"))
    except (SyntaxError, OSError):
        return set()
    around = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
              and n.lineno <= site.line <= (n.end_lineno or 0)]  # a `<genexpr>` frame: its function
    if not around:
        return set()
    fn = max(around, key=lambda n: n.lineno)
    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name and name != fn.name:
                out.add(name)
    return out


def _definitions(root: Path, names: set[str]) -> Iterator[tuple[str, str, ast.Module, ast.FunctionDef]]:
    """(path, text, its tree, the function) for each production function of one of `names`."""
    for path, text in production_files(root):
        if not any(f"def {n}(" in text for n in names) or (tree := parsed(text)) is None:
            continue
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in names):
            yield path, text, tree, fn


def passthrough_candidates(root: Path, message: str, sites: list[Site]) -> list[Candidate]:
    empties = _empties(message) if "NoneType" in message else []
    crash = next((s for s in sites if s.tier == 0), None)
    if not empties or crash is None:
        return []
    names = _called(root, crash)
    out: list[Candidate] = []
    for path, text, _, fn in _definitions(root, names):
        lines = source_lines(text)
        params = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]} - {"self", "cls"}
        for ret in (n for n in ast.walk(fn) if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
                    and n.value.id in params and n.lineno == n.end_lineno):
            row, name = lines[ret.lineno - 1], ret.value.id  # type: ignore[union-attr]
            indent = indent_of(row)
            for empty in empties:
                new = f"{indent}return {empty} if {name} is None else {name}\n"
                new_text = "".join(lines[: ret.lineno - 1]) + new + "".join(lines[ret.lineno:])
                out.append(Candidate({path: new_text}, "template:passthrough", f"{fn.name}() gives {empty} for "
                                     f"a None {name} at {path}:{ret.lineno}", 3, tier=1))
    return out


def null_object_candidates(root: Path, message: str, sites: list[Site], texts: dict[str, str]) -> list[Candidate]:
    """A helper the crashing function calls now returns None on a new path where its other paths return a
    named module constant for "nothing" (`return NO_PROMO`, `RATES.get(zone, STANDARD)`): the caller takes that
    constant for the None, `find_promo(code) or NO_PROMO`, imported from the helper's module (the null object it
    already uses)."""
    crash = next((s for s in sites if s.tier == 0 and s.path in texts), None)
    if "NoneType" not in message or crash is None:
        return []
    names = _called(root, crash)
    nothing: dict[str, tuple[str, str]] = {}  # helper -> (constant, module path)
    for path, _, tree, fn in _definitions(root, names):
        constants = {t.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                     for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()}
        returns = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return)]
        # the constant a return hands back as is, or as a lookup's default (`RATES.get(zone, STANDARD)`)
        named = [n.id for v in returns if v is not None for n in ast.walk(v)
                 if isinstance(n, ast.Name) and n.id in constants and (v is n or isinstance(v, ast.Call))]
        if named and any(v is None or isinstance(v, ast.Constant) and v.value is None for v in returns):
            nothing[fn.name] = (named[0], path)
    text = texts[crash.path]
    tree, lines = parsed(text), source_lines(text)
    if tree is None:
        return []
    out: list[Candidate] = []
    for call in (c for c in ast.walk(tree) if isinstance(c, ast.Call)):
        name = called_name(call)
        if name not in nothing or call.end_lineno is None:
            continue
        constant, path = nothing[name]
        start = char_offset(lines, call.lineno, call.col_offset)
        end = char_offset(lines, call.end_lineno, call.end_col_offset or 0)
        new = import_from(text[:start] + f"({text[start:end]} or {constant})" + text[end:], constant, path, crash.path)
        out.append(Candidate({crash.path: new}, "template:passthrough", f"{name}() returns None on a new path "
                             f"where it returns {constant} for nothing: {crash.path}:{call.lineno} takes "
                             f"{constant} for the None", 2, tier=1))
    return out
