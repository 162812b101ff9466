"""A name a function assigns only on some paths, read on another: it gets a value before the first path.

    fixes = unbound_fixes(text, crash_line, "cannot access local variable 'found' where it is not ...")

A `max(...)` rewritten as a loop with `break`, an `if` with no `else`: the variable is bound only when a
branch runs, and `return found` raises UnboundLocalError when none did. The innermost function around the
crash line starts with `found = None` (then the other empty values: what the function's callers test for
decides which passes), placed after its docstring.
"""

from __future__ import annotations

import ast
import re

__all__ = ["unbound_fixes"]

_UNBOUND = re.compile(r"local variable '(\w+)'")
EMPTY = ("None", "0", '""', "[]")


def unbound_fixes(text: str, line: int, message: str) -> list[tuple[str, str]]:
    """(new text, what) for each empty value the unbound name can start the function with."""
    m = _UNBOUND.search(message)
    if m is None:
        return []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    inside = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
              and n.lineno <= line <= (n.end_lineno or n.lineno)]
    if not inside:
        return []
    fn = max(inside, key=lambda n: n.lineno)
    body = fn.body
    first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                        and isinstance(body[0].value.value, str)) else body[0]
    if first.lineno == fn.lineno:
        return []
    lines = text.splitlines(keepends=True)
    row = lines[first.lineno - 1]
    indent = row[: len(row) - len(row.lstrip())]
    name = m.group(1)
    return [("".join([*lines[: first.lineno - 1], f"{indent}{name} = {value}\n", *lines[first.lineno - 1:]]),
             f"{name} = {value} before {fn.name}'s first statement") for value in EMPTY]
