"""The calls on a failing test's crash path, with the arguments they were given, as code that runs alone.

    calls = capture_calls(root, repro)        # outermost first: [CapturedCall(path, function, code), ...]
    call = first_defined(root, calls)         # the outermost one whose function exists in this checkout
    run_call(root, call, repro)               # "bad" / "good" / "skip", judged like the repro itself

A HEAD test often cannot run on an older commit (it imports a module or calls a function added later),
so bisect cannot tell whether that commit has the bug. The production functions the test called on its
way to the crash usually existed earlier: re-running the outermost one that exists there, with the
arguments it got at HEAD, asks the old code the same question. Arguments are recorded when each call
starts (later mutation does not leak in) and kept only when they are literals (`ast.literal_eval` gives
them back equal), so the code is exact or absent, never a guess. Only module-level functions are
captured; methods need an instance that a literal cannot give.
"""

from __future__ import annotations

import ast
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.repro import Outcome, Repro, is_test_file, run_repro_traced
from agents.workspace import run_heavy, test_env

__all__ = ["CapturedCall", "capture_calls", "first_defined", "run_call", "string_arguments"]

_PLUGIN = "swarm_argcapture"
# a pytest plugin, written next to the run (the repository's interpreter imports it by name)
_PLUGIN_SOURCE = r'''
import ast, json, os, sys
import pytest

_ROOT = os.path.realpath(os.environ["SWARM_CAPTURE_ROOT"]) + os.sep
_OUT = os.environ["SWARM_CAPTURE_OUT"]
_MAX_CALLS = 200_000
_entries = {}
_ours = {}  # code object -> is it production code of the repository
_calls = 0


def _is_test(path):
    name = os.path.basename(path)
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or f"{os.sep}tests{os.sep}" in path or f"{os.sep}test{os.sep}" in path)


def _literal(value):
    try:
        text = repr(value)
        if len(text) > 20_000 or ast.literal_eval(text) != value:
            return None
        return text
    except Exception:
        return None


def _profile(frame, event, arg):
    global _calls
    if event != "call" or _calls > _MAX_CALLS:
        return
    code = frame.f_code
    ours = _ours.get(code)
    if ours is None:
        path = os.path.realpath(code.co_filename)
        ours = _ours[code] = path.startswith(_ROOT) and not _is_test(path[len(_ROOT) - 1:])
    if not ours:
        return
    _calls += 1
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    local = frame.f_locals
    args = [_literal(local.get(n)) for n in names[:code.co_argcount]]
    kwargs = {n: _literal(local.get(n)) for n in names[code.co_argcount:]}
    record = {"args": args, "kwargs": kwargs}
    i = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & 0x04:  # *args
        record["star"] = _literal(tuple(local.get(code.co_varnames[i], ())))
        i += 1
    if code.co_flags & 0x08:  # **kwargs
        record["starstar"] = _literal(dict(local.get(code.co_varnames[i], {})))
    _entries[id(frame)] = (code, record)


def _dump(tb):
    out = []
    while tb is not None:
        frame = tb.tb_frame
        entry = _entries.get(id(frame))
        if entry is not None and entry[0] is frame.f_code:
            code, record = entry
            out.append({"path": os.path.realpath(code.co_filename)[len(_ROOT):], "function": code.co_name,
                        "qualname": code.co_qualname, "module": frame.f_globals.get("__name__"), **record})
        tb = tb.tb_next
    with open(_OUT, "w") as f:
        json.dump(out, f)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    sys.setprofile(_profile)
    try:
        outcome = yield
    finally:
        sys.setprofile(None)
    if outcome.excinfo is not None:
        _dump(outcome.excinfo[2])
'''


@dataclass(frozen=True)
class CapturedCall:
    path: str  # repository-relative file of the function
    function: str
    code: str  # python code calling it with the recorded arguments

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _code(entry: dict[str, Any]) -> str | None:
    """`module.function(args...)` from a recorded call, or None unless every argument is a literal."""
    module, function = entry.get("module"), entry.get("function")
    if not module or module == "__main__" or entry.get("qualname") != function or not str(function).isidentifier():
        return None
    args, kwargs = list(entry.get("args") or []), dict(entry.get("kwargs") or {})
    values = [*args, *kwargs.values(), *(entry[k] for k in ("star", "starstar") if k in entry)]
    if any(v is None for v in values):
        return None
    if entry.get("star"):
        args.append(f"*{entry['star']}")
    parts = args + [f"{k}={v}" for k, v in kwargs.items()]
    if entry.get("starstar"):
        parts.append(f"**{entry['starstar']}")
    return f"import importlib; importlib.import_module({module!r}).{function}({', '.join(parts)})"


def capture_calls(root: Path, repro: Repro) -> list[CapturedCall]:
    """Run a pytest repro once more with the capture plugin: the production calls on its crash path
    whose arguments are all literals, outermost first (empty for other repros or when nothing qualifies)."""
    if repro.kind != "test" or "pytest" not in " ".join(repro.args):
        return []
    with tempfile.TemporaryDirectory(prefix="swarm-capture-") as tmp:
        (Path(tmp) / f"{_PLUGIN}.py").write_text(_PLUGIN_SOURCE)
        out = Path(tmp) / "calls.json"
        env = test_env({"SWARM_CAPTURE_ROOT": str(root), "SWARM_CAPTURE_OUT": str(out)})
        env["PYTHONPATH"] = tmp + (f":{env['PYTHONPATH']}" if env.get("PYTHONPATH") else "")
        run_heavy([*repro.args, "-p", _PLUGIN], root, timeout_s=repro.timeout_s, env=env)
        try:
            entries = json.loads(out.read_text())
        except (OSError, ValueError):
            return []
    calls = []
    for entry in entries:
        code = _code(entry)
        if code and not is_test_file(entry["path"]):
            calls.append(CapturedCall(entry["path"], entry["function"], code))
    return calls


def _defines(root: Path, path: str, function: str) -> bool:
    try:
        tree = ast.parse((root / path).read_text(errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == function for n in tree.body)


def first_defined(root: Path, calls: list[CapturedCall]) -> CapturedCall | None:
    """The outermost captured call whose module-level function exists in the checkout at `root`."""
    return next((c for c in calls if _defines(root, c.path, c.function)), None)


def run_call(root: Path, call: CapturedCall, repro: Repro) -> Outcome:
    """Run `call` alone at `root`: "bad" if it raises the reported error, "good" if it returns."""
    built = Repro("built", [sys.executable, "-c", call.code], f"{call.path}:{call.function}", shape=repro.shape,
                  timeout_s=repro.timeout_s)
    return run_repro_traced(root, built)[0]


def string_arguments(code: str, min_length: int = 3) -> list[str]:
    """The string literals among a recorded call's arguments (inside containers too), in order."""
    try:
        call = ast.parse(code.rsplit("; ", 1)[-1], mode="eval").body
    except SyntaxError:
        return []
    if not isinstance(call, ast.Call):
        return []
    values = [*call.args, *(k.value for k in call.keywords)]  # not the module name the call imports
    return [n.value for v in values for n in ast.walk(v) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and len(n.value) >= min_length and n.value.strip() == n.value and "\n" not in n.value]
