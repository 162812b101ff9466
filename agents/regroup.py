"""Operator precedence: the same operands and operators on a line, grouped the other way.

    for new_line, what in regroupings(text, 7): ...
    # line 7: `return "@" + handle or fallback`  ->  `return "@" + (handle or fallback)`

Dropped or misplaced parentheses change which operator binds first without changing a single token that
a revert or a one-token mutation would touch: `a + b if c else d`, `x or y and z`, `"@" + name or default`,
`-x ** 2`, `a - b - c`. For each expression on the line (from Python's own parse of the file) whose top
two operators could group the other way, the regrouped expression is written back with `ast.unparse`
(parenthesised exactly as precedence needs). The tests judge every one.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

__all__ = ["regroupings"]


def _other_ways(node: ast.expr) -> Iterator[ast.expr]:
    """`node` with its top two operators grouped the other way (each returned tree is a fresh copy)."""
    n = copy.deepcopy(node)
    if isinstance(n, ast.BinOp):
        if isinstance(n.left, ast.BinOp):  # (a . b) , c  ->  a . (b , c)
            a, b, c = n.left.left, n.left.right, n.right
            yield ast.BinOp(a, n.left.op, ast.BinOp(b, n.op, c))
        if isinstance(n.right, ast.BinOp):  # a . (b , c)  ->  (a . b) , c
            a, b, c = n.left, n.right.left, n.right.right
            yield ast.BinOp(ast.BinOp(a, n.op, b), n.right.op, c)
        if isinstance(n.right, ast.BoolOp):  # a + (x or y)  ->  a + x or y
            yield ast.BoolOp(n.right.op, [ast.BinOp(n.left, n.op, n.right.values[0]), *n.right.values[1:]])
        if isinstance(n.right, ast.IfExp):  # a + (b if t else c)  ->  a + b if t else c
            yield ast.IfExp(n.right.test, ast.BinOp(n.left, n.op, n.right.body), n.right.orelse)
        if isinstance(n.left, ast.UnaryOp) and isinstance(n.left.op, ast.USub | ast.UAdd | ast.Invert):
            yield ast.UnaryOp(n.left.op, ast.BinOp(n.left.operand, n.op, n.right))  # (-x) ** 2 -> -(x ** 2)
    elif isinstance(n, ast.BoolOp):
        first, rest = n.values[0], n.values[1:]
        if isinstance(first, ast.BinOp):  # a + x or y  ->  a + (x or y)
            yield ast.BinOp(first.left, first.op, ast.BoolOp(n.op, [first.right, *rest]))
        if isinstance(first, ast.BoolOp) and len(rest) == 1:  # (x or y) and z  ->  x or (y and z)
            yield ast.BoolOp(first.op, [*first.values[:-1], ast.BoolOp(n.op, [first.values[-1], *rest])])
        last = n.values[-1]
        if isinstance(last, ast.BoolOp) and len(n.values) == 2:  # x or (y and z)  ->  (x or y) and z
            yield ast.BoolOp(last.op, [ast.BoolOp(n.op, [first, last.values[0]]), *last.values[1:]])
    elif isinstance(n, ast.IfExp) and isinstance(n.body, ast.BinOp):  # a + b if t else c -> a + (b if t else c)
        yield ast.BinOp(n.body.left, n.body.op, ast.IfExp(n.test, n.body.right, n.orelse))
    elif isinstance(n, ast.UnaryOp) and isinstance(n.operand, ast.BinOp) and not isinstance(n.op, ast.Not):
        yield ast.BinOp(ast.UnaryOp(n.op, n.operand.left), n.operand.op, n.operand.right)  # -(x ** 2) -> (-x) ** 2


def _means(lines: list[str], line: int, new_line: str, other: ast.expr) -> bool:
    """Whether `new_line`, in place of `line`, parses to a statement that holds `other` whole."""
    try:
        tree = ast.parse("\n".join([*lines[: line - 1], new_line, *lines[line:]]))
    except SyntaxError:
        return False
    want = ast.dump(other, annotate_fields=False, include_attributes=False)
    return any(ast.dump(n, annotate_fields=False, include_attributes=False) == want for n in ast.walk(tree)
               if getattr(n, "lineno", None) == line)


def regroupings(text: str, line: int) -> Iterator[tuple[str, str]]:
    """(new line, what) for each expression written on `line` alone that can be grouped another way."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return
    raw = lines[line - 1].encode()  # ast columns count UTF-8 bytes
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.BinOp | ast.BoolOp | ast.IfExp | ast.UnaryOp):
            continue
        if node.lineno != line or node.end_lineno != line or node.end_col_offset is None:
            continue
        old = raw[node.col_offset:node.end_col_offset].decode(errors="replace")
        for other in _other_ways(node):
            new = ast.unparse(ast.fix_missing_locations(other))
            if new == ast.unparse(node):
                continue  # the same grouping (an operator that associates both ways)
            head = raw[: node.col_offset].decode(errors="replace")
            tail = raw[node.end_col_offset:].decode(errors="replace")
            new_line = head + new + tail
            if not _means(lines, line, new_line, other):  # the context binds tighter: keep the group whole
                new_line = f"{head}({new}){tail}"
            if new_line not in seen:
                seen.add(new_line)
                yield new_line, f"regroup {old} -> {new}"
