"""A None where an exception used to say "absent": the handler the caller already has, for None too.

    absent_like_handler(text, 9, "'NoneType' object is not subscriptable")
    # [(new text, "None from get() handled as UserNotFound is at service.py:9"), ...]

A helper that raised for a miss (`UserNotFound`) now returns None; its caller's `except UserNotFound:
return "Guest"` is dead and the value it reads crashes (`user["name"]`). The caller's own code says what
absence means there, so the handler's body runs for None as well: `if user is None: return "Guest"` after
the `try`. A guard that returns an empty value ("" or None) would pass the same tests only by luck.
"""

from __future__ import annotations

import ast
import re

__all__ = ["absent_like_handler"]


def absent_like_handler(text: str, line: int, message: str) -> list[tuple[str, str]]:
    """(new text, what) for each `try: name = ... except E: <body>` before `line` in its function whose
    `name` the crash line reads, when the error is about a None."""
    if "'NoneType'" not in message:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = text.splitlines(keepends=True)
    if not 1 <= line <= len(lines):
        return []
    crash = lines[line - 1]
    func = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.lineno <= line <= (n.end_lineno or 0)), None)
    if func is None:
        return []
    out = []
    for node in ast.walk(func):
        if not (isinstance(node, ast.Try) and (node.end_lineno or line) < line and node.handlers):
            continue
        names = [t.id for stmt in node.body if isinstance(stmt, ast.Assign)
                 for t in stmt.targets if isinstance(t, ast.Name)]
        handler = node.handlers[0]
        if handler.name:  # `except E as e:`: its body may read `e`, which a None has not got
            continue
        body = handler.body
        if not body or not isinstance(body[-1], ast.Return | ast.Raise | ast.Continue | ast.Break):
            continue  # the handler must leave: after it, the name would still be None
        first, last = body[0].lineno, body[-1].end_lineno or body[-1].lineno
        handled = "".join(lines[first - 1:last])
        indent = " " * node.col_offset
        caught = ast.unparse(handler.type) if handler.type is not None else "an exception"
        for name in names:
            if not re.search(rf"(?<![\w.]){re.escape(name)}\s*[\[.]", crash):
                continue
            end = node.end_lineno or node.lineno
            # the handler's body is one level in from its `except`, as it will be from the `if`
            guard = f"{indent}if {name} is None:\n" + _reindent(handled, handler.col_offset + 4, node.col_offset + 4)
            new_text = "".join(lines[:end]) + guard + "".join(lines[end:])
            out.append((new_text, f"None in {name} handled as {caught} is, after the try at line {node.lineno}"))
    return out


def _reindent(block: str, old: int, new: int) -> str:
    shift = new - old
    out = []
    for raw in block.splitlines(keepends=True):
        stripped = raw.lstrip(" ")
        out.append(" " * max(0, len(raw) - len(stripped) + shift) + stripped if stripped.strip() else raw)
    return "".join(out)
