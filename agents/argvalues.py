"""Typed values in a report's captured arguments: `{"$type": "decimal:Decimal", "$value": "12.50"}` and the like.

    has_typed(args)                        # whether a JSON value holds one
    REVIVER                                # `python -c` code binding `_r`, a json.loads object_hook rebuilding them
    source, imports = as_source(value)     # `decimal.Decimal('12.50')`, {"decimal"}: for a test file

The reporter (`swarm.reporting.frameargs`) sends a Decimal, a datetime, a date, a time, a timedelta, a UUID, an
Enum member of a plain value, a path, a set: each as its type (`module:qualname`) and a plain value, so one such
argument no longer costs the call all its arguments. The repro rebuilds them in the repository's own Python,
which may not have swarm installed: `REVIVER` is self-contained. The rule for each type: `timedelta` from
seconds, a type with `fromisoformat` from an ISO string, any other by calling it with the value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REVIVER", "TYPE_KEY", "VALUE_KEY", "as_source", "has_typed"]

TYPE_KEY, VALUE_KEY = "$type", "$value"

REVIVER = (
    "_t = lambda s: __import__('functools').reduce(getattr, s.split(':')[1].split('.'), "
    "importlib.import_module(s.split(':')[0])); "
    "_r = lambda d: d if set(d) != {'$type', '$value'} else (lambda c, v: c(seconds=v) if c.__name__ == "
    "'timedelta' else c.fromisoformat(v) if isinstance(v, str) and hasattr(c, 'fromisoformat') else c(v))("
    "_t(d['$type']), d['$value'])"
)


def _tagged(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {TYPE_KEY, VALUE_KEY} and isinstance(value[TYPE_KEY], str)


def has_typed(value: Any) -> bool:
    if _tagged(value):
        return True
    if isinstance(value, dict):
        return any(has_typed(v) for v in value.values())
    if isinstance(value, list):
        return any(has_typed(v) for v in value)
    return False


def as_source(value: Any) -> tuple[str, set[str]]:
    """Python source rebuilding a JSON value with typed values in it, and the modules it needs imported."""
    if _tagged(value):
        module, _, qualname = value[TYPE_KEY].partition(":")
        ctor, inner = f"{module}.{qualname}", value[VALUE_KEY]
        if qualname.rsplit(".", 1)[-1] == "timedelta":
            return f"{ctor}(seconds={inner!r})", {module}
        if isinstance(inner, str) and qualname.rsplit(".", 1)[-1] in ("datetime", "date", "time"):
            return f"{ctor}.fromisoformat({inner!r})", {module}
        source, imports = as_source(inner)
        return f"{ctor}({source})", imports | {module}
    if isinstance(value, dict):
        parts = [(repr(k), *as_source(v)) for k, v in value.items()]
        return "{" + ", ".join(f"{k}: {s}" for k, s, _ in parts) + "}", set().union(*(i for _, _, i in parts))
    if isinstance(value, list):
        parts = [as_source(v) for v in value]
        return "[" + ", ".join(s for s, _ in parts) + "]", set().union(*(i for _, i in parts))
    return repr(value), set()
