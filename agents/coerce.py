"""Values of two types that do not mix: one side of the failing operation converted to the other's type.

    mixed = mixed_types("unsupported operand type(s) for *: 'decimal.Decimal' and 'float'")
    # Mixed(op='*', left='decimal.Decimal', right='float')
    list(coercions("    return net * rate_for(c)", mixed))
    # [("    return net * Decimal(str(rate_for(c)))", "rate_for(c) as decimal.Decimal"), ...]

Python names both types in the message of a failing binary operation, comparison or concatenation, the
left one first. Each operand of a matching operation on the line is converted to the other operand's
type (the right one first: a value newly read from JSON, a form or a file is the usual stranger), and a
`return` of a value is converted to either type (the function that hands over the stranger). Conversions
that need a name the file lacks add its import (`needs_import`).
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Mixed", "mixed_types", "coercions", "needs_import"]

# a type named in Python's message -> how a value becomes one (`{}` is the value)
_CONVERT = {
    "decimal.Decimal": "Decimal(str({}))",
    "float": "float({})",
    "int": "int({})",
    "str": "str({})",
    "fractions.Fraction": "Fraction({})",
    "list": "list({})",
    "tuple": "tuple({})",
    "set": "set({})",  # a function that now returns a mapping: its keys, where a set was expected
    "frozenset": "frozenset({})",
    # naive and aware datetimes: which side is which, Python does not say; naive ones are read as UTC
    "offset-aware": "({0} if {0}.tzinfo else {0}.replace(tzinfo=timezone.utc))",
    "offset-naive": "({0}.astimezone(timezone.utc).replace(tzinfo=None) if {0}.tzinfo else {0})",
}
# a value computed by a call is converted once, unguarded (it is the stranger or the test fails)
_CONVERT_ONCE = {"offset-aware": "{}.replace(tzinfo=timezone.utc)",
                 "offset-naive": "{}.astimezone(timezone.utc).replace(tzinfo=None)"}
_IMPORTS = {"Decimal(": "from decimal import Decimal", "Fraction(": "from fractions import Fraction",
            "timezone.": "from datetime import timezone"}
_COMPARE = ("<", "<=", ">", ">=")
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
        ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
        ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.MatMult: "@"}


@dataclass(frozen=True)
class Mixed:
    op: str  # the operator Python names ("+=" counts as "+")
    left: str  # the type of the left operand, as the message names it
    right: str


def mixed_types(message: str) -> Mixed | None:
    """The operator and the two types of a failing operation, from Python's own wording."""
    m = re.search(r"unsupported operand type\(s\) for (\S+?)=?: '([\w.]+)' and '([\w.]+)'", message)
    if m is None:
        m = re.search(r"'(\S+)' not supported between instances of '([\w.]+)' and '([\w.]+)'", message)
    if m is not None:
        return Mixed(m.group(1), m.group(2), m.group(3))
    m = re.search(r'can only concatenate (\w+) \(not "(\w+)"\) to \1', message)
    if m is not None:
        return Mixed("+", m.group(1), m.group(2))
    m = re.search(r"can't multiply sequence by non-int of type '(\w+)'", message)
    if m is not None:
        return Mixed("*", "int", m.group(1))
    m = re.search(r"can't (compare|subtract) offset-naive and offset-aware datetimes", message)
    if m is not None:
        return Mixed("<" if m.group(1) == "compare" else "-", "offset-naive", "offset-aware")
    return None


# text and bytes meet: the value is decoded or encoded, never `str(b"...")` (which gives "b'...'")
_TRANSCODE = {("bytes", "str"): "{}.decode()", ("str", "bytes"): "{}.encode()"}


def _convert(expr: str, to: str, frm: str | None = None, atom: bool = False) -> str | None:
    """`expr` as a `to`; `frm`: its type when known; `atom`: a name, attribute, subscript or call (a method
    applies to all of it without parentheses)."""
    if (frm, to) in _TRANSCODE:
        return _TRANSCODE[(frm, to)].format(expr if atom else f"({expr})")
    pattern = _CONVERT.get(to)
    if to in _CONVERT_ONCE and not re.fullmatch(r"[\w.]+(\[[^()]*\])*", expr):
        pattern = _CONVERT_ONCE[to]
    return pattern.format(expr) if pattern else None


def _operations(tree: ast.AST, op: str) -> Iterator[tuple[ast.expr, ast.expr]]:
    """(left, right) of every operation on the line that applies `op` (any ordering for `<`: "can't
    compare" names none)."""
    ops = _COMPARE if op == "<" else (op,)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and _OPS.get(type(node.op)) in ops:
            yield node.left, node.right
        elif isinstance(node, ast.AugAssign) and _OPS.get(type(node.op)) in ops:
            yield node.target, node.value
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for i, cmp in enumerate(node.ops):
                if _OPS.get(type(cmp)) in ops:
                    yield sides[i], sides[i + 1]


# calls that compare the item they are handed with a container's items: (container, item, ...)
_COMPARING = frozenset({"heappush", "heappushpop", "heapreplace", "insort", "insort_left", "insort_right",
                        "bisect", "bisect_left", "bisect_right"})


def _keys_compared(tree: ast.AST) -> Iterator[ast.expr]:
    """The key a comparing call compares (`heapq.heappush(heap, (when, n, job))`: `when`)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        if getattr(node.func, "attr", getattr(node.func, "id", "")) in _COMPARING:
            item = node.args[1]
            key = item.elts[0] if isinstance(item, ast.Tuple) and item.elts else item
            if isinstance(key, ast.Name | ast.Attribute | ast.Subscript):
                yield key


def coercions(line: str, mixed: Mixed) -> Iterator[tuple[str, str]]:
    """(new line, what) for each operand of a matching operation converted to the other side's type, then
    a returned value converted to either type."""
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    code = stripped.encode()  # ast offsets count UTF-8 bytes
    try:  # a block opener (`if a < b:`) parses with a body
        tree = ast.parse(stripped + (" pass" if stripped.rstrip().endswith(":") else ""))
    except SyntaxError:
        return

    def replaced(node: ast.expr, to: str, frm: str | None = None) -> tuple[str, str] | None:
        if node.end_col_offset is None or node.lineno != 1 or node.end_lineno != 1:
            return None
        expr = code[node.col_offset: node.end_col_offset].decode()
        new = _convert(expr, to, frm, isinstance(node, ast.Name | ast.Attribute | ast.Subscript | ast.Call))
        if new is None:
            return None
        text = (code[: node.col_offset] + new.encode() + code[node.end_col_offset:]).decode()
        return line[:indent] + text, f"coerce {expr} to {to}"

    operations = list(_operations(tree, mixed.op))
    either = mixed.left.startswith("offset-")  # a datetime of either kind may be the stranger
    if either and not operations:  # compared inside a call (a heap, a sort): the keys it is handed
        for key in _keys_compared(tree):
            for to in (mixed.left, mixed.right):
                if variant := replaced(key, to):
                    yield variant
    if either and operations:  # every operand of the line as one kind (guarded: a no-op on that kind)
        operands = {(n.col_offset, n.end_col_offset): n for pair in operations for n in pair
                    if isinstance(n, ast.Name | ast.Attribute | ast.Subscript) and n.lineno == n.end_lineno == 1
                    and not any(isinstance(x, ast.Call) for x in ast.walk(n))}
        spans = sorted(operands)
        if all(a[1] is not None and a[1] <= b[0] for a, b in itertools.pairwise(spans)):
            for to in (mixed.right, mixed.left):
                text = code
                for start, end in reversed(spans):
                    text = text[:start] + (_convert(text[start:end].decode(), to) or "").encode() + text[end:]
                yield line[:indent] + text.decode(), f"coerce every operand to {to}"
    for left, right in operations:
        pairs = [(right, mixed.left, mixed.right), (left, mixed.right, mixed.left)]
        if either:
            pairs = [(node, to, None) for node in (left, right) for to in (mixed.right, mixed.left)]
        for node, to, frm in pairs:
            if not isinstance(node, ast.Constant) and (variant := replaced(node, to, frm)):
                yield variant
    body = tree.body[0] if len(tree.body) == 1 else None
    returned = body.value if isinstance(body, ast.Return) else None
    if not operations and returned is not None and not isinstance(returned, ast.Constant):
        for to in dict.fromkeys((mixed.left, mixed.right)):
            if variant := replaced(returned, to):
                yield variant[0], variant[1].replace("coerce ", "coerce returned ", 1)


def needs_import(text: str, new_text: str) -> str:
    """`new_text` with the imports its conversions need, where the file did not have those names."""
    for marker, statement in _IMPORTS.items():
        name = marker[:-1]
        if marker in new_text and marker not in text and not re.search(
                rf"^\s*(from\s+[\w.]+\s+import\s+[^\n]*\b{name}\b|{name}\s*=)", new_text, re.M):
            lines = new_text.splitlines(keepends=True)
            at = _after_imports(lines)
            new_text = "".join(lines[:at]) + statement + "\n" + "".join(lines[at:])
    return new_text


def _after_imports(lines: list[str]) -> int:
    """The line index after the module's leading imports (after a docstring and `__future__` at least)."""
    try:
        tree = ast.parse("".join(lines))
    except SyntaxError:
        return 0
    at = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and at == 0):
            at = node.end_lineno or at
        else:
            break
    return at


def function_coercions(text: str, line: int, mixed: Mixed) -> Iterator[tuple[str, str]]:
    """Naive and aware datetimes: every comparison (or subtraction) of the function around `line` with all
    its operands as one kind, aware then naive (a window test has a lower and an upper bound)."""
    if not mixed.left.startswith("offset-"):
        return
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    around = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
              and n.lineno <= line <= (n.end_lineno or 0)]
    if not around:
        return
    fn = max(around, key=lambda n: n.lineno)
    lines = text.splitlines(keepends=True)
    for to in (mixed.right, mixed.left):
        new_lines, changed = list(lines), 0
        for i in range(fn.lineno - 1, fn.end_lineno or fn.lineno):
            body = lines[i].rstrip("\n")
            new = next((v for v, what in coercions(body, mixed) if what == f"coerce every operand to {to}"), None)
            if new is not None:
                new_lines[i], changed = new + lines[i][len(body):], changed + 1
        if changed > 1:
            yield "".join(new_lines), f"coerce every operand in {fn.name}() to {to} ({changed} lines)"
