"""Where an investigation's git worktrees live, and their removal once the investigation is settled.

    folder = investigation_dir(".swarm/workspaces", "inv-1")   # every worktree of inv-1 is a folder below it
    removed = discard_worktrees(".swarm/workspaces", "inv-1")  # each one's checkout and git admin entry
    await discard_settled(".swarm/workspaces", "inv-1", "orchestrator-0")  # the same, off the loop, best effort
    fix_branch("inv-1", "payments")                            # 'swarm/fix/payments/inv-1'

The agents add their worktrees under `investigation_dir` (agents/workspace.py) and remove each one when
its phase ends; a phase cut short (a drain kills its actor, a kill -9, a node lost) leaves its worktree
behind. The runtime calls `discard_worktrees` when the investigation settles (its Result is published,
or its report is dead-lettered: a later occurrence that takes it over redoes its unfinished phases in
worktrees of their own), which removes every worktree the investigation ever had on this node,
whatever state an interrupted process left it in (locked half-way through `git worktree add`, its
directory half deleted, its admin entry gone). Branches are never touched: a fix branch is the product.

An investigation id is a signature's (`inv-<sig16>`), so two namespaces that see one error on one
repository share it: the folder and the fix branch carry the namespace (`@<ns>/` and `swarm/fix/<ns>/`)
unless it is the default one, so neither removes the other's worktrees or resets the other's fix.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path

from swarm.toolrunner import run_local

__all__ = ["DEFAULT_NAMESPACE", "investigation_dir", "fix_branch", "discard_worktrees", "discard_settled"]

log = logging.getLogger("swarm.workspaces")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
GIT_TIMEOUT_S = 60.0
DEFAULT_NAMESPACE = "default"  # swarm.bus.settings.Settings.nats_namespace's default: folders and branches as before


def _safe_id(investigation_id: str) -> str:
    return _SAFE.sub("-", investigation_id).strip(".-") or "investigation"


def investigation_dir(root: str | Path, investigation_id: str, namespace: str = DEFAULT_NAMESPACE) -> Path:
    """The folder of one investigation's worktrees under the workspace root (absolute); another namespace's
    under `@<namespace>/` (an id never holds `@`)."""
    base = Path(root).expanduser().resolve()
    if namespace != DEFAULT_NAMESPACE:
        base = base / f"@{_SAFE.sub('-', namespace)}"
    return base / (_SAFE.sub("-", investigation_id) or "investigation")


def fix_branch(investigation_id: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The branch an investigation's fix is committed on: `swarm/fix/<id>`, `swarm/fix/<ns>/<id>` in another
    namespace than the default one."""
    scope = "" if namespace == DEFAULT_NAMESPACE else f"{_SAFE.sub('-', namespace).strip('.-')}/"
    return f"swarm/fix/{scope}{_safe_id(investigation_id)}"


def _admin_dir(worktree: Path) -> Path | None:
    """The worktree's admin entry (`<repo>/.git/worktrees/<name>`), read from its `.git` file."""
    try:
        line = (worktree / ".git").read_text().strip()
    except OSError:
        return None
    return Path(line.split(":", 1)[1].strip()) if line.startswith("gitdir:") else None


def _common_dir(worktree: Path) -> Path | None:
    """The repository a worktree was added from (its common git directory); None when that cannot be read."""
    admin = _admin_dir(worktree)
    if admin is None:
        return None
    try:
        return (admin / (admin / "commondir").read_text().strip()).resolve()
    except OSError:
        return admin.parent.parent if admin.parent.name == "worktrees" else None


def _git(common: Path, *args: str) -> bool:
    res = run_local(["git", f"--git-dir={common}", *args], common, timeout_s=GIT_TIMEOUT_S)
    if not res.ok:
        log.debug("git %s in %s: %s", " ".join(args), common, res.output.strip()[-500:])
    return res.ok


def discard_worktrees(root: str | Path, investigation_id: str, namespace: str = DEFAULT_NAMESPACE) -> list[str]:
    """Remove every worktree under the investigation's folder, then the folder; the paths removed.

    Each worktree goes through `git worktree remove -f -f` (twice forced: a worktree an interrupted
    `git worktree add` left locked is removed too), falling back to deleting its directory; then every
    repository they came from is pruned, so no admin entry is left pointing at a gone directory."""
    folder = investigation_dir(root, investigation_id, namespace)
    if not folder.is_dir():
        return []
    removed: list[str] = []
    sources: set[Path] = set()
    for tree in sorted(p for p in folder.iterdir() if p.is_dir()):
        admin, common = _admin_dir(tree), _common_dir(tree)
        if common is not None and common.is_dir():
            sources.add(common)
            _git(common, "worktree", "remove", "--force", "--force", str(tree))
        if tree.exists():  # git could not remove it: the directory goes, and its entry with the prune below
            shutil.rmtree(tree, ignore_errors=True)
            if admin is not None:
                (admin / "locked").unlink(missing_ok=True)  # a locked entry is never pruned
        removed.append(str(tree))
    for common in sources:
        _git(common, "worktree", "prune")
    shutil.rmtree(folder, ignore_errors=True)
    return removed


async def discard_settled(root: str | Path, investigation_id: str, actor: str,
                          namespace: str = DEFAULT_NAMESPACE) -> None:
    """`discard_worktrees` for a settled investigation, in a thread: best effort, a failure is logged (the
    next settlement of the id tries again), never raised into the settlement that called it."""
    try:
        removed = await asyncio.to_thread(discard_worktrees, root, investigation_id, namespace)
    except Exception as exc:  # noqa: BLE001 - the Result or the dead letter is what counts
        log.warning("%s: the worktrees of %s were not removed: %r", actor, investigation_id, exc)
        return
    if removed:
        log.info("%s: removed %d worktree(s) of %s", actor, len(removed), investigation_id)
