"""The repository's test command (`repositories.<service>.test_command`): a shell command line, run as a CI
step runs one, and told apart from a command that cannot run at all.

    cmd = TestCommand("cd api && FOO=1 python -m pytest -q")
    cmd.argv("tests/test_x.py::t")        # ["/bin/sh", "-c", "cd api && FOO=1 python -m pytest -q tests/test_x.py::t"]
    TestCommand("python -m pytest -q").argv("-x")   # [sys.executable, "-m", "pytest", "-q", "-x"]: no shell needed
    cmd.cannot_run(result)                # None, or why it could not run at all (not started, exit 126/127, ...)
    cmd.check(result)                     # raises TestCommandError (a failed Result) when it could not run

A command of plain words runs as those words (`python` / `python3` first: this interpreter). A command with
shell syntax (`&&`, `;`, `|`, redirections, `$VAR`, globs, `~`, a `VAR=value` before the command) runs
through `/bin/sh -c`, where `python` is this interpreter too (it comes first on PATH: agents.workspace.test_env).
Words the agents add (a failing test's id, pytest options) are added, quoted, to the words of the command
that runs pytest (or unittest): before a pipe, a redirection or the next command (`pytest -q | tee log`).
Either way the command runs in a session of its own (swarm.toolrunner): a timeout kills all it started.

"Cannot run" is what says nothing about the code: the command was not found or could not be started (exit
127, 126), the shell refused the line or its `cd` (exit 2 with the shell's own message), `python -m X` found
no module X, or pytest stopped on a usage error (exit 4: an unknown option, a path that does not exist), an
internal error (3) or collected no tests (5). Failing tests, and collection errors (they may be the bug
itself), are failures of the code, not of the command.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from swarm.agent import AgentFailed, CommandResult

__all__ = ["TestCommand", "TestCommandError"]

_SHELL_CHARS = frozenset("|&;<>()$`*?[]{}~!#\n")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_SHELL_ERROR = re.compile(r"^(?:/bin/)?sh: (?:line )?\d+: (.+)$", re.M)
_PYTEST_EXIT = {3: "pytest stopped on an internal error (exit 3)", 4: "pytest refused its arguments (exit 4)",
                5: "pytest collected no tests (exit 5)"}


def _end_of_runner(text: str) -> int:
    """Where the words of the simple command that runs pytest / unittest end: before the first unquoted
    `|`, `&`, `;`, redirection or line break after the runner's name (`pytest -q | tee log` takes a test id
    before the pipe, not as an argument of `tee`); the end of the line when nothing follows it."""
    runner = re.search(r"pytest|unittest", text)
    quote, i = "", runner.end() if runner else len(text)
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c == "\\":
            i += 1
        elif c in "'\"":
            quote = c
        elif c in "|&;<>\n":
            while i > 0 and text[i - 1].isdigit() and c in "<>":  # `2>&1`: the descriptor is the redirection's
                i -= 1
            return i
        i += 1
    return len(text)


class TestCommandError(AgentFailed):
    """The repository's test command could not be run at all: the investigation fails saying so and why."""

    __test__ = False  # not a pytest class


class TestCommand:
    __test__ = False  # not a pytest class

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        try:
            words = shlex.split(self.text)
        except ValueError as exc:
            raise TestCommandError(f"the test command {self.text!r} cannot be parsed: {exc}") from exc
        if not words:
            raise TestCommandError("no test command configured")
        shell = any(c in _SHELL_CHARS for c in self.text) or bool(_ASSIGNMENT.match(words[0]))
        self.words: list[str] | None = None if shell else words  # None: it needs a shell

    @property
    def shell(self) -> bool:
        return self.words is None

    @property
    def runner(self) -> str:
        """"pytest", "unittest" or "other": what reads the agents' extra words, and how failures are listed."""
        if "pytest" in self.text:
            return "pytest"
        return "unittest" if "unittest" in self.text else "other"

    def argv(self, *extra: str, drop_paths_in: Path | None = None) -> list[str]:
        """The command with `extra` appended. `drop_paths_in`: a plain command's path arguments that exist
        in that directory are left out (a test id run on its own replaces them)."""
        if self.words is None:
            at = _end_of_runner(self.text)
            added = " ".join(map(shlex.quote, extra))
            line = f"{self.text[:at].rstrip()} {added} {self.text[at:].lstrip()}" if extra else self.text
            return ["/bin/sh", "-c", line.strip()]
        words = list(self.words)
        if drop_paths_in is not None:
            words = [w for i, w in enumerate(words)
                     if w.startswith("-") or i == 0 or "pytest" in w or not (drop_paths_in / w.split("::")[0]).exists()]
        if words[0] in ("python", "python3"):
            words[0] = sys.executable
        return [*words, *extra]

    def cannot_run(self, result: CommandResult) -> str | None:
        """Why the command could not run at all (see the module's docstring), or None: it ran."""
        if result.timed_out or result.returncode in (0, 1):
            return self._no_module(result) if result.returncode == 1 else None
        tail = " ".join(result.output.strip().splitlines()[-3:])[-400:]
        if result.returncode in (126, 127):
            return f"exit {result.returncode}: {tail or 'the command was not found or is not executable'}"
        if self.shell and result.returncode == 2 and (m := _SHELL_ERROR.search(result.output)):
            return f"exit 2: the shell said {m[1].strip()!r}"
        if self.runner == "pytest" and result.returncode in _PYTEST_EXIT:
            return f"{_PYTEST_EXIT[result.returncode]}: {tail}"
        return None

    def _no_module(self, result: CommandResult) -> str | None:
        words = self.words if self.words is not None else shlex.split(self.text, comments=False, posix=True)
        for i, word in enumerate(words[:-1]):
            if word == "-m":
                module = re.escape(words[i + 1])
                if re.search(rf"No module named {module}\s*$|finding module specification for '{module}'",
                             result.output, re.M):
                    return f"exit 1: the interpreter found no module {words[i + 1]!r}"
        return None

    def check(self, result: CommandResult, where: str = "") -> None:
        """Raise TestCommandError when `result` says the command could not run."""
        if (why := self.cannot_run(result)) is not None:
            raise TestCommandError(f"the test command {self.text!r} could not be run{where}: {why}")
