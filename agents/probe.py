"""A call that raises the reported error when the report gives no arguments: built values, kept only on a match.

    code = probe_call(root, "pkg/cfgsvc/server.py", "deadline", "TypeError",
                      "unsupported operand type(s) for +: 'float' and 'str'")   # code for a built repro, or None

Production tracebacks carry no argument values, and a crash often does not depend on them: a bad value
read from configuration, a key missing from a table, a type a commit changed (`now + cfg["timeout"]`
where the default became `"30"`), a field a refactor renamed (`parcel.dest_country`). The function of a
stack frame is called, in one subprocess with a time limit per call, with values built for its required
parameters from what the code says about them:

- no annotation: plain values (0.0, 0, 1, "a", "", None, [], {}) and the literals of the reported message
  (`KeyError: 'welcome'` gives "welcome");
- an annotation: values of that type (`int`, `str`, `list[Item]`, `Optional[...]`, `datetime`, an Enum's
  members), and an instance of a class of the repository built the same way from its constructor's
  parameters (`Parcel(weight=0, destination=Destination(country="a"))`), two levels deep;
- a method: called on an instance of its class built that way.

A call is kept only when it raises the reported exception type, with the reported message word for word,
inside the reported crash function (the one called, or one it calls): what the built values themselves
break (`None + x`) says something else, so it is never taken for the error. The module is imported the way
the repository's own code imports it: from the highest directory of its package chain
(`pkg/cfgsvc/server.py` with `pkg/cfgsvc/__init__.py` is `cfgsvc.server` with `pkg` on the path), or by its
full dotted path.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from agents.workspace import repro_env, run_heavy

__all__ = ["import_roots", "probe_call", "message_literals", "PROBES", "TRIAL_SOURCE"]

PROBES: tuple[Any, ...] = (0.0, 0, 1, "a", "", None, [], {})
MAX_TRIALS = 160
_TRIALS = Path(__file__).with_name("probe_trials.py")  # run by path in the repository's interpreter
PER_CALL_S = 2
_QUOTED = re.compile(r"""(?<!\w)'([^'\n]{1,80})'|(?<!\w)"([^"\n]{1,80})\"""")  # not the ' of "can't"
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")

# every built call goes through `_new`: the keywords a commit's signature does not take are dropped and the
# parameters it requires that the call does not give get a plain value of their annotation, so one repro
# runs at every commit bisect visits (an `Order(customer=...)` built at HEAD, before `customer` existed)
_NEW = r'''
import inspect as _inspect
def _new(f, *args, **kw):
    try:
        ps = _inspect.signature(f).parameters
    except (TypeError, ValueError):
        return f(*args, **kw)
    if not any(p.kind == p.VAR_KEYWORD for p in ps.values()):
        kw = {k: v for k, v in kw.items() if k in ps}
    plain = {str: "a", int: 0, float: 0.0, bool: False, list: [], dict: {}, "str": "a", "int": 0, "float": 0.0}
    given = list(ps)[:len(args)]
    for name, p in ps.items():
        if name in kw or name in given or p.default is not p.empty or p.kind not in (p.POSITIONAL_OR_KEYWORD,
                                                                                        p.KEYWORD_ONLY):
            continue
        kw[name] = plain.get(p.annotation, None)
    return f(*args, **kw)
'''

# one call under a time limit: what it raised and where (its last frame in the repository), None if it returned
TRIAL_SOURCE = r'''
import os, signal, traceback
def _alarm(*_):
    raise TimeoutError("the call took too long")
signal.signal(signal.SIGALRM, _alarm)
def trial(run, seconds):
    root = os.path.realpath(".") + os.sep
    signal.alarm(seconds)
    try:
        run()
        return None
    except TimeoutError:
        return None
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename).startswith(root)]
        last = frames[-1] if frames else None
        return [type(exc).__name__, str(exc), os.path.relpath(os.path.realpath(last.filename), root) if last else "",
                last.name if last else ""]
    finally:
        signal.alarm(0)
'''

# run in the repository's interpreter: one JSON line per trial (the call's code, what it raised and where)


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


def message_literals(message: str) -> list[Any]:
    """The quoted strings and the numbers of an error message, as values a call may need to raise it."""
    out: list[Any] = [a or b for a, b in _QUOTED.findall(message)]
    for number in _NUMBER.findall(_QUOTED.sub(" ", message)):
        out.append(float(number) if "." in number else int(number))
    return list(dict.fromkeys(out))[:6]


def probe_call(root: Path, path: str, function: str, exc_type: str, message: str, *,
               crash: tuple[str, str] | None = None, literals: bool = True, timeout_s: float = 30.0) -> str | None:
    """Code calling `function` of `path` (a module-level function, or a method of a class there) with built
    values that raise `exc_type: message`, or None.

    `message` is the report's message, which the call must raise word for word, and in the report's crash
    function `crash` (path, name), further in than `function` (a method a module-level caller reaches);
    by default in `function` itself. Without `literals` the message's own values are not given (a function
    that rejects its input with a `raise` naming it would only be shown to reject it)."""
    where = list(crash or (path, function))
    given = [repr(v) for v in message_literals(message)] if literals else []
    plain = list(dict.fromkeys([repr(v) for v in PROBES] + given))
    for sys_dir, module in import_roots(root, path):
        spec = {"sys_dir": sys_dir, "module": module, "function": function, "plain": plain, "literals": given,
                "max_trials": MAX_TRIALS, "per_call": PER_CALL_S, "new_source": _NEW, "trial_source": TRIAL_SOURCE}
        res = run_heavy([sys.executable, str(_TRIALS), json.dumps(spec)], root, timeout_s=timeout_s,
                        max_output=400_000, env=repro_env())
        for line in res.output.splitlines():
            if not line.startswith("PROBE "):
                continue
            call, out = json.loads(line[6:])
            if out and out[0] == exc_type and out[2:4] == where and out[1].strip() == message:
                return (f"import datetime as _dt, importlib, os, sys; "
                        f"sys.path.insert(0, os.path.abspath({sys_dir!r})); _m = importlib.import_module; "
                        f"exec({_NEW!r}); {call}")
    return None
