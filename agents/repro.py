"""Reproduce a reported error: the tests that raise it, or a call built from the stack; then run it anywhere.

    repro = find_repro(ws.root, report, "python -m pytest -q")   # Repro(kind="test"|"built"|"suite"|"none")
    run_repro(ws.root, repro)          # "bad" (the error again), "good" (passes), "skip" (cannot tell here)
    flaky_runs(ws.root, repro, 4)      # how many of 4 more runs did NOT reproduce (0: stable)

An error "matches" when the exception type is the same and either the innermost frame inside the
repository is the same function of the same file, or the normalised message is the same. Line numbers
are never compared: a report from production may come from a slightly different version.
A test repro is one failing test run on its own (pytest node id or unittest dotted id); a built repro is
`python -c` importing the module of a frame and calling its function with what the report gives (no
arguments needed, or `context.args` / `context.kwargs`); a suite repro is the whole test command.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from agents.carve import carve, varied_call
from agents.probe import import_roots, message_literals, probe_call
from agents.testcmd import TestCommand
from agents.workspace import CommandResult, run_heavy, test_env
from swarm.agent import normalise
from swarm.models import ErrorReport

__all__ = [
    "ErrorShape",
    "Repro",
    "Trace",
    "find_repro",
    "run_repro",
    "flaky_runs",
    "parse_tracebacks",
    "is_test_file",
    "repo_path",
]

Outcome = Literal["bad", "good", "skip"]
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?')
_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault)?)"
                  r"(?::\s?(?P<msg>.*))?$")
# a parametrized id's brackets may hold spaces, `=`, `,` and ` - ` (`test_x[1,000 ft in m-1000 ft = 304.8 m]`)
_PYTEST_FAIL = re.compile(r"^(?:FAILED|ERROR) ([^\s\[]+(?:\[.*?\](?= - |$))?)(?: - (.*))?$", re.M)
_UNITTEST_FAIL = re.compile(r"^(?:ERROR|FAIL): ([\w.]+) \(([\w.]+)\)", re.M)
MAX_TESTS_TRIED = 8
MAX_PROBED_FRAMES = 6


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (path.startswith(("tests/", "test/")) or "/tests/" in path or "/test/" in path
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def repo_path(root: Path, file: str) -> str | None:
    """The repository-relative path of a traceback file: the longest path suffix that is a file in `root`
    (never through `..`, `.git` or a symlink that leaves `root`)."""
    parts = PurePosixPath(file.replace("\\", "/")).parts
    if file.startswith("<"):
        return None
    base = root.resolve()
    installed = [i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages")]
    if installed:  # an installed copy: the repository's own package only, by its whole import path
        return _installed_path(base, parts[installed[-1] + 1:])
    for i in range(len(parts)):
        rel = "/".join(p for p in parts[i:] if p != "/")
        if not rel or ".." in parts[i:] or ".git" in parts[i:]:
            continue
        real = (base / rel).resolve()
        if real.is_file() and base in real.parents:
            return rel
    return None


def _installed_path(base: Path, parts: tuple[str, ...]) -> str | None:
    """`pkg/mod.py` of `.../site-packages/pkg/mod.py` where the repository holds that package: at its root,
    under `src/`, or in a top-level directory (`service/pkg/mod.py`, `service/src/pkg/mod.py`). A library's
    frame (`django/db/models.py`) maps only into a repository that holds that library."""
    if not parts or any(p in ("..", ".git") for p in parts):
        return None
    rel = "/".join(parts)
    tops = sorted(d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")) if base.is_dir() else []
    for prefix in ("", "src/", *(f"{d}/" for d in tops), *(f"{d}/src/" for d in tops)):
        real = (base / (prefix + rel)).resolve()
        if real.is_file() and base in real.parents:
            return prefix + rel
    return None


@dataclass(frozen=True)
class TraceFrame:
    path: str  # repository-relative
    line: int
    function: str


@dataclass(frozen=True)
class Trace:
    """One traceback: its frames inside the repository (outermost first) and the exception line."""

    frames: tuple[TraceFrame, ...]
    exc_type: str
    message: str

    @property
    def crash(self) -> TraceFrame | None:
        code = [f for f in self.frames if not is_test_file(f.path)]
        return (code or list(self.frames) or [None])[-1]


def parse_tracebacks(text: str, root: Path) -> list[Trace]:
    """Every traceback in a command's output, with frames mapped into the repository at `root`."""
    out: list[Trace] = []
    for chunk in text.split("Traceback (most recent call last):")[1:]:
        frames: list[TraceFrame] = []
        exc_type, message = "", ""
        seen_frame = False
        for line in chunk.splitlines():
            m = _FRAME.match(line)
            if m:
                seen_frame = True
                rel = repo_path(root, m["file"])
                if rel:
                    frames.append(TraceFrame(rel, int(m["line"]), m["func"] or "<module>"))
                continue
            if seen_frame and line and not line[0].isspace():
                e = _EXC.match(line.strip())
                if e:
                    exc_type, message = e["type"].rsplit(".", 1)[-1], (e["msg"] or "").strip()
                break
        if exc_type:
            out.append(Trace(tuple(frames), exc_type, message))
    return out


@dataclass(frozen=True)
class ErrorShape:
    """What identifies the reported error: exception type, normalised message, crash location."""

    exc_type: str
    message: str
    path: str | None
    function: str | None

    @classmethod
    def of_report(cls, report: ErrorReport, root: Path) -> ErrorShape:
        traces = parse_tracebacks(report.stack, root) if report.stack else []
        first = report.error.strip().splitlines()[0] if report.error.strip() else ""
        e = _EXC.match(first)
        exc_type = e["type"].rsplit(".", 1)[-1] if e else (traces[-1].exc_type if traces else first)
        message = (e["msg"] or "") if e else ""
        path = function = None
        if traces and traces[-1].crash:
            path, function = traces[-1].crash.path, traces[-1].crash.function
        elif report.context.file:
            path = repo_path(root, report.context.file)
            function = report.context.function
        return cls(exc_type, normalise(message.strip()), path, function)

    def matches(self, trace: Trace) -> bool:
        if trace.exc_type != self.exc_type:
            return False
        crash = trace.crash
        same_place = bool(crash and self.path and crash.path == self.path
                          and (not self.function or crash.function == self.function))
        return same_place or (bool(self.message) and normalise(trace.message) == self.message)


@dataclass
class Repro:
    """How to make the error happen again; `args` run from the repository root."""

    kind: Literal["test", "built", "suite", "none"]
    args: list[str] = field(default_factory=list)
    target: str = ""  # test id, or the function called
    detail: str = ""
    shape: dict[str, Any] = field(default_factory=dict)
    flaky: bool = False
    timeout_s: float = 120.0
    trace: dict[str, Any] | None = None  # the traceback the repro produced at HEAD (frames at HEAD lines)
    suite: list[str] = field(default_factory=list)  # the whole test command (bisect's other oracle)
    injected: str = ""  # the value put where the tests had another (`a['job'].priority = None`): a symptom

    @property
    def command(self) -> str:
        return shlex.join(self.args)

    def error_shape(self) -> ErrorShape:
        return ErrorShape(**self.shape)

    def head_trace(self) -> Trace | None:
        if not self.trace:
            return None
        return Trace(tuple(TraceFrame(**f) for f in self.trace["frames"]), self.trace["exc_type"],
                     self.trace["message"])

    def crash(self) -> TraceFrame | None:
        """The frame the error was raised in at HEAD."""
        trace = self.head_trace()
        return trace.crash if trace is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "command": self.command}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Repro:
        known = {k: data[k] for k in ("kind", "args", "target", "detail", "shape", "flaky", "timeout_s", "trace",
                                      "suite", "injected") if k in data}
        return cls(**known)


def _trace_dict(trace: Trace) -> dict[str, Any]:
    """JSON-ready (lists, not tuples: PEER state holds JSON values only)."""
    return {"frames": [asdict(f) for f in trace.frames], "exc_type": trace.exc_type, "message": trace.message}


def classify(result: CommandResult, shape: ErrorShape, root: Path, kind: str,
             crash: TraceFrame | None = None) -> tuple[Outcome, Trace | None]:
    """"bad" (the error), "good" (it ran through) or "skip" (it says nothing). A built call that got past
    `crash` (the function the error was raised in at HEAD is on the new traceback, and called further) and
    failed later is "good" too: its values were made up, and what they break further on is not the error."""
    traces = parse_tracebacks(result.output, root)
    for trace in reversed(traces):
        if shape.matches(trace):
            return "bad", trace
    if result.timed_out:
        return "skip", None
    if result.returncode == 0:
        if kind == "test" and (re.search(r"\bno tests ran\b|^Ran 0 tests", result.output, re.M)):
            return "skip", None
        return "good", None
    if kind == "built" and crash is not None and any(
            (f.path, f.function) == (crash.path, crash.function) for t in traces for f in t.frames[:-1]):
        return "good", None
    return "skip", None


def run_repro(root: Path, repro: Repro) -> Outcome:
    return run_repro_traced(root, repro)[0]


def run_repro_traced(root: Path, repro: Repro) -> tuple[Outcome, Trace | None]:
    if repro.kind == "none" or not repro.args:
        return "skip", None
    res = run_heavy(repro.args, root, timeout_s=repro.timeout_s, max_output=200_000, env=test_env())
    return classify(res, repro.error_shape(), root, repro.kind, repro.crash())


def flaky_runs(root: Path, repro: Repro, runs: int = 3) -> int:
    """How many of `runs` further runs did not reproduce (a stable repro answers 0)."""
    return sum(1 for _ in range(runs) if run_repro(root, repro) != "bad")


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


def _test_args(command: TestCommand, test_id: str, root: Path) -> list[str]:
    """One failing test on its own: the test command with its path arguments replaced by the test's id."""
    if command.runner == "pytest":
        return command.argv(test_id, "--tb=native", "-p", "no:cacheprovider", "-q", drop_paths_in=root)
    return [sys.executable, "-m", "unittest", test_id]


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


def _call_for(root: Path, frame: TraceFrame, report: ErrorReport) -> str | None:
    """Python code calling the frame's function with what the report gives, or None if it cannot be called."""
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
    extra = report.context.model_extra or {}
    args, kwargs = extra.get("args"), extra.get("kwargs")
    a = fn.args
    required = len(a.posonlyargs) + len(a.args) - len(a.defaults)
    required += sum(1 for d in a.kw_defaults if d is None)
    if isinstance(args, list) or isinstance(kwargs, dict):
        call_args = json.dumps(args if isinstance(args, list) else [])
        call_kwargs = json.dumps(kwargs if isinstance(kwargs, dict) else {})
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
    suite_args = command.argv("--tb=native", "-p", "no:cacheprovider") if runner == "pytest" else command.argv()
    suite = run_heavy(suite_args, root, timeout_s=timeout_s, max_output=400_000, env=test_env())
    command.check(suite, " at the branch head")
    failing = _failing_tests(suite.output, runner)
    words = {shape.exc_type, *(shape.path.rsplit("/", 1)[-1][:-3].split("_") if shape.path else [])}
    failing.sort(key=lambda t: -sum(1 for w in words if w and w in (t[0] + t[1])))
    tried: list[str] = []
    for test_id, _ in failing[:MAX_TESTS_TRIED]:
        repro = Repro("test", _test_args(command, test_id, root), test_id, shape=shape_d,
                      timeout_s=test_timeout_s, suite=suite_args)
        outcome, trace = run_repro_traced(root, repro)
        tried.append(test_id)
        if outcome == "bad" and trace is not None:
            repro.trace = _trace_dict(trace)
            repro.detail = f"test {test_id} raises {trace.exc_type}: {trace.message[:160]}"
            return repro
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
        code = _call_for(root, frame, report) if how == "report" else _probe_for(root, frame, shape, report)
        if code is None:
            continue
        repro = Repro("built", [sys.executable, "-c", code], f"{frame.path}:{frame.function}", shape=shape_d,
                      timeout_s=test_timeout_s, suite=suite_args)
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
        why.append(f"the report's file {named!r} is not in the repository" if named
                   else "the report names no file of the repository")
    else:
        why.append("no function on the stack could be called to reproduce it")
    return Repro("none", detail="; ".join(why), shape=shape_d)
