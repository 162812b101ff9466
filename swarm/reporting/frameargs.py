"""The arguments of the function an exception left, as `context.args` / `context.kwargs` of its report.

    args = frame_arguments(tb, root="/srv/app")   # {"args": [{"qty": 2, "unit_price": 9.5}], "kwargs": {}} or {}
    # and, when a caller's were plain data too: "calls": [{"file": "/srv/app/shop/cart.py", "function": "checkout",
    #                                                       "args": [...], "kwargs": {...}}]   (outermost first)

The offline brain reproduces an error by calling the crashing function with what the report gives
(README, "Agents and brains"); without its arguments it can only guess values, and a `KeyError` about a
payload's key is then rarely reproduced. An application cannot pass them through logging (`extra={"args": ...}`
collides with LogRecord's own `args`), so the report takes them from the traceback, as error trackers take
a frame's locals: the innermost frame of the application's own code (under `root` when given; never the
standard library or an installed package) that is a module-level function, its parameters' values as they
are when the exception left it. Kept only when every value is plain JSON data (strings, numbers, booleans,
None, lists and string-keyed dicts of them) or one of a few value types, sent as their type and a plain value:
`{"$type": "decimal:Decimal", "$value": "12.50"}` (a Decimal, datetime, date, time, timedelta in seconds, UUID,
path, an Enum member of a plain value, a set of plain values), and the whole is small; never when a
parameter's name says it holds a secret (`password`, `token`, `api_key`, …): then the report carries no
arguments at all. Any other object (an instance of the application's own class) leaves that call without them.

The callers' arguments go along as `context.calls` (up to `MAX_CALLERS` application frames above the innermost,
outermost first, each by the same rules, a secret-named parameter leaving that caller out): a regression in a
caller (a refactor that dropped the normalisation of an input) hands the crashing function a value it has never
accepted, so a call of the crashing function fails at every commit and names no cause; the caller's call, with
its own arguments, passes before the commit that broke it, and bisect finds that commit.
"""

from __future__ import annotations

import datetime
import decimal
import dis
import enum
import functools
import json
import os
import pathlib
import re
import sysconfig
import uuid
from types import CodeType, FrameType, TracebackType
from typing import Any

from swarm.reporting.callsite import passed_arguments

__all__ = ["MAX_ARGS_CHARS", "MAX_CALLERS", "frame_arguments"]

MAX_ARGS_CHARS = 8_192  # of the arguments' JSON: a few screens of data (a page of orders), not a dump of the process
MAX_CALLERS = 3  # callers above the innermost application frame whose arguments are kept
_SECRET = re.compile(r"pass(word|wd|phrase)?|secret|token|api_?key|auth|cookie|credential|private|session",
                     re.IGNORECASE)
_PLAIN = (str, int, float, bool, type(None))
TYPE_KEY, VALUE_KEY = "$type", "$value"  # agents.argvalues reads them back
_INSTALLED = tuple({os.path.abspath(p) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib")
                    if (p := sysconfig.get_paths().get(k))})


def frame_arguments(tb: TracebackType | None, root: str | None = None) -> dict[str, Any]:
    """{"args": [...], "kwargs": {...}} of the innermost application function in `tb` (nothing when there is none,
    it is a method, or its arguments cannot be sent as they are), and "calls": the callers' (see above)."""
    frames = _application_frames(tb, root)
    if not frames:
        return {}
    out: dict[str, Any] = dict(_arguments(*frames[-1]) or {})
    calls = []
    for frame, caller in frames[-1 - MAX_CALLERS:-1]:
        got = _arguments(frame, caller)
        if got is not None:
            calls.append({"file": frame.f_code.co_filename, "function": frame.f_code.co_name, **got})
    if calls:
        out["calls"] = calls
    return out


def _arguments(frame: FrameType, caller: tuple[FrameType, int] | None) -> dict[str, Any] | None:
    """The call as the caller most likely made it: required parameters positional, a parameter with a default
    only when its value differs from that default (by keyword); one the body rebinds is what the caller's call
    expression passed (`swarm.reporting.callsite`) or, when that cannot be read, left out (its value is no
    longer the argument); None when a required one is rebound and unread or a value cannot be sent."""
    code = frame.f_code
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if not names or names[0] in ("self", "cls") or any(_SECRET.search(n) for n in names):
        return None
    fn = frame.f_globals.get(code.co_name)
    if fn is None:  # a nested function or a method: the brain calls module-level ones
        return None
    values = frame.f_locals
    if any(n not in values for n in names):
        return None
    defaults = _defaults(fn, code)
    rebound = _rebound(code)
    if rebound and caller is not None:
        passed = passed_arguments(caller[0], caller[1], code)
        values = {n: passed.get(n, values[n]) for n in names}
        rebound = rebound - set(passed)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    try:
        for i, n in enumerate(names):
            if n in defaults and i >= code.co_posonlyargcount:
                # a default the caller left (a parameter a later commit added is not passed to older code)
                if n not in rebound and not _same(values[n], defaults[n]):
                    keywords[n] = _sendable(values[n])
            elif n in rebound:
                return None  # what the caller passed is gone
            elif i < code.co_argcount:
                positional.append(_sendable(values[n]))
            else:
                keywords[n] = _sendable(values[n])
    except _Unsendable:
        return None
    try:
        size = len(json.dumps([positional, keywords], allow_nan=False))
    except (TypeError, ValueError):
        return None
    return {"args": positional, "kwargs": keywords} if size <= MAX_ARGS_CHARS else None


def _defaults(fn: Any, code: CodeType) -> dict[str, Any]:
    """Parameter name -> default of the function whose code is `code` (nothing when `fn` is not it)."""
    if getattr(fn, "__code__", None) is not code:
        return {}
    positional = code.co_varnames[:code.co_argcount]
    values = tuple(getattr(fn, "__defaults__", None) or ())
    out = dict(zip(positional[len(positional) - len(values):], values, strict=True))
    return out | dict(getattr(fn, "__kwdefaults__", None) or {})


def _same(value: Any, default: Any) -> bool:
    return value is default or (type(value) is type(default) and isinstance(value, _PLAIN) and value == default)


@functools.lru_cache(maxsize=4096)
def _rebound(code: CodeType) -> frozenset[str]:
    """The parameters the function's body assigns or deletes."""
    params = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    return frozenset(str(i.argval) for i in dis.get_instructions(code)
                     if i.opname in ("STORE_FAST", "DELETE_FAST", "STORE_DEREF", "DELETE_DEREF")
                     and i.argval in params)


def _application_frames(tb: TracebackType | None,
                        root: str | None) -> list[tuple[FrameType, tuple[FrameType, int] | None]]:
    """The frames of the application's own code in `tb`, outermost first, each with its caller's frame and
    instruction when the traceback holds them (the caller may be anyone's code)."""
    base = os.path.abspath(root) + os.sep if root else None
    found = []
    caller: tuple[FrameType, int] | None = None
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        ours = not tb.tb_frame.f_code.co_filename.startswith("<") and not filename.startswith(_INSTALLED)
        if ours and (base is None or filename.startswith(base)):
            found.append((tb.tb_frame, caller))
        caller = (tb.tb_frame, tb.tb_lasti)
        tb = tb.tb_next
    return found


class _Unsendable(Exception):
    pass


def _sendable(value: Any, depth: int = 0) -> Any:
    """The value as plain JSON data, a typed value as `{"$type": "module:qualname", "$value": plain}` (see the
    module docstring); `_Unsendable` for anything else."""
    if isinstance(value, _PLAIN):
        return value
    if depth >= 4:
        raise _Unsendable
    if isinstance(value, (list, tuple)):
        return [_sendable(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {TYPE_KEY, VALUE_KEY} or not all(isinstance(k, str) for k in value):
            raise _Unsendable  # a dict of the typed form's own shape would be read as one
        return {k: _sendable(v, depth + 1) for k, v in value.items()}
    kind = type(value)
    if kind.__module__ in ("__main__", "builtins") and not isinstance(value, (set, frozenset)):
        raise _Unsendable  # not importable where the repro runs
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        plain: Any = value.isoformat()
    elif isinstance(value, datetime.timedelta):
        plain = value.total_seconds()
    elif isinstance(value, (decimal.Decimal, uuid.UUID, pathlib.PurePath)):
        plain = str(value)
    elif isinstance(value, enum.Enum) and isinstance(value.value, _PLAIN):
        plain = value.value
    elif isinstance(value, (set, frozenset)) and all(isinstance(v, _PLAIN) for v in value):
        plain = sorted(value, key=repr)
    else:
        raise _Unsendable
    return {TYPE_KEY: f"{kind.__module__}:{kind.__qualname__}", VALUE_KEY: plain}
