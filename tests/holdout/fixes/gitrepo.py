"""Build a small repository with a real git history from a case spec, and capture its error report.

A spec is a list of commits (whole files and/or exact-text edits of the previous version), the index of
the regressing commit (ground truth), a snippet that REALLY reproduces the production error at HEAD,
and a reference fix (exact-text edits at HEAD) used only to prove the case is solvable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import zlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Commit", "Spec", "Case", "git", "run_tests", "test_env", "traceback_report"]

BASE_EPOCH = 1709283600  # 2024-03-01T09:00:00Z
AUTHORS = [("Ana Pereira", "ana@example.org"), ("Ben Okafor", "ben@example.org"), ("Chen Wei", "chen@example.org")]
REPORT_TIME = "2024-06-03T14:22:05Z"


def test_env() -> dict[str, str]:
    """The environment tests run in: this interpreter (with pytest) first on PATH, nothing inherited that matters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PYTHON", "PYTEST"))}
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):  # the test session's choice (tests/conftest.py)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


def git(repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env or _git_env(0), check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _git_env(n: int) -> dict[str, str]:
    name, email = AUTHORS[n % len(AUTHORS)]
    when = f"{BASE_EPOCH + n * 11_820} +0000"
    env = test_env()
    env.update(
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
        GIT_AUTHOR_DATE=when,
        GIT_COMMITTER_DATE=when,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    return env


def run_tests(repo: Path, command: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, shell=True, cwd=repo, capture_output=True, text=True, env=test_env(), timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Commit:
    message: str
    files: dict[str, str | None] = field(default_factory=dict)  # path -> text (dedented) or None to delete
    edits: tuple[tuple[str, str, str], ...] = ()  # (path, old, new): old must occur exactly once


@dataclass
class Case:
    name: str
    tier: str
    kind: str
    hard: str
    repo: Path
    report_path: Path
    test_command: str
    suspect: str  # full sha of the regressing commit
    head: str
    commits: list[str]
    must_keep: list[tuple[str, str]]
    report: dict
    fix: list[tuple[str, str, str]]
    repro: str


@dataclass(frozen=True)
class Spec:
    name: str
    tier: str
    kind: str
    hard: str  # what makes it hard ("" when nothing in particular)
    service: str
    commits: list[Commit]
    suspect: int  # index of the regressing commit in `commits`
    repro: str  # python code that runs the production path at HEAD and raises
    fix: list[tuple[str, str, str]]  # reference fix at HEAD (validity only)
    must_keep: list[tuple[str, str]] = field(default_factory=list)
    test_command: str = "python -m pytest -q"

    def build(self, path: Path) -> Case:
        path.mkdir(parents=True, exist_ok=True)
        repo = path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.name", AUTHORS[0][0])
        git(repo, "config", "user.email", AUTHORS[0][1])
        git(repo, "config", "commit.gpgsign", "false")
        shas = []
        for n, commit in enumerate(self.commits):
            apply(repo, commit)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", commit.message, env=_git_env(n))
            shas.append(git(repo, "rev-parse", "HEAD"))
        report = traceback_report(repo, self.repro, self.service)
        report_path = path / "report.json"
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        return Case(
            name=self.name,
            tier=self.tier,
            kind=self.kind,
            hard=self.hard,
            repo=repo,
            report_path=report_path,
            test_command=self.test_command,
            suspect=shas[self.suspect],
            head=shas[-1],
            commits=shas,
            must_keep=list(self.must_keep),
            report=report,
            fix=list(self.fix),
            repro=self.repro,
        )


def apply(repo: Path, commit: Commit) -> None:
    for rel, text in commit.files.items():
        target = repo / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"))
    apply_edits(repo, commit.edits)


def apply_edits(repo: Path, edits: tuple[tuple[str, str, str], ...] | list[tuple[str, str, str]]) -> None:
    for rel, old, new in edits:
        target = repo / rel
        text = target.read_text()
        if text.count(old) != 1:
            raise ValueError(f"edit of {rel}: {old!r} occurs {text.count(old)} times")
        target.write_text(text.replace(old, new))


_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)', re.M)


def traceback_report(repo: Path, code: str, service: str) -> dict:
    """Run `code` in the repository at HEAD, as the service would, and turn its traceback into an ErrorReport."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=repo,
        capture_output=True,
        text=True,
        env=test_env(),
        timeout=60,
        check=False,
    )
    stack = proc.stderr.strip()
    if proc.returncode == 0 or "Traceback (most recent call last)" not in stack:
        raise RuntimeError(f"the repro did not raise in {repo}:\n{proc.stdout}\n{proc.stderr}")
    root = str(repo.resolve())
    frames = [m for m in _FRAME.finditer(stack) if m["file"].startswith(root + os.sep)]
    if not frames:
        raise RuntimeError(f"no frame of the repository in the traceback:\n{stack}")
    inner = frames[-1]
    return {
        "schema_version": 1,
        "error": stack.splitlines()[-1].strip(),
        "stack": stack,
        "timestamp": REPORT_TIME,
        "environment": "production",
        "service": service,
        "context": {
            "file": os.path.relpath(inner["file"], root),
            "line": int(inner["line"]),
            "function": inner["func"],
            "request_id": f"req-{zlib.crc32(service.encode()):08x}",
        },
    }
