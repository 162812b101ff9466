"""Find a repro at the worktree's HEAD: the tests that raise the reported error, or a call built from the stack.

    repro = find_repro(ws.root, report, "python -m pytest -q")   # Repro(kind="test"|"built"|"suite"|"none")

In order: a failing test that raises it (run on its own); the whole test command when it is not a runner
whose tests can be named; a frame's function called with what the report gives (no arguments, or
`context.args` / `context.kwargs`); with values built from what the code says (`agents.probe`); with the
arguments the repository's own tests pass it, one value changed (`agents.carve`: an injected repro).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.argvalues import REVIVER, has_typed
from agents.carve import carve, varied_call
from agents.probe import import_roots, message_literals, probe_call
from agents.repro import (
    _EXC,
    _FRAME,
    ErrorShape,
    Repro,
    TraceFrame,
    _trace_dict,
    classify,
    is_test_file,
    parse_tracebacks,
    repo_path,
    run_repro_traced,
)
from agents.testcmd import TestCommand
from agents.workspace import run_heavy, test_env
from swarm.models import ErrorReport

__all__ = ["find_repro", "caller_repros", "injected_name", "test_args"]

_PYTEST_FAIL = re.compile(r"^(?:FAILED|ERROR) ([^\s\[]+(?:\[.*?\](?= - |$))?)(?: - (.*))?$", re.M)
_UNITTEST_FAIL = re.compile(r"^(?:ERROR|FAIL): ([\w.]+) \(([\w.]+)\)", re.M)
MAX_TESTS_TRIED = 8
MAX_PROBED_FRAMES = 6


def _failing_tests(output: str, runner: str) -> list[tuple[str, str]]:
    if runner == "pytest":
        return [(m[1], m[2] or "") for m in _PYTEST_FAIL.finditer(output) if "::" in m[1] or m[1].endswith(".py")]
    if runner == "unittest":
        found = []
        for name, where in _UNITTEST_FAIL.findall(output):
            if where.startswith("unittest."):  # a module that failed to import: run the module
                found.append((name, ""))
            else:
                found.append((where if where.endswith("." + name) else f"{where}.{name}", ""))
        return found
    return []


def test_args(command: TestCommand, test_id: str, root: Path) -> list[str]:
    """One failing test on its own: the test command with its path arguments replaced by the test's id."""
    if command.runner == "pytest":
        return command.argv(test_id, "--tb=native", "-p", "no:cacheprovider", "-q", drop_paths_in=root)
    return [sys.executable, "-m", "unittest", test_id]


def _suite_args(command: TestCommand) -> list[str]:
    """The whole test command, with native tracebacks under pytest (what the repro's trace is read from)."""
    return command.argv("--tb=native", "-p", "no:cacheprovider") if command.runner == "pytest" else command.argv()


def _module_of(path: str) -> str | None:
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def _function_def(root: Path, frame: TraceFrame) -> ast.FunctionDef | None:
    try:
        tree = ast.parse((root / frame.path).read_text(errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return None
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == frame.function), None)


def _call_for(root: Path, frame: TraceFrame, report: ErrorReport, given: dict[str, Any] | None = None) -> str | None:
    """Python code calling the frame's function with what the report gives (`given`: a caller's own captured
    arguments, else `context.args` / `context.kwargs`), or None if it cannot be called."""
    module = _module_of(frame.path)
    if module is None:
        return None
    # `src/pkg/mod.py`, `service/pkg/mod.py`: imported from the top of its package chain, as its code does
    in_package = (root / frame.path).parent.joinpath("__init__.py").is_file()
    top = next((way for way in import_roots(root, frame.path)
                if way[0] != "." and (in_package or way[0].rsplit("/", 1)[-1] in ("src", "lib"))), None)
    if top is not None:
        module = top[1]
    path = f"import os, sys; sys.path.insert(0, os.path.abspath({top[0]!r})); " if top is not None else ""
    if frame.function == "<module>":
        return f"{path}import runpy; runpy.run_module({module!r}, run_name='__main__')"
    fn = _function_def(root, frame)
    if fn is None:
        return None
    extra = given if given is not None else (report.context.model_extra or {})
    args, kwargs = extra.get("args"), extra.get("kwargs")
    a = fn.args
    required = len(a.posonlyargs) + len(a.args) - len(a.defaults)
    required += sum(1 for d in a.kw_defaults if d is None)
    if isinstance(args, list) or isinstance(kwargs, dict):
        call_args = json.dumps(args if isinstance(args, list) else [])
        call_kwargs = json.dumps(kwargs if isinstance(kwargs, dict) else {})
        if has_typed(args) or has_typed(kwargs):  # a Decimal, a datetime ...: rebuilt as they were sent
            return (f"{path}import importlib, json; {REVIVER}; m = importlib.import_module({module!r}); "
                    f"m.{frame.function}(*json.loads({call_args!r}, object_hook=_r), "
                    f"**json.loads({call_kwargs!r}, object_hook=_r))")
        return (f"{path}import importlib, json; m = importlib.import_module({module!r}); "
                f"m.{frame.function}(*json.loads({call_args!r}), **json.loads({call_kwargs!r}))")
    if required:
        return None
    return f"{path}import importlib; importlib.import_module({module!r}).{frame.function}()"


def _probe_for(root: Path, frame: TraceFrame, shape: ErrorShape, report: ErrorReport) -> str | None:
    """A call of the frame's function (module-level, or a method on an instance built for it) with built
    values that raise the report's own error, word for word (`got 0.0` is the probe's own doing where the
    report says `got 5000.0`)."""
    e = _EXC.match(report.error.strip().splitlines()[0]) if report.error.strip() else None
    message = (e["msg"] or "").strip() if e else ""
    if frame.function == "<module>" or not message or not frame.function.isidentifier():
        return None
    try:
        source = (root / frame.path).read_text(errors="replace")
    except OSError:
        return None
    if not re.search(rf"^\s*(?:async\s+)?def {re.escape(frame.function)}\b", source, re.M):
        return None
    crash = (shape.path, shape.function) if shape.path and shape.function else None
    lines = source.splitlines()
    rejects = (frame.path, frame.function) == crash and 0 < frame.line <= len(lines) and \
        lines[frame.line - 1].strip().startswith("raise ")
    return probe_call(root, frame.path, frame.function, shape.exc_type, message, crash=crash, literals=not rejects)


def _carved_repro(root: Path, frames: list[TraceFrame], shape: ErrorShape, report: ErrorReport,
                  suite_args: list[str], timeout_s: float) -> Repro | None:
    """A call the tests make of a function of the stack, replayed with one value changed (`agents.carve`)."""
    e = _EXC.match(report.error.strip().splitlines()[0]) if report.error.strip() else None
    message = (e["msg"] or "").strip() if e else ""
    if not message:
        return None
    order = [(f.path, f.function) for f in frames]
    records = sorted((r for r in carve(root, suite_args, order) if (r["path"], r["function"]) in order),
                     key=lambda r: order.index((r["path"], r["function"])))
    found = varied_call(root, records, shape.exc_type, message, (shape.path, shape.function),
                        message_literals(message)) if records else None
    if found is None:
        return None
    code, target, what = found
    repro = Repro("built", [sys.executable, "-c", code], target, shape=asdict(shape), timeout_s=timeout_s,
                  suite=suite_args, injected="" if what == "nothing changed" else what)
    outcome, trace = run_repro_traced(root, repro)
    if outcome != "bad" or trace is None:
        return None
    repro.trace = _trace_dict(trace)
    repro.detail = (f"no test reproduces it; built a repro calling {target.split(':')[1]}() of {target.split(':')[0]} "
                    f"with the arguments a test gives it, changed: {what[:120]}; it raises {trace.exc_type}: "
                    f"{trace.message[:160]}")
    return repro


def injected_name(edit: str) -> str | None:
    """The field or key an injected repro changed: `object.__setattr__(a['self'].rule, 'window_seconds', '30')`
    and `a['payload']['customer']['id'] = None` give `window_seconds` and `id`."""
    m = re.search(r"object\.__setattr__\([^,]+, '(\w+)'", edit) or re.search(r"""[.\[]'?(\w+)'?\]?\s*=[^=]""", edit)
    return m[1] if m else None


def find_repro(root: Path, report: ErrorReport, test_command: str, *, timeout_s: float = 300.0,
               test_timeout_s: float = 120.0) -> Repro:
    """Find a repro at the worktree's current commit (HEAD): a failing test, else a call built from the stack.
    Raises TestCommandError (a failed Result) when the test command cannot run there at all: nothing it
    says could then be blamed on a commit."""
    shape = ErrorShape.of_report(report, root)
    shape_d = asdict(shape)
    command = TestCommand(test_command)
    runner = command.runner
    suite_args = _suite_args(command)
    suite = run_heavy(suite_args, root, timeout_s=timeout_s, max_output=400_000, env=test_env())
    command.check(suite, " at the branch head")
    failing = _failing_tests(suite.output, runner)
    words = {shape.exc_type, *(shape.path.rsplit("/", 1)[-1][:-3].split("_") if shape.path else [])}
    failing.sort(key=lambda t: -sum(1 for w in words if w and w in (t[0] + t[1])))
    tried: list[str] = []
    # a test raising the same type and message elsewhere is kept only until one raises it where the report's
    # error was raised: two functions can both divide by zero, and the wrong one blames the wrong commit
    elsewhere: Repro | None = None
    for test_id, _ in failing[:MAX_TESTS_TRIED]:
        repro = Repro("test", test_args(command, test_id, root), test_id, shape=shape_d,
                      timeout_s=test_timeout_s, suite=suite_args)
        outcome, trace = run_repro_traced(root, repro)
        tried.append(test_id)
        if outcome == "bad" and trace is not None:
            repro.trace = _trace_dict(trace)
            repro.detail = f"test {test_id} raises {trace.exc_type}: {trace.message[:160]}"
            if not shape.path or shape.at_crash(trace):
                return repro
            elsewhere = elsewhere or repro
    if elsewhere is not None:
        return elsewhere
    if runner == "other":
        outcome, trace = classify(suite, shape, root, "suite")
        if outcome == "bad" and trace is not None:
            return Repro("suite", suite_args, test_command, detail="the test command raises the reported error",
                         shape=shape_d, timeout_s=timeout_s, trace=_trace_dict(trace), suite=suite_args)
    report_traces = parse_tracebacks(report.stack, root) if report.stack else []
    frames = list(report_traces[-1].frames) if report_traces else []
    if not frames and shape.path and report.context.function:
        frames = [TraceFrame(shape.path, report.context.line or 1, report.context.function)]
    code_frames = list(reversed([f for f in frames if not is_test_file(f.path)]))
    # every frame the report lets call as it is first (an outer one runs the real path), built values last,
    # the outermost of the innermost few first: a call that reaches the crash through its callers runs more
    # of the real path (a page count that made an empty page) than one handed the crash's input directly
    probed = [f for f in code_frames[:MAX_PROBED_FRAMES] if f.function != "main"][::-1]
    for how, frame in [("report", f) for f in code_frames] + [("probe", f) for f in probed]:
        code = (_call_for(root, frame, report, _captured_for(root, report, frame)) if how == "report"
                else _probe_for(root, frame, shape, report))
        if code is None:
            continue
        repro = Repro("built", [sys.executable, "-c", code], f"{frame.path}:{frame.function}", shape=shape_d,
                      timeout_s=test_timeout_s, suite=suite_args, made_up=how == "probe")
        outcome, trace = run_repro_traced(root, repro)
        if outcome == "bad" and trace is not None:
            repro.trace = _trace_dict(trace)
            values = " with probe values" if how == "probe" else ""
            repro.detail = (f"no test reproduces it; built a repro calling {frame.function}() of {frame.path}"
                            f"{values}, which raises {trace.exc_type}: {trace.message[:160]}")
            return repro
    carved = _carved_repro(root, probed, shape, report, suite_args, test_timeout_s) if probed and shape.path else None
    if carved is not None:
        return carved
    why = [f"no failing test raises {shape.exc_type}" + (f" in {shape.path}" if shape.path else "")]
    if tried:
        why.append(f"tried {', '.join(tried[:3])}" + (" …" if len(tried) > 3 else ""))
    if not failing and not suite.ok and not re.search(r"\d+ (passed|failed)|^Ran \d+ test", suite.output, re.M):
        tail = " ".join(suite.output.strip().splitlines()[-3:])[-300:]
        why.append(f"the test command does not run at HEAD: {tail}")
    if not frames:
        named = report.context.file or next((m["file"] for line in report.stack.splitlines()
                                             if (m := _FRAME.match(line))), None)
        if shape.path:  # the file is there: what is missing is something to call in it
            why.append(f"the report names {shape.path} but no function or stack to call")
        else:
            why.append(f"the report's file {named!r} is not in the repository" if named
                       else "the report names no file of the repository")
    else:
        why.append("no function on the stack could be called to reproduce it")
    return Repro("none", detail="; ".join(why), shape=shape_d)


def _captured_calls(root: Path, report: ErrorReport) -> list[tuple[str, str, dict[str, Any]]]:
    """(repository path, function, {"args", "kwargs"}) of each caller the report captured, outermost first."""
    calls = (report.context.model_extra or {}).get("calls")
    out = []
    for call in calls if isinstance(calls, list) else []:
        if not (isinstance(call, dict) and isinstance(call.get("function"), str) and isinstance(call.get("file"), str)
                and isinstance(call.get("args", []), list) and isinstance(call.get("kwargs", {}), dict)):
            continue
        path = repo_path(root, call["file"])
        if path is not None and not is_test_file(path) and call["function"].isidentifier():
            out.append((path, call["function"], {"args": call.get("args", []), "kwargs": call.get("kwargs", {})}))
    return out


def _captured_for(root: Path, report: ErrorReport, frame: TraceFrame) -> dict[str, Any] | None:
    """A caller's own captured arguments when the report has them for `frame` (else the report's `context.args`)."""
    return next((given for path, function, given in _captured_calls(root, report)
                 if (path, function) == (frame.path, frame.function)), None)


def caller_repros(root: Path, report: ErrorReport, test_command: str, *, test_timeout_s: float = 120.0) -> list[Repro]:
    """Calls of the crashing function's callers with the arguments the report captured for them (`context.calls`,
    `swarm.reporting.frameargs`), outermost first, each one that raises the reported error at HEAD.

    For a built repro that fails at every commit: the report's values were never accepted by the crashing
    function, so the regression, if any, is where they came from; a caller's call passes before it."""
    calls = _captured_calls(root, report)
    if not calls:
        return []
    shape = ErrorShape.of_report(report, root)
    command = TestCommand(test_command)
    suite_args = _suite_args(command)
    found: list[Repro] = []
    for path, function, given in calls:
        frame = TraceFrame(path, 1, function)
        code = _call_for(root, frame, report, given)
        if code is None:
            continue
        repro = Repro("built", [sys.executable, "-c", code], f"{path}:{frame.function}", shape=asdict(shape),
                      timeout_s=test_timeout_s, suite=suite_args)
        outcome, trace = run_repro_traced(root, repro)
        if outcome == "bad" and trace is not None:
            repro.trace = _trace_dict(trace)
            repro.detail = (f"built a repro calling the caller {frame.function}() of {path} with the arguments it "
                            f"had, which raises {trace.exc_type}: {trace.message[:160]}")
            found.append(repro)
    return found
