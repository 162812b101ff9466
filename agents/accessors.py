"""A field read raw where its class offers an accessor that handles None.

    cands = accessor_candidates(root, message, sites, texts)

`priority: int | None = 5` with `@property def effective_priority(self): return DEFAULT if self.priority is
None else self.priority`: a line reading `job.priority` fails on None (`bad operand type for unary -:
'NoneType'`) where the class itself says how a missing value is read. Each property of the repository's
classes that reads `self.<field>` and tests it against None (or falls back with `or`) is an accessor of that
field; the failing line's reads of `.field` become `.accessor`, one accessor at a time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agents.repro import is_test_file
from agents.revert import Candidate
from agents.templates import Site

__all__ = ["accessor_candidates", "accessors_in"]

MAX_FILES = 400


def _none_aware(fn: ast.FunctionDef, field: str) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value is None for c in node.comparators) and any(
                isinstance(n, ast.Attribute) and n.attr == field for n in ast.walk(node.left)):
            return True
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and any(
                isinstance(v, ast.Attribute) and v.attr == field for v in node.values[:1]):
            return True
    return False


def accessors_in(source: str) -> dict[str, list[str]]:
    """{field: [property names]} of the classes in `source` whose properties read the field None-aware."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    out: dict[str, list[str]] = {}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for fn in cls.body:
            if not (isinstance(fn, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id in ("property", "cached_property") for d in fn.decorator_list)):
                continue
            read = {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)
                    and isinstance(n.value, ast.Name) and n.value.id == "self"}
            for field in sorted(read - {fn.name}):
                if _none_aware(fn, field):
                    out.setdefault(field, []).append(fn.name)
    return out


def accessor_candidates(root: Path, message: str, sites: list[Site], texts: dict[str, str]) -> list[Candidate]:
    if "NoneType" not in message:
        return []
    found: dict[str, list[str]] = {}
    files = [p for p in sorted(root.rglob("*.py")) if ".git" not in p.parts and "site-packages" not in p.parts]
    for path in files[:MAX_FILES]:
        rel = path.relative_to(root).as_posix()
        if is_test_file(rel):
            continue
        try:
            source = texts.get(rel) or path.read_text(errors="replace")
        except OSError:
            continue
        for field, names in accessors_in(source).items():
            found.setdefault(field, []).extend(n for n in names if n not in found.get(field, []))
    out: list[Candidate] = []
    for site in (s for s in sites if s.tier == 0):
        text = texts.get(site.path)
        lines = text.splitlines(keepends=True) if text else []
        if not 1 <= site.line <= len(lines):
            continue
        line = lines[site.line - 1]
        for field, names in found.items():
            pattern = re.compile(rf"(?<=\.){field}\b(?!\s*\()")
            if not pattern.search(line.split("#", 1)[0]):
                continue
            for name in names:
                new = pattern.sub(name, line)
                new_text = "".join(lines[: site.line - 1]) + new + "".join(lines[site.line:])
                out.append(Candidate({site.path: new_text}, "template:accessor",
                                     f"read .{field} through its None-aware accessor .{name} at "
                                     f"{site.path}:{site.line}", 1, tier=site.tier))
    return out
