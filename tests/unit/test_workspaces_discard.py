"""An investigation's leftover worktrees, in the states an interrupted process leaves them (real git): the
next implement can still take the fix branch, and the settlement removes every one of them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.workspace import Workspace, fix_branch
from swarm.workspaces import discard_worktrees, investigation_dir


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def worktrees(repo: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def test_leftover_worktrees_are_reused_and_removed_whatever_state_they_were_left_in(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("x = 1\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=D", "-c", "user.email=d@x", "add", "-A")
    git(repo, "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-qm", "one")
    root, spec = tmp_path / "ws", {"path": str(repo), "branch": "main"}
    # what killed phases leave: a fix worktree locked as an interrupted `git worktree add` leaves it, a read
    # worktree half deleted (its .git file gone), and a folder git never finished
    first = Workspace.open(spec, root=root, investigation_id="inv-9", role="implement", mode="write")
    git(repo, "worktree", "lock", str(first.root))
    half = Workspace.open(spec, root=root, investigation_id="inv-9", role="research")
    (half.root / ".git").unlink()
    (investigation_dir(root, "inv-9") / "review-0000").mkdir()

    again = Workspace.open(spec, root=root, investigation_id="inv-9", role="implement", mode="write")
    assert again.branch == fix_branch("inv-9") and not first.root.exists()  # the locked holder gave the branch up
    (again.root / "app.py").write_text("x = 2\n")
    git(again.root, "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-qam", "fix")
    fix = git(again.root, "rev-parse", "HEAD").strip()

    removed = discard_worktrees(root, "inv-9")
    assert len(removed) == 3 and not investigation_dir(root, "inv-9").exists()
    assert worktrees(repo) == [str(repo)]  # every admin entry pruned
    assert git(repo, "rev-parse", fix_branch("inv-9")).strip() == fix  # the fix branch is the product
    assert discard_worktrees(root, "inv-9") == []  # a second settlement finds nothing
