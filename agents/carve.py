"""Arguments carved from the repository's own tests, then varied: a repro for a crash no test reaches.

    records = carve(root, suite_args, [("pkg/jobs.py", "schedule")])     # what the tests passed, pickled
    code = varied_call(root, records, "TypeError", message, ("pkg/jobs.py", "<lambda>"))   # or None

The tests call the functions of the crash stack with values that make sense (a queue holding jobs, a
policy with its routes), values that made-up ones rarely reach. The suite runs once with a trace function
that pickles the arguments of the first few calls of each function of the stack (carving, after Elbaum et
al.'s carved unit tests). Each carved call is then replayed with one change at a time, the changes
production data makes and tests do not: a field left None, a number read as text ("60" from an ini file),
a naive datetime made aware or an aware one naive, a string replaced by a literal of the reported message,
a collection emptied. A call is kept only when it raises the reported error word for word in the crash
function, as the probe's are (`agents.probe`); its code carries the pickle, so bisect can run it at any
commit (where the pickle no longer loads, the commit says nothing).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents.probe import TRIAL_SOURCE, import_roots
from agents.workspace import run_heavy, test_env

__all__ = ["carve", "varied_call", "Carved"]

PER_FUNCTION = 3  # calls carved per function
MAX_PICKLE = 24_000  # bytes of one carved call (it goes into the repro's command line)
MAX_TRIALS = 240
PER_ROW = 60  # changes tried per carved call
PER_CALL_S = 2

Carved = dict[str, Any]  # {"path", "function", "names", "pickle" (base64), "method": bool}

# imported by the interpreters the test command starts (PYTHONPATH): a global trace function that records
# the arguments of the target functions' calls and writes them at exit
_SITECUSTOMIZE = r'''
import atexit, base64, json, os, pickle, sys, threading
_SPEC = json.loads(os.environ.get("SWARM_CARVE_SPEC", "{}"))
if _SPEC:
    _TARGETS = {(os.path.realpath(p), f) for p, f in _SPEC["targets"]}
    _OUT, _PER, _MAX = _SPEC["out"], _SPEC["per"], _SPEC["max_pickle"]
    _SEEN, _ROWS, _CODES = {}, [], {}

    def _tracer(frame, event, arg):
        code = frame.f_code
        hit = _CODES.get(code)
        if hit is None:
            hit = _CODES[code] = (os.path.realpath(code.co_filename), code.co_name) in _TARGETS
        if not hit or code.co_flags & 0x04:  # *args: not replayed
            return None
        key = (code.co_filename, code.co_name)
        if _SEEN.get(key, 0) >= _PER:
            return None
        n = code.co_argcount + code.co_kwonlyargcount + (1 if code.co_flags & 0x08 else 0)
        names = list(code.co_varnames[:n])
        try:
            data = pickle.dumps({k: frame.f_locals[k] for k in names})
        except Exception:
            return None
        if len(data) > _MAX:
            return None
        _SEEN[key] = _SEEN.get(key, 0) + 1
        _ROWS.append({"file": os.path.realpath(code.co_filename), "function": code.co_name,
                      "qualname": getattr(code, "co_qualname", code.co_name), "names": names,
                      "kwargs": code.co_varnames[n - 1] if code.co_flags & 0x08 else None,
                      "pickle": base64.b64encode(data).decode()})
        return None

    def _write():
        sys.settrace(None)
        with open(_OUT + ".%d" % os.getpid(), "w") as fh:
            json.dump(_ROWS, fh)

    atexit.register(_write)
    sys.settrace(_tracer)
    threading.settrace(_tracer)
'''


def carve(root: Path, suite_args: list[str], targets: list[tuple[str, str]], *,
          timeout_s: float = 300.0) -> list[Carved]:
    """Run the test command once, recording the calls of `targets` ((repository path, function name))."""
    if not targets or not suite_args:
        return []
    with tempfile.TemporaryDirectory(prefix="swarm-carve-") as tmp:
        Path(tmp, "sitecustomize.py").write_text(_SITECUSTOMIZE)
        spec = {"targets": [[str(root / p), f] for p, f in targets], "out": str(Path(tmp, "calls")),
                "per": PER_FUNCTION, "max_pickle": MAX_PICKLE}
        env = test_env({"SWARM_CARVE_SPEC": json.dumps(spec)})
        env["PYTHONPATH"] = tmp + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        run_heavy(suite_args, root, timeout_s=timeout_s, max_output=20_000, env=env)
        rows: list[Carved] = []
        for out in sorted(Path(tmp).glob("calls.*")):
            try:
                rows += json.loads(out.read_text())
            except (OSError, ValueError):
                continue
    real = os.path.realpath(root) + os.sep
    out_rows: list[Carved] = []
    for row in rows:
        if not row["file"].startswith(real) or "<" in row["qualname"]:
            continue  # a lambda or a nested function is not callable from outside
        path = row["file"][len(real):]
        method = bool(row["names"]) and row["names"][0] == "self" and "." in row["qualname"]
        out_rows.append({"path": path, "function": row["function"], "qualname": row["qualname"],
                         "names": row["names"], "kwargs": row["kwargs"], "pickle": row["pickle"], "method": method})
    return out_rows


# the replay: each carved call with one change at a time; one JSON line per trial, as the probe's
_REPLAY = r'''
import base64, datetime as _dt, importlib, json, os, pickle, sys
sys.path.insert(0, os.path.abspath({sys_dir!r}))
ROWS, LITERALS, MAX_TRIALS, PER_ROW = {rows!r}, {literals!r}, {max_trials}, {per_row}

def leaves(value, path, depth):
    """(path, value) of what can be changed in place: attributes, dict items, list items, two levels deep."""
    if depth > 3:
        return
    if isinstance(value, dict):
        items = [(k, v) for k, v in list(value.items())[:6] if isinstance(k, (str, int))]
        for k, v in items:
            yield path + "[%r]" % (k,), v
            yield from leaves(v, path + "[%r]" % (k,), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield path + "[%d]" % i, v
            yield from leaves(v, path + "[%d]" % i, depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, type) and type(value).__module__ not in (
            "builtins", "datetime", "decimal"):
        for k, v in list(vars(value).items())[:12]:
            if not k.startswith("__"):
                yield path + "." + k, v
                yield from leaves(v, path + "." + k, depth + 1)

def changes(value):
    """Code for the values production data puts where the tests had `value`."""
    out = []
    if value is not None:
        out.append("None")
    if isinstance(value, bool):
        return out
    if isinstance(value, (int, float)):
        out.append(repr(str(value)))
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            out.append(repr(int(value)))
        out += [repr(lit) for lit in LITERALS if isinstance(lit, str) and lit != value]
    if isinstance(value, _dt.datetime):
        out.append("_v.replace(tzinfo=None)" if value.tzinfo else "_v.replace(tzinfo=_dt.timezone.utc)")
    if isinstance(value, (list, dict, set, tuple)) and value:
        out.append(type(value).__name__ + "()")
    return out

def assign(path, expr):
    """`a['job'].priority = X` as code that also sets a frozen dataclass's field."""
    head, sep, name = path.rpartition(".")
    if sep and "[" not in name:
        return "_v = %s; object.__setattr__(%s, %r, %s)" % (path, head, name, expr)
    return "_v = %s; %s = %s" % (path, path, expr)

def call_code(row):
    mod = importlib.import_module(row["module"])
    kw = "a.pop(%r, {{}})" % row["kwargs"] if row["kwargs"] else "{{}}"
    if row["method"]:
        return "_k = %s; _s = a.pop('self'); getattr(_s, %r)(**a, **_k)" % (kw, row["function"])
    return "_k = %s; _m(%r).%s(**a, **_k)" % (kw, row["module"], row["function"])

{trial_source}
trials = []
for n, row in enumerate(ROWS):
    try:
        a = pickle.loads(base64.b64decode(row["pickle"]))
        call = call_code(row)
    except Exception:
        continue
    edits = ["pass"]
    for path, value in leaves(a, "a", 0):
        edits += [assign(path, c) for c in changes(value)]
    trials += [(n, e, call) for e in list(dict.fromkeys(edits))[:PER_ROW]]
for n, edit, call in trials[:MAX_TRIALS]:
    ns = {{"_m": importlib.import_module, "_dt": _dt}}

    def run():
        ns["a"] = pickle.loads(base64.b64decode(ROWS[n]["pickle"]))
        exec(edit, ns)
        exec(call, ns)
    out = trial(run, {per_call})
    print("CARVED " + json.dumps([n, edit, call, out]), flush=True)
'''


def varied_call(root: Path, records: list[Carved], exc_type: str, message: str, crash: tuple[str, str],
                literals: list[Any], *, timeout_s: float = 60.0) -> tuple[str, str, str] | None:
    """(code of a call raising `exc_type: message` in `crash`, "path:function" called, what was changed)
    from `records` (tried in their order), or None."""
    by_root: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        ways = import_roots(root, rec["path"])
        if not ways:
            continue
        sys_dir, module = ways[0]
        by_root.setdefault((sys_dir, module), []).append({**rec, "module": module})
    for (sys_dir, _), rows in by_root.items():
        script = _REPLAY.format(sys_dir=sys_dir, rows=rows, literals=literals, max_trials=MAX_TRIALS,
                                per_row=PER_ROW, per_call=PER_CALL_S, trial_source=TRIAL_SOURCE)
        res = run_heavy([sys.executable, "-c", script], root, timeout_s=timeout_s, max_output=600_000,
                        env=test_env())
        for line in res.output.splitlines():
            if not line.startswith("CARVED "):
                continue
            n, edit, call, out = json.loads(line[7:])
            if out and out[0] == exc_type and out[2:4] == list(crash) and out[1].strip() == message:
                blob = rows[n]["pickle"]
                code = (f"import base64, datetime as _dt, importlib, os, pickle, sys; "
                        f"sys.path.insert(0, os.path.abspath({sys_dir!r})); _m = importlib.import_module; "
                        f"a = pickle.loads(base64.b64decode({blob!r})); {edit}; {call}")
                what = edit.split("; ", 1)[1] if edit != "pass" else "nothing changed"
                return code, f"{rows[n]['path']}:{rows[n]['function']}", what
    return None
