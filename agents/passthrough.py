"""A None passed through a helper that hands its argument back: the helper gives the empty value instead.

    cands = passthrough_candidates(root, "TypeError: object of type 'NoneType' has no len()", sites)

A change starts producing None for missing data (a reader, a lookup); the crashing function does not get
it straight from there but through a helper it calls, one that formats or normalises values and returns
what it does not know as is (`return value`). The fix a maintainer writes is in that helper: None shown as
the empty value the callers need (`""` where they take a length or pad it). For each function the crashing
function calls that is defined in the repository, every `return <parameter>` becomes `return "" if
<parameter> is None else <parameter>` (the empty value of the kind the message asks for).
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

__all__ = ["passthrough_candidates"]


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


def passthrough_candidates(root: Path, message: str, sites: list[Site]) -> list[Candidate]:
    empties = _empties(message) if "NoneType" in message else []
    crash = next((s for s in sites if s.tier == 0), None)
    if not empties or crash is None:
        return []
    names = _called(root, crash)
    out: list[Candidate] = []
    for path, text in production_files(root):
        if not any(f"def {n}(" in text for n in names):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.splitlines(keepends=True)
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in names):
            params = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]} - {"self", "cls"}
            for ret in (n for n in ast.walk(fn) if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
                        and n.value.id in params and n.lineno == n.end_lineno):
                row, name = lines[ret.lineno - 1], ret.value.id  # type: ignore[union-attr]
                indent = row[: len(row) - len(row.lstrip())]
                for empty in empties:
                    new = f"{indent}return {empty} if {name} is None else {name}\n"
                    new_text = "".join(lines[: ret.lineno - 1]) + new + "".join(lines[ret.lineno:])
                    out.append(Candidate({path: new_text}, "template:passthrough", f"{fn.name}() gives {empty} for "
                                         f"a None {name} at {path}:{ret.lineno}", 3, tier=1))
    return out
