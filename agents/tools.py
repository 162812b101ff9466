"""Typed tools over one worktree, each with a JSON schema for Claude; what a role may use is fixed here.

    tools = Toolbox(ws, role="implement", test_command="python -m pytest -q")
    tools.schemas()                                   # [{"name", "description", "input_schema"}, ...]
    tools.call("read_file", {"path": "app.py", "start_line": 10, "end_line": 20})   # -> str
    tools.call("write_file", {"path": "../x", "content": ""})   # raises SandboxViolation
    tools.run_tests().ok                              # TestCounts of the configured command

Read tools for every role; write_file and apply_patch for implement only; run_tests for implement and review.
Errors a model should see (bad arguments, refused paths) raise ToolError or SandboxViolation; the Claude
loop returns them as `is_error` tool results.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agents.fixtools import FixTools
from agents.testcmd import TestCommand
from agents.testrun import parse_test_counts
from agents.workspace import SandboxViolation, Workspace, run_command, run_heavy, test_env
from swarm.models import TestCounts

__all__ = ["Toolbox", "ToolError", "ROLE_TOOLS", "parse_test_counts"]

READ_TOOLS = ("list_files", "read_file", "search_code", "git_log", "git_blame", "git_show")
ROLE_TOOLS: dict[str, tuple[str, ...]] = {
    "orchestrator": READ_TOOLS,
    "research": (*READ_TOOLS, "run_repro", "bisect"),
    "implement": (*READ_TOOLS, "write_file", "apply_patch", "run_tests", "run_repro", "bisect", "try_patch"),
    "review": (*READ_TOOLS, "run_tests"),
}
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/~^@{}-]{0,200}$")
MAX_READ_LINES = 400
MAX_FILE_BYTES = 1_000_000


class ToolError(Exception):
    """A tool call the model got wrong: unknown tool, bad arguments, not allowed for the role."""


# -- inputs (one pydantic model per tool: validation and JSON schema in one place) ------------------
class ListFiles(BaseModel):
    path: str = Field(".", description="directory relative to the repository root")
    glob: str | None = Field(None, description="only names matching this pattern, e.g. '*.py'")
    max_entries: int = Field(300, ge=1, le=2000)


class ReadFile(BaseModel):
    path: str = Field(description="file relative to the repository root")
    start_line: int = Field(1, ge=1, description="first line (1-based)")
    end_line: int | None = Field(None, ge=1, description=f"last line, inclusive (at most {MAX_READ_LINES} lines)")


class SearchCode(BaseModel):
    pattern: str = Field(description="Python regular expression searched line by line")
    path: str = Field(".", description="directory or file to search")
    glob: str | None = Field(None, description="only files whose name matches, e.g. '*.py'")
    ignore_case: bool = False
    max_results: int = Field(50, ge=1, le=500)


class GitLog(BaseModel):
    path: str | None = Field(None, description="only commits touching this path")
    max_count: int = Field(20, ge=1, le=200)


class GitBlame(BaseModel):
    path: str
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)


class GitShow(BaseModel):
    commit: str = Field(description="commit hash or ref")
    path: str | None = Field(None, description="limit the patch to this path")


class WriteFile(BaseModel):
    path: str
    content: str = Field(description="the complete new content of the file")


class ApplyPatch(BaseModel):
    patch: str = Field(description="a unified diff (git diff format), paths relative to the repository root")


class RunTests(BaseModel):
    selector: str | None = Field(None, description="optional test selector appended to the configured command")


class NoArgs(BaseModel):
    pass


class TryPatch(BaseModel):
    patch: str = Field(description="a unified diff (git diff format) of source files only, never tests")


@dataclass(frozen=True)
class _Spec:
    model: type[BaseModel]
    description: str


SPECS: dict[str, _Spec] = {
    "list_files": _Spec(ListFiles, "List files under a directory of the repository (recursively, .git excluded)."),
    "read_file": _Spec(ReadFile, "Read a file with line numbers, optionally a line range."),
    "search_code": _Spec(SearchCode, "Search the repository with a regular expression; returns path:line: text."),
    "git_log": _Spec(GitLog, "Recent commits (hash, date, author, subject), optionally only those touching a path."),
    "git_blame": _Spec(GitBlame, "Which commit last changed each line of a line range."),
    "git_show": _Spec(GitShow, "A commit's message, stats and patch."),
    "write_file": _Spec(WriteFile, "Replace a file's whole content (creates it if missing)."),
    "apply_patch": _Spec(ApplyPatch, "Apply a unified diff to the worktree."),
    "run_tests": _Spec(RunTests, "Run the repository's tests; returns counts and the output tail."),
    "run_repro": _Spec(NoArgs, "Run the repro of the reported error (a failing test, or a call built from the "
                       "stack; found first if none is known): bad = the error happens, good = it passes."),
    "bisect": _Spec(NoArgs, "Find the first commit where the repro raises the reported error (git bisect run, "
                    "in a separate worktree; untestable commits skipped)."),
    "try_patch": _Spec(TryPatch, "Apply a patch, run the repro and the full test suite; the patch is kept only "
                       "if both pass, otherwise reverted. Returns what happened."),
}

class Toolbox:
    """The tools of one role over one workspace."""

    def __init__(
        self,
        ws: Workspace,
        *,
        role: str,
        test_command: str = "python -m pytest -q",
        timeout_s: float = 30.0,
        tests_timeout_s: float = 600.0,
        max_output: int = 20_000,
        fix: FixTools | None = None,
    ) -> None:
        if role not in ROLE_TOOLS:
            raise ToolError(f"unknown role {role!r}")
        self.ws, self.role, self.test_command = ws, role, test_command
        self.timeout_s, self.tests_timeout_s, self.max_output = timeout_s, tests_timeout_s, max_output
        self.allowed = ROLE_TOOLS[role]
        self.fix = fix
        self.calls = 0

    def schemas(self) -> list[dict[str, Any]]:
        """Tool definitions in the Messages API format."""
        out = []
        for name in self.allowed:
            schema = SPECS[name].model.model_json_schema()
            schema.pop("title", None)
            out.append({"name": name, "description": SPECS[name].description, "input_schema": schema})
        return out

    def call(self, name: str, args: dict[str, Any] | None) -> str:
        """Validate and run one tool call; the result is text for the model."""
        if name not in SPECS:
            raise ToolError(f"unknown tool {name!r}; available: {', '.join(self.allowed)}")
        if name not in self.allowed:
            raise ToolError(f"{name} is not available to the {self.role} role")
        try:
            params = SPECS[name].model.model_validate(args or {})
        except ValidationError as exc:
            raise ToolError(f"invalid arguments for {name}: {exc.errors(include_url=False)}") from exc
        self.calls += 1
        fn: Callable[..., Any] = getattr(self, name)
        result = fn(**params.model_dump())
        if isinstance(result, TestCounts):
            return (
                f"passed={result.passed} failed={result.failed} errors={result.errors} ok={result.ok}\n"
                f"{result.output_tail}"
            )
        return str(result)

    # -- read tools ----------------------------------------------------------------------------------
    def list_files(self, path: str = ".", glob: str | None = None, max_entries: int = 300) -> str:
        base = self.ws.resolve(path, must_exist=True)
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in (".git", "__pycache__", ".pytest_cache"))
            for fname in sorted(filenames):
                if glob is None or fnmatch.fnmatch(fname, glob):
                    found.append(Path(os.path.relpath(os.path.join(dirpath, fname), self.ws.root)).as_posix())
            if len(found) > max_entries:
                break
        more = f"\n[{len(found) - max_entries}+ more not shown]" if len(found) > max_entries else ""
        return "\n".join(found[:max_entries]) + more

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> str:
        target = self.ws.resolve(path, must_exist=True)
        if target.is_dir():
            raise ToolError(f"{path} is a directory; use list_files")
        if target.stat().st_size > MAX_FILE_BYTES:
            raise ToolError(f"{path} is larger than {MAX_FILE_BYTES} bytes; read a line range of a smaller file")
        lines = target.read_text(errors="replace").splitlines()
        end = min(end_line or start_line + MAX_READ_LINES - 1, start_line + MAX_READ_LINES - 1, len(lines))
        if start_line > max(len(lines), 1):
            raise ToolError(f"{path} has {len(lines)} lines; start_line {start_line} is past the end")
        body = "\n".join(f"{n:>5}| {lines[n - 1]}" for n in range(start_line, end + 1))
        note = f"\n[lines {start_line}-{end} of {len(lines)}]" if end < len(lines) or start_line > 1 else ""
        return body + note

    def search_code(
        self, pattern: str, path: str = ".", glob: str | None = None, ignore_case: bool = False, max_results: int = 50
    ) -> str:
        try:
            rx = re.compile(pattern, re.I if ignore_case else 0)
        except re.error as exc:
            raise ToolError(f"invalid regular expression {pattern!r}: {exc}") from exc
        base = self.ws.resolve(path, must_exist=True)
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and ".git" not in p.relative_to(self.ws.root).parts)
        hits: list[str] = []
        for file in files:
            if glob and not fnmatch.fnmatch(file.name, glob):
                continue
            try:
                real = self.ws.resolve(file.relative_to(self.ws.root).as_posix())
            except SandboxViolation:
                continue  # a symlink pointing out of the worktree is never followed
            if real.stat().st_size > MAX_FILE_BYTES:
                continue
            for n, line in enumerate(real.read_text(errors="replace").splitlines(), 1):
                if rx.search(line):
                    hits.append(f"{file.relative_to(self.ws.root).as_posix()}:{n}: {line.strip()[:200]}")
                    if len(hits) >= max_results:
                        return "\n".join(hits) + f"\n[stopped at {max_results} results]"
        return "\n".join(hits) if hits else "no matches"

    def _ref(self, ref: str) -> str:
        if not _REF.match(ref) or ".." in ref:
            raise ToolError(f"invalid commit or ref {ref!r}")
        return ref

    def _gitout(self, *args: str) -> str:
        res = run_command(["git", *args], self.ws.root, timeout_s=self.timeout_s, max_output=self.max_output)
        if not res.ok:
            raise ToolError(f"git {args[0]} failed: {res.output.strip()[-1000:]}")
        return res.output

    def git_log(self, path: str | None = None, max_count: int = 20) -> str:
        tail = ["--", self.ws.rel(self.ws.resolve(path))] if path else []
        return self._gitout("log", f"-n{max_count}", "--date=short", "--format=%H %ad %an: %s", *tail) or "no commits"

    def git_blame(self, path: str, start_line: int, end_line: int) -> str:
        rel = self.ws.rel(self.ws.resolve(path, must_exist=True))
        if end_line < start_line:
            raise ToolError("end_line must be >= start_line")
        end_line = min(end_line, start_line + MAX_READ_LINES - 1)
        return self._gitout("blame", "-l", "--root", "--date=short", "-L", f"{start_line},{end_line}", "--", rel)

    def git_show(self, commit: str, path: str | None = None) -> str:
        tail = ["--", self.ws.rel(self.ws.resolve(path))] if path else []
        return self._gitout("show", "--stat", "--patch", "--format=fuller", self._ref(commit), *tail)

    # -- write tools (implement) -------------------------------------------------------------------
    def write_file(self, path: str, content: str) -> str:
        target = self.ws.resolve(path)
        if target.is_dir():
            raise ToolError(f"{path} is a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.ws.resolve(path)  # re-check: mkdir must not have created a way out
        target.write_text(content)
        self.ws.changed.add(self.ws.rel(target))
        return f"wrote {self.ws.rel(target)} ({len(content.splitlines())} lines)"

    def apply_patch(self, patch: str) -> str:
        paths = set()
        for line in patch.splitlines():
            m = re.match(r"^(?:--- |\+\+\+ )(?:[ab]/)?(\S+)", line) or re.match(
                r"^(?:rename|copy) (?:from|to) (.+)$", line)
            if m and m.group(1) != "/dev/null":
                paths.add(m.group(1))
            m = re.match(r"^diff --git a/(\S+) b/(\S+)", line)
            if m:
                paths.update(m.groups())
        if not paths:
            raise ToolError("the patch names no files")
        rels = {self.ws.rel(self.ws.resolve(p)) for p in paths}
        check = run_command(["git", "apply", "--check", "--recount", "-"], self.ws.root, stdin=patch,
                            timeout_s=self.timeout_s)
        if not check.ok:
            raise ToolError(f"patch does not apply: {check.output.strip()[-1500:]}")
        self._gitout_stdin(["apply", "--recount", "-"], patch)
        self.ws.changed.update(rels)
        return f"applied patch to {', '.join(sorted(rels))}"

    def _gitout_stdin(self, args: list[str], stdin: str) -> None:
        res = run_command(["git", *args], self.ws.root, stdin=stdin, timeout_s=self.timeout_s)
        if not res.ok:
            raise ToolError(f"git {args[0]} failed: {res.output.strip()[-1000:]}")

    # -- the fix engine (agents/fixtools.py) ----------------------------------------------------------
    def _fix(self) -> FixTools:
        if self.fix is None:
            raise ToolError("the fix engine is not available here (no error report was given to the tools)")
        return self.fix

    def run_repro(self) -> str:
        return self._fix().run_repro()

    def bisect(self) -> str:
        return self._fix().bisect()

    def try_patch(self, patch: str) -> str:
        return self._fix().try_patch(patch)

    # -- tests (implement, review) -------------------------------------------------------------------
    def run_tests(self, selector: str | None = None) -> TestCounts:
        """The test command (agents.testcmd), `selector` appended. The whole suite (no selector) raises
        TestCommandError when the command could not run at all: a failed Result says why, where counting
        it as failing tests would send the investigation after a bug that is not there."""
        try:
            extra = shlex.split(selector) if selector else []
        except ValueError as exc:
            raise ToolError(f"cannot parse the test selector: {exc}") from exc
        for token in extra:
            if token.startswith("/") or ".." in token.split("/"):
                raise SandboxViolation(f"test selector {token!r} refused: it leaves the worktree")
        command = TestCommand(self.test_command)
        res = run_heavy(command.argv(*extra), self.ws.root, timeout_s=self.tests_timeout_s,
                        max_output=self.max_output, env=test_env())
        if not extra:
            command.check(res, f" in the worktree of {self.ws.base}")
        return parse_test_counts(res)
