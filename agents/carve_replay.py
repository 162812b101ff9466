"""The carved calls' replays, run by `agents.carve.varied_call` in the repository's interpreter, its root the
working directory: `python carve_replay.py SPEC_JSON`. Each carved call is replayed unchanged, then with one
change at a time; one line `CARVED [row, edit, call, outcome]` per trial (outcome as the probe's: the
exception's type, message, file and function; null when the call returned). Standalone: no swarm import.
"""

import base64
import datetime as _dt
import importlib
import json
import os
import pickle
import sys

SPEC = json.loads(sys.argv[1])
sys.path.insert(0, os.path.abspath(SPEC["sys_dir"]))
ROWS, LITERALS, MAX_TRIALS, PER_ROW = SPEC["rows"], SPEC["literals"], SPEC["max_trials"], SPEC["per_row"]
PER_CALL = SPEC["per_call"]
_TRIAL: dict = {}
exec(SPEC["trial_source"], _TRIAL)
trial = _TRIAL["trial"]

def leaves(value, path, depth):
    """(path, value) of what can be changed in place: attributes, dict items, list items, two levels deep."""
    if depth > 3:
        return
    if isinstance(value, dict):
        items = [(k, v) for k, v in list(value.items())[:6] if isinstance(k, (str, int))]
        for k, v in items:
            yield f"{path}[{k!r}]", v
            yield from leaves(v, f"{path}[{k!r}]", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield f"{path}[{i}]", v
            yield from leaves(v, f"{path}[{i}]", depth + 1)
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
        return f"_v = {path}; object.__setattr__({head}, {name!r}, {expr})"
    return f"_v = {path}; {path} = {expr}"

def call_code(row):
    importlib.import_module(row["module"])  # a module that no longer imports: the row is skipped
    kw = f"a.pop({row['kwargs']!r}, {{}})" if row["kwargs"] else "{}"
    if row["method"]:
        return f"_k = {kw}; _s = a.pop('self'); getattr(_s, {row['function']!r})(**a, **_k)"
    return f"_k = {kw}; _m({row['module']!r}).{row['function']}(**a, **_k)"

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


def replay(n, edit, call):
    ns = {"_m": importlib.import_module, "_dt": _dt, "a": pickle.loads(base64.b64decode(ROWS[n]["pickle"]))}
    exec(edit, ns)
    exec(call, ns)


for n, edit, call in trials[:MAX_TRIALS]:
    out = trial(lambda n=n, edit=edit, call=call: replay(n, edit, call), PER_CALL)
    print("CARVED " + json.dumps([n, edit, call, out]), flush=True)
