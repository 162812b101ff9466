"""Per-investigation git worktrees under the workspace root, with every path confined to the worktree.

    ws = Workspace.open({"path": "/src/app", "branch": "main"}, root=".swarm/workspaces",
                        investigation_id="inv-1", role="research")
    try:
        ws.resolve("pkg/app.py")        # a Path inside the worktree
        ws.resolve("../etc/passwd")     # raises SandboxViolation (so do absolute paths and symlinks out)
        ws.git("log", "-1", "--format=%H")
    finally:
        ws.close()                      # the worktree is removed

Every worktree of an investigation is a folder of `swarm.workspaces.investigation_dir(root, id)`: the
runtime removes them all when the investigation settles (`discard_worktrees`), also those a phase cut
short by a drain or a crash left behind.

Modes: "read" (detached at the base branch head, or at `ref`), "write" (branch `swarm/fix/<id>`,
`swarm/fix/<namespace>/<id>` outside the default namespace, reset to the base branch, for implement),
"review" (detached at an existing branch). A repository given by `url` is cloned once (bare) under
`<root>/_clones/` and worktrees are added from that clone.
Every command runs with a timeout and capped output (`run_command`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from swarm.agent import (
    DEFAULT_NAMESPACE,
    AgentFailed,
    CommandResult,
    InvalidInput,
    fix_branch,
    investigation_dir,
    run_local,
    run_tool,
)

__all__ = [
    "Workspace",
    "CommandResult",
    "SandboxViolation",
    "WorkspaceError",
    "run_command",
    "run_heavy",
    "fix_branch",
    "test_env",
]

Mode = Literal["read", "write", "review"]
MAX_OUTPUT = 20_000
GIT_TIMEOUT_S = 60.0
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SandboxViolation(InvalidInput):
    """A path or argument tried to reach outside the worktree."""


class WorkspaceError(AgentFailed):
    """A git or workspace operation failed (the message carries git's own output)."""


def test_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for commands in a worktree: this interpreter first on PATH, no bytecode files, no API key."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("ANTHROPIC_API_KEY", None)  # repository code never sees the brain's credentials
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


NETGUARD = Path(__file__).with_name("netguard")  # a `sitecustomize` that refuses every network connection


def repro_env() -> dict[str, str]:
    """`test_env()` for runs that call the application's code with a report's values (built repros, probes,
    carves): no network connection can be opened (`agents/netguard`), so a repro never replays a production
    side effect. The repository's own tests get `test_env()`."""
    env = test_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(NETGUARD), env.get("PYTHONPATH", "")) if p)
    return env


def run_command(
    args: list[str],
    cwd: Path | str,
    *,
    timeout_s: float = GIT_TIMEOUT_S,
    max_output: int = MAX_OUTPUT,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> CommandResult:
    """Run `args` here (no shell) with a timeout and capped output: light work (git). Heavy work (test and
    repro runs) goes through `run_heavy`, which the host may run elsewhere."""
    return run_local(args, cwd, timeout_s=timeout_s, max_output=max_output,
                     env=dict(env) if env is not None else test_env(), stdin=stdin)


def run_heavy(
    args: list[str],
    cwd: Path | str,
    *,
    timeout_s: float,
    max_output: int = MAX_OUTPUT,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """A test, repro or build run through the host's tool runner (`swarm.agent.run_tool`): a Ray task that
    declares its CPUs under the runtime, a subprocess here otherwise."""
    return run_tool(args, cwd, timeout_s=timeout_s, max_output=max_output,
                    env=dict(env) if env is not None else test_env())


def _git(cwd: Path, *args: str, timeout_s: float = GIT_TIMEOUT_S, stdin: str | None = None) -> str:
    res = run_command(["git", *args], cwd, timeout_s=timeout_s, stdin=stdin, max_output=5_000_000)
    if not res.ok:
        raise WorkspaceError(f"git {' '.join(args[:3])} failed in {cwd}: {res.output.strip()[-2000:]}")
    return res.output


def _free_branch(source: Path, branch: str, lock_root: Path) -> None:
    """Make `branch` free for a new fix worktree: a worktree of ours still holding it (a run killed before
    its `close`) is removed; a checkout of anyone else's is never touched, and the error names it."""
    holder = None
    for block in _git(source, "worktree", "list", "--porcelain").split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in block.splitlines())
        if fields.get("branch") == f"refs/heads/{branch}":
            holder = Path(fields["worktree"])
    if holder is None:
        return
    if holder.resolve().is_relative_to(lock_root) or _swarm_worktree(holder, branch):
        # twice forced: one left locked by a killed `worktree add`
        _git(source, "worktree", "remove", "--force", "--force", str(holder))
        return
    raise WorkspaceError(
        f"fix branch {branch!r} is checked out at {holder}: switch that checkout to another branch "
        f"(git -C {holder} switch -) or remove it (git worktree remove {holder}), then run again"
    )


def _owner_file(worktree: Path) -> Path:
    """Beside a worktree (never in it: a file in it would be committed): the host and pid of the process that made
    it."""
    return worktree.parent / f"{worktree.name}.owner"


def _owner_alive(worktree: Path) -> bool:
    """Whether the process that made the worktree may still use it: it runs on this host, or it is on another host
    (which cannot be asked)."""
    try:
        host, pid = _owner_file(worktree).read_text().split()
    except (OSError, ValueError):
        return False  # no owner said (made before owners were kept, or half written): nobody to wait for
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _swarm_worktree(path: Path, branch: str) -> bool:
    """Whether a checkout of `branch` is a worktree the swarm made for that investigation under another workspace
    root (`.../[@<ns>/]<investigation>/<role>-<8 hex>`) whose process is gone. A relative root lives in a Ray job's
    working directory, and a job submitted anew (another package) has another one: the last job's worktree of a
    phase a drain cut short held the fix branch, and every handed-back investigation failed on it (a new user's
    resubmitted job). A live one (a `swarm run` beside it on another root) is left alone and named."""
    *scope, inv = branch.removeprefix("swarm/fix/").split("/")
    if not re.fullmatch(r"[a-z]+-[0-9a-f]{8}", path.name) or path.parent.name != inv:
        return False
    return (not scope or path.parent.parent.name == f"@{scope[0]}") and not _owner_alive(path)


def _refuse_foreign_commits(source: Path, branch: str, base_commit: str, investigation_id: str) -> None:
    """The fix branch is reset to the base for a new fix: only commits this investigation made may go with the
    reset (a redone phase, `swarm investigate` run again). A commit anyone else put on it (a reviewer's
    follow-up, a user's note) is never dropped: the phase fails naming it, and the branch stays as it is."""
    ref = f"refs/heads/{branch}"
    if not run_command(["git", "rev-parse", "--verify", "--quiet", ref], source, timeout_s=GIT_TIMEOUT_S).ok:
        return  # no branch yet
    ours = f"Swarm-Investigation: {investigation_id}"
    foreign = []
    for entry in _git(source, "log", "--format=%H%x1f%s%x1f%B%x1e", f"{base_commit}..{ref}").split("\x1e"):
        sha, _, rest = entry.strip().partition("\x1f")
        subject, _, body = rest.partition("\x1f")
        if sha and ours not in body.splitlines():
            foreign.append(f"{sha[:10]} {subject[:60]}")
    if foreign:
        shown = "; ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise WorkspaceError(
            f"fix branch {branch!r} has commits this investigation did not make ({shown}): it is left as it is; "
            f"rename it (git -C {source} branch -m {branch} <new name>) or delete it to investigate again"
        )


@contextlib.contextmanager
def _locked(root: Path, key: str) -> Iterator[None]:
    """A cross-process lock per source repository: worktree add/remove and clones do not race."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".lock-{hashlib.sha1(key.encode()).hexdigest()[:16]}", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _source_repo(repository: Mapping[str, Any], root: Path) -> tuple[Path, str]:
    """The local repository worktrees are added from, and the base ref in it."""
    branch = str(repository.get("branch") or "main")
    if repository.get("path"):
        src = Path(str(repository["path"])).expanduser().resolve()
        if not (src / ".git").exists() and not (src / "HEAD").exists():
            raise WorkspaceError(f"repository path {src} is not a git repository")
        return src, branch
    url = repository.get("url")
    if not url:
        raise InvalidInput("a repository needs `path` or `url`")
    clone = root / "_clones" / hashlib.sha1(str(url).encode()).hexdigest()[:16]
    with _locked(root, str(url)):
        if not clone.exists():
            clone.parent.mkdir(parents=True, exist_ok=True)
            _git(clone.parent, "clone", "--bare", "--quiet", str(url), clone.name, timeout_s=600)
        else:
            _git(clone, "fetch", "--quiet", "origin", f"+refs/heads/{branch}:refs/heads/{branch}", timeout_s=600)
    return clone, branch


@dataclass
class Workspace:
    """One git worktree; `resolve` is the only way tools turn a user path into a file path."""

    root: Path
    source: Path
    base: str  # the base branch name
    base_commit: str
    mode: Mode
    branch: str | None = None
    changed: set[str] = field(default_factory=set)  # paths written by tools (committed by implement)
    _lock_root: Path | None = None

    @classmethod
    def open(
        cls,
        repository: Mapping[str, Any],
        *,
        root: str | Path,
        investigation_id: str,
        role: str,
        mode: Mode = "read",
        ref: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> Workspace:
        lock_root = Path(root).expanduser().resolve()
        source, base = _source_repo(repository, lock_root)
        try:
            base_commit = _git(source, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}").strip()
        except WorkspaceError as exc:
            raise WorkspaceError(f"branch {base!r} not found in {source}") from exc
        where = investigation_dir(lock_root, investigation_id, namespace) / f"{role}-{uuid.uuid4().hex[:8]}"
        where.parent.mkdir(parents=True, exist_ok=True)
        branch = fix_branch(investigation_id, namespace) if mode == "write" else None
        with _locked(lock_root, str(source)):
            _git(source, "worktree", "prune")  # forget worktrees of crashed runs so their branches are free
            if mode == "write":
                _free_branch(source, str(branch), lock_root)
                _refuse_foreign_commits(source, str(branch), base_commit, investigation_id)
                _git(source, "worktree", "add", "--quiet", "-B", str(branch), str(where), base_commit)
                _owner_file(where).write_text(f"{socket.gethostname()} {os.getpid()}\n")
            else:
                target = ref or base_commit
                if target.startswith("-"):
                    raise SandboxViolation(f"invalid ref {target!r}")
                _git(source, "worktree", "add", "--quiet", "--detach", str(where), target)
        return cls(where.resolve(), source, base, base_commit, mode, branch, _lock_root=lock_root)

    # -- paths -------------------------------------------------------------------------------------
    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        """Map a worktree-relative path to a real path inside the worktree, or raise SandboxViolation."""
        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            raise SandboxViolation(f"invalid path {path!r}")
        pure = PurePosixPath(path.strip())
        if pure.is_absolute() or path.startswith("~") or re.match(r"^[A-Za-z]:", path):
            raise SandboxViolation(f"absolute path {path!r} refused: paths are relative to the worktree")
        if ".." in pure.parts:
            raise SandboxViolation(f"path {path!r} refused: '..' may not leave the worktree")
        if ".git" in pure.parts:
            raise SandboxViolation(f"path {path!r} refused: the .git directory is off limits")
        real = (self.root / pure).resolve()
        if real != self.root and self.root not in real.parents:
            raise SandboxViolation(f"path {path!r} refused: it resolves outside the worktree (symlink)")
        if must_exist and not real.exists():
            raise FileNotFoundError(f"no such file in the worktree: {path}")
        return real

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    # -- git -----------------------------------------------------------------------------------------
    def git(self, *args: str, timeout_s: float = GIT_TIMEOUT_S, stdin: str | None = None) -> str:
        return _git(self.root, *args, timeout_s=timeout_s, stdin=stdin)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def close(self) -> None:
        """Remove the worktree (the fix branch, if any, stays in the source repository)."""
        lock_root = self._lock_root or self.root.parent
        with _locked(lock_root, str(self.source)):
            res = run_command(["git", "worktree", "remove", "--force", str(self.root)], self.source)
            if not res.ok and self.root.exists():
                shutil.rmtree(self.root, ignore_errors=True)
            run_command(["git", "worktree", "prune"], self.source)
        _owner_file(self.root).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.root.parent.rmdir()  # the investigation's folder, once its last worktree is gone

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
