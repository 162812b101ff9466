"""Numbers or text turned into a plain `Enum`: the code that did arithmetic, ordering or string work on them
now gets members that do none of it.

    cands = enum_base_candidates(root, "bad operand type for unary -: 'Priority'")

A constant table becomes `class Priority(Enum)` with `LOW = 1, HIGH = 3`, and a sort key `-p.priority`,
a comparison `a < b` or a `"#" + colour` now raises TypeError naming the class. Python's `IntEnum` and
`StrEnum` are the enums whose members still are the ints and strings they were: when the class the message
names is a plain `Enum` in the repository and all its members' values are ints (or all strings), its base
becomes `IntEnum` (`StrEnum`), imported from `enum` beside `Enum`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agents.revert import Candidate
from agents.sources import production_files

__all__ = ["enum_base_candidates"]

_NAMED = re.compile(r"""['"](\w+)['"]""")


def _member_kind(cls: ast.ClassDef) -> str | None:
    """"IntEnum" when every member's value is an int literal, "StrEnum" when every one is a string."""
    values = [n.value for n in cls.body if isinstance(n, ast.Assign) and len(n.targets) == 1
              and isinstance(n.targets[0], ast.Name) and not n.targets[0].id.startswith("_")]
    consts = [v.value for v in values if isinstance(v, ast.Constant)]
    if not values or len(consts) != len(values):
        return None
    if all(isinstance(c, int) and not isinstance(c, bool) for c in consts):
        return "IntEnum"
    return "StrEnum" if all(isinstance(c, str) for c in consts) else None


def _rebased(text: str, cls: ast.ClassDef, base: ast.expr, kind: str) -> str | None:
    lines = text.splitlines(keepends=True)
    if base.lineno != base.end_lineno or base.end_col_offset is None:
        return None
    row = lines[base.lineno - 1]
    new_base = f"enum.{kind}" if isinstance(base, ast.Attribute) else kind
    lines[base.lineno - 1] = row[: base.col_offset] + new_base + row[base.end_col_offset:]
    new = "".join(lines)
    if isinstance(base, ast.Name):  # `from enum import Enum` -> `from enum import Enum, IntEnum`
        imported = re.search(r"^from enum import ([^\n(]+)$", new, re.M)
        if imported is None:
            return None
        if kind not in [n.strip() for n in imported.group(1).split(",")]:
            new = new[: imported.end(1)] + f", {kind}" + new[imported.end(1):]
    return new


def enum_base_candidates(root: Path, message: str) -> list[Candidate]:
    named = set(_NAMED.findall(message))
    if not named:
        return []
    out = []
    for path, text in production_files(root):
        if "Enum" not in text or not any(f"class {n}" in text for n in named):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name in named):
            bases = [b for b in cls.bases if (isinstance(b, ast.Name) and b.id == "Enum")
                     or (isinstance(b, ast.Attribute) and b.attr == "Enum")]
            kind = _member_kind(cls) if len(bases) == 1 else None
            new = _rebased(text, cls, bases[0], kind) if kind else None
            if new is not None and new != text:
                out.append(Candidate({path: new}, "template:enum_base",
                                     f"{cls.name} members stay the values they were: Enum -> {kind}", size=1))
    return out
