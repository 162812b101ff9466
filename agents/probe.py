"""A call that raises the reported error when the report gives no arguments: probe values, kept only on a match.

    code = probe_call(root, "pkg/cfgsvc/server.py", "deadline", 1, [], "TypeError",
                      "unsupported operand type(s) for +: 'float' and 'str'")   # code for a built repro, or None

Production tracebacks carry no argument values, and a crash often does not depend on them: a bad value
read from configuration, a key missing from a table, a type a commit changed (`now + cfg["timeout"]`
where the default became `"30"`). A module-level function on the stack is called with a few plain values (0.0, 0,
1, "a", "", None, [], {}) for its required parameters, in one subprocess with a time limit per call; a call is
kept only when it raises the reported exception type, with the reported message word for word, inside the
reported crash function (the one called, or one it calls: a method the module-level function on the stack
reaches): what the probe values themselves break (`None + x`) says something else, so it is
never taken for the error. The module is imported the way the repository's own code imports it: from the
highest directory of its package chain (`pkg/cfgsvc/server.py` with `pkg/cfgsvc/__init__.py` is
`cfgsvc.server` with `pkg` on the path), or by its full dotted path.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

from agents.workspace import run_heavy, test_env

__all__ = ["import_roots", "probe_call", "PROBES"]

PROBES: tuple[Any, ...] = (0.0, 0, 1, "a", "", None, [], {})
MAX_TRIALS = 80
PER_CALL_S = 2

# run in the repository's interpreter: one JSON line per trial (what it raised, and where, innermost first)
_SCRIPT = r'''
import importlib, json, os, signal, sys, traceback
sys.path.insert(0, os.path.abspath({sys_dir!r}))
fn = getattr(importlib.import_module({module!r}), {function!r})
root = os.path.realpath(".") + os.sep
def _alarm(*_):
    raise TimeoutError("probe call took too long")
signal.signal(signal.SIGALRM, _alarm)
for args, kwargs in json.loads({trials!r}):
    signal.alarm({per_call})
    try:
        fn(*args, **kwargs)
        out = None
    except TimeoutError:
        out = None
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename).startswith(root)]
        last = frames[-1] if frames else None
        out = [type(exc).__name__, str(exc), os.path.relpath(os.path.realpath(last.filename), root) if last else "",
               last.name if last else ""]
    finally:
        signal.alarm(0)
    print("PROBE " + json.dumps([args, kwargs, out]), flush=True)
'''


def import_roots(root: Path, path: str) -> list[tuple[str, str]]:
    """(directory to put on sys.path, module name) ways to import `path`, the package chain's first."""
    if not path.endswith(".py"):
        return []
    parts = path[:-3].split("/")
    top = len(parts) - 1  # the file's directory; go up while it is a package
    while top > 0 and (root.joinpath(*parts[:top]) / "__init__.py").is_file():
        top -= 1
    out = []
    for start in (top, 0):
        mod = parts[start:-1] if parts[-1] == "__init__" else parts[start:]
        if mod and all(p.isidentifier() for p in mod):
            way = ("/".join(parts[:start]) or ".", ".".join(mod))
            if way not in out:
                out.append(way)
    return out


def _trials(positional: int, keywords: list[str]) -> list[tuple[list[Any], dict[str, Any]]]:
    n = positional + len(keywords)
    if n == 0:
        return [([], {})]
    combos: list[tuple[Any, ...]] = [(v,) * n for v in PROBES]  # the same value everywhere first
    combos += [c for c in itertools.product(PROBES[:5], repeat=n) if c not in combos]
    return [(list(c[:positional]), dict(zip(keywords, c[positional:], strict=True))) for c in combos[:MAX_TRIALS]]


def probe_call(root: Path, path: str, function: str, positional: int, keywords: list[str],
               exc_type: str, message: str, *, crash: tuple[str, str] | None = None,
               timeout_s: float = 20.0) -> str | None:
    """Code calling `function` of `path` with probe values that raise `exc_type: message`, or None.

    `positional` required positional parameters and the required keyword-only `keywords` get probe values;
    `message` is the report's message, which the call must raise word for word, and in the report's crash
    function `crash` (path, name), further in than `function` (a method a module-level caller reaches);
    by default in `function` itself."""
    where = list(crash or (path, function))
    trials = json.dumps(_trials(positional, keywords))
    for sys_dir, module in import_roots(root, path):
        script = _SCRIPT.format(sys_dir=sys_dir, module=module, function=function, trials=trials, per_call=PER_CALL_S)
        res = run_heavy([sys.executable, "-c", script], root, timeout_s=timeout_s, max_output=400_000, env=test_env())
        for line in res.output.splitlines():
            if not line.startswith("PROBE "):
                continue
            args, kwargs, out = json.loads(line[6:])
            if out and out[0] == exc_type and out[2:4] == where and out[1].strip() == message:
                return (f"import importlib, json, os, sys; sys.path.insert(0, os.path.abspath({sys_dir!r})); "
                        f"m = importlib.import_module({module!r}); "
                        f"m.{function}(*json.loads({json.dumps(args)!r}), **json.loads({json.dumps(kwargs)!r}))")
    return None
