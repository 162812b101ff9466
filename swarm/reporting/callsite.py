"""What a caller passed, read back from its call expression, for a parameter the callee has since rebound.

    passed = passed_arguments(caller_frame, caller_lasti, callee_code)   # {"size": 512, "path": "a.png"}

A function that rebinds a parameter before the error (`size = min(size, width, height)`) no longer holds what
its caller passed, and a call replayed with the rebound value is not the call production made (review 24: the
crop that failed was never sent, so the repro could not reach the caller's bug). The caller is suspended in
that very call, so the names its argument expressions read still hold the values they had when it was made:
the call's node is found by the caller's current instruction's source position (Python 3.11 keeps one per
instruction), checked to call the callee's own function, and each argument written as a plain expression
is evaluated again. Only expressions that cannot run code are read: a name, a constant, a signed number,
an attribute found in an instance's or a module's `__dict__` (never a property), a subscript of a dict,
list or tuple by such an expression, a tuple or list of them. Anything else leaves that parameter unknown.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import linecache
from types import CodeType, FrameType, ModuleType
from typing import Any

__all__ = ["passed_arguments"]


class _Unknown(Exception):
    pass


def passed_arguments(caller: FrameType, lasti: int, callee: CodeType) -> dict[str, Any]:
    """Parameter name -> the value the caller's call expression passed, for those it passed as plain expressions
    (nothing when the call cannot be found, is not a call of `callee`'s function, or unpacks `*args`)."""
    try:
        return _passed(caller, lasti, callee)
    except Exception:  # noqa: BLE001 - reading the arguments back must never cost the report itself
        return {}


def _passed(caller: FrameType, lasti: int, callee: CodeType) -> dict[str, Any]:
    try:
        node = _call_at(caller.f_code, lasti)
    except (IndexError, SyntaxError, ValueError, TypeError):
        return {}
    if node is None:
        return {}
    scope = _Scope(caller)
    try:
        target = scope.value(node.func)
    except _Unknown:
        return {}
    if getattr(target, "__code__", None) is not callee:
        return {}  # a C function in between (map, sorted) or a wrapper: the expression is not this call's
    params = callee.co_varnames[:callee.co_argcount + callee.co_kwonlyargcount]
    out: dict[str, Any] = {}
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            break
        if i < callee.co_argcount:
            _read(scope, arg, params[i], out)
    for keyword in node.keywords:
        if keyword.arg is not None and keyword.arg in params:
            _read(scope, keyword.value, keyword.arg, out)
    return out


def _read(scope: _Scope, expr: ast.expr, name: str, out: dict[str, Any]) -> None:
    with contextlib.suppress(_Unknown):
        out[name] = scope.value(expr)


def _call_at(code: CodeType, lasti: int) -> ast.Call | None:
    positions = list(code.co_positions())
    line, end_line, col, end_col = positions[lasti // 2]
    if None in (line, end_line, col, end_col):
        return None
    tree = _parsed(code.co_filename, _source_stamp(code.co_filename))
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset) \
                == (line, end_line, col, end_col):
            return node
    return None


def _source_stamp(filename: str) -> int:
    return hash(tuple(linecache.getlines(filename)))


@functools.lru_cache(maxsize=64)
def _parsed(filename: str, _stamp: int) -> ast.Module | None:
    text = "".join(linecache.getlines(filename))
    if not text:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


class _Scope:
    """Evaluates side-effect-free expressions in a suspended frame."""

    def __init__(self, frame: FrameType) -> None:
        self._locals = frame.f_locals
        self._globals = frame.f_globals

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            for space in (self._locals, self._globals, vars(builtins)):
                if node.id in space:
                    return space[node.id]
            raise _Unknown
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
                and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
            return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            space = vars(base) if isinstance(base, ModuleType) or hasattr(base, "__dict__") else {}
            if isinstance(base, type) or node.attr not in space:
                raise _Unknown  # a class attribute may be a descriptor; an instance's own dict holds plain values
            return space[node.attr]
        if isinstance(node, ast.Subscript):
            base = self.value(node.value)
            if type(base) not in (dict, list, tuple):
                raise _Unknown
            try:
                return base[self.value(node.slice)]
            except (KeyError, IndexError, TypeError) as exc:
                raise _Unknown from exc
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self.value(e) for e in node.elts if not isinstance(e, ast.Starred)]
            if len(items) != len(node.elts):
                raise _Unknown
            return tuple(items) if isinstance(node, ast.Tuple) else items
        raise _Unknown
