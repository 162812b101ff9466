"""A repro of a reported error, and running it anywhere (`agents.findrepro` finds one).

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

import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from agents.workspace import CommandResult, repro_env, run_heavy, test_env
from swarm.agent import normalise
from swarm.models import ErrorReport

NETWORK_REFUSED = "swarm: no network in a repro run"  # agents/netguard/sitecustomize.py's refusal opens so

__all__ = [
    "ErrorShape",
    "Repro",
    "Trace",
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


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (path.startswith(("tests/", "test/")) or "/tests/" in path or "/test/" in path
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def repo_path(root: Path, file: str) -> str | None:
    """The repository-relative path of a traceback file: the longest path suffix that is a file in `root`
    (never through `..`, `.git` or a symlink that leaves `root`); a relative path not found so, as a reporter
    relative to its import root gives it (`shop/rates.py`), under `src/` or a top-level directory."""
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
    if not PurePosixPath(file).is_absolute():  # a module-relative path (a reporter's import root): `src/` or a top dir
        return _installed_path(base, parts)
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
        return self.at_crash(trace) or (bool(self.message) and normalise(trace.message) == self.message)

    def at_crash(self, trace: Trace) -> bool:
        """The trace ends where the report's error was raised (its file, and its function when named)."""
        crash = trace.crash
        return bool(crash and self.path and crash.path == self.path
                    and (not self.function or crash.function == self.function))


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
    made_up: bool = False  # built from probe values, not from what the report or the tests give
    never_passed: bool = False  # the report's values fail the call at every commit that runs it
    returned: str = ""  # a fixed call's value, as a Python literal: what it returned before the regression

    @property
    def synthetic(self) -> bool:
        """Raising the error with values production may not have had, or that the function never accepted at any
        commit: a patch at the crash site that makes it pass may fix only that case, or change what the function
        accepts instead of what broke."""
        return self.made_up or bool(self.injected) or self.never_passed

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
                                      "suite", "injected", "made_up", "never_passed", "returned") if k in data}
        return cls(**known)


def _trace_dict(trace: Trace) -> dict[str, Any]:
    """JSON-ready (lists, not tuples: PEER state holds JSON values only)."""
    return {"frames": [asdict(f) for f in trace.frames], "exc_type": trace.exc_type, "message": trace.message}


def classify(result: CommandResult, shape: ErrorShape, root: Path, kind: str,
             crash: TraceFrame | None = None, strict: bool = False) -> tuple[Outcome, Trace | None]:
    """"bad" (the error), "good" (it ran through) or "skip" (it says nothing). A built call that got past
    `crash` (the function the error was raised in at HEAD is on the new traceback, and called further) and
    failed later is "good" too: its values were made up, and what they break further on is not the error.
    `strict` (a patch judged with production's own values): only a call that runs through is "good"; one
    that fails later with another error was moved, not fixed (unless it is the sandbox refusing a connection)."""
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
            (f.path, f.function) == (crash.path, crash.function) for t in traces for f in t.frames[:-1]) and (
            not strict or NETWORK_REFUSED in result.output):
        return "good", None
    return "skip", None


def run_repro(root: Path, repro: Repro, strict: bool = False) -> Outcome:
    return run_repro_traced(root, repro, strict)[0]


def run_repro_traced(root: Path, repro: Repro, strict: bool = False) -> tuple[Outcome, Trace | None]:
    if repro.kind == "none" or not repro.args:
        return "skip", None
    env = test_env() if repro.kind == "test" else repro_env()  # a built repro calls the code with production values
    res = run_heavy(repro.args, root, timeout_s=repro.timeout_s, max_output=200_000, env=env)
    return classify(res, repro.error_shape(), root, repro.kind, repro.crash(), strict)


def flaky_runs(root: Path, repro: Repro, runs: int = 3) -> int:
    """How many of `runs` further runs did not reproduce (a stable repro answers 0)."""
    return sum(1 for _ in range(runs) if run_repro(root, repro) != "bad")
