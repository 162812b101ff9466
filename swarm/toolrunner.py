"""Heavy tool work (test runs, repro runs, bisect steps) goes through one seam: "run this command somewhere".

    from swarm.agent import run_tool
    res = run_tool(["python", "-m", "pytest", "-q"], cwd=worktree, timeout_s=120, env=env)
    res.ok, res.output

Agents call `run_tool`; where the command runs is the host's business. The in-process host (tests,
`swarm bench fixes`, `LocalCycle`) runs it here (`LocalRunner`); the Ray runtime installs a runner for the
duration of each phase (`use_runner`) that runs it as a Ray task declaring `tools.num_cpus`, so Ray's
scheduler places it and counts its CPUs (swarm.runtime.tooltask). The runner is carried by a context
variable, so it follows the phase into `asyncio.to_thread` and the fix engine's synchronous code.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "CommandResult", "ToolRunner", "LocalRunner", "run_local", "run_tool", "use_runner", "current_runner",
    "kill_running",
]  # fmt: skip

MAX_OUTPUT = 20_000
# the process groups of the commands run_local has running in this process: a stopping actor kills them, else a
# test run outlives the actor killed under it (its own session keeps it from the actor's signals)
_RUNNING: set[int] = set()
_RUNNING_LOCK = threading.Lock()


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str  # stdout and stderr interleaved, capped (head + tail kept)
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@runtime_checkable
class ToolRunner(Protocol):
    """Runs one command (no shell) in `cwd` with a timeout and capped output; never raises for a failing command."""

    def run(
        self,
        args: list[str],
        cwd: str,
        *,
        timeout_s: float,
        max_output: int = MAX_OUTPUT,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> CommandResult: ...


def run_local(
    args: list[str],
    cwd: Path | str,
    *,
    timeout_s: float,
    max_output: int = MAX_OUTPUT,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> CommandResult:
    """Run `args` here (no shell) with a timeout; output goes to a temp file so memory stays bounded."""
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                args,
                cwd=str(cwd),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # so a timeout kills the whole process group
            )
        except OSError as exc:
            return CommandResult(127, f"cannot run {args[0]!r}: {exc}")
        with _RUNNING_LOCK:
            _RUNNING.add(proc.pid)
        timed_out = False
        try:
            proc.communicate(input=stdin.encode() if stdin is not None else None, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc.pid)
        size = out.tell()
        out.seek(0)
        if size <= max_output:
            text, truncated = out.read().decode("utf-8", "replace"), False
        else:
            head = out.read(max_output // 4).decode("utf-8", "replace")
            out.seek(size - (max_output - max_output // 4))
            tail = out.read().decode("utf-8", "replace")
            text, truncated = f"{head}\n... [{size - max_output} bytes cut] ...\n{tail}", True
    if timed_out:
        text += f"\n[timed out after {timeout_s:g} s]"
    return CommandResult(proc.returncode if not timed_out else -9, text, timed_out, truncated)


def kill_running() -> int:
    """Kill every command run_local has running in this process, with its whole process group; how many."""
    with _RUNNING_LOCK:
        groups = list(_RUNNING)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return len(groups)


class LocalRunner:
    """Runs commands in this process's machine: the in-process host's runner."""

    def stop(self) -> int:
        """Kill the commands running here (a stopping host: its phases are abandoned)."""
        return kill_running()

    def run(
        self,
        args: list[str],
        cwd: str,
        *,
        timeout_s: float,
        max_output: int = MAX_OUTPUT,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> CommandResult:
        return run_local(args, cwd, timeout_s=timeout_s, max_output=max_output, env=env, stdin=stdin)


_LOCAL = LocalRunner()
_RUNNER: contextvars.ContextVar[ToolRunner] = contextvars.ContextVar("swarm_tool_runner", default=_LOCAL)


def current_runner() -> ToolRunner:
    return _RUNNER.get()


@contextlib.contextmanager
def use_runner(runner: ToolRunner) -> Iterator[ToolRunner]:
    """Commands run through `run_tool` in this context (and threads started from it) go to `runner`."""
    token = _RUNNER.set(runner)
    try:
        yield runner
    finally:
        _RUNNER.reset(token)


def run_tool(
    args: list[str],
    cwd: Path | str,
    *,
    timeout_s: float,
    max_output: int = MAX_OUTPUT,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> CommandResult:
    """Heavy tool work through the host's runner (a Ray task under the runtime, a subprocess here otherwise)."""
    return _RUNNER.get().run(list(args), str(cwd), timeout_s=timeout_s, max_output=max_output, env=env, stdin=stdin)
