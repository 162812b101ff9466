"""A fix branch pushed with no pull request (`remote:` with no provider): the Result and the signature index say where
it went, and `swarm fixes list` does not let `fixed` read as merged (review 15, problem 6)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from swarm.delivery.deliver import deliver
from swarm.models import Result
from swarm.runtime.fixes_cli import list_line
from swarm.runtime.lifecycle import close_entry


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


async def test_a_push_without_a_provider_is_recorded_where_it_went(tmp_path: Path) -> None:
    repo, remote = tmp_path / "shop", tmp_path / "shop-remote.git"
    repo.mkdir()
    git("-C", str(repo), "init", "-q", "-b", "main")
    (repo / "app.py").write_text("x = 1\n")
    git("-C", str(repo), "add", "app.py")
    git("-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    git("-C", str(repo), "branch", "swarm/fix/inv-1")
    git("init", "-q", "--bare", str(remote))
    fixed = Result(investigation_id="inv-1", signature="s" * 64, status="fixed", branch="swarm/fix/inv-1",
                   fix_commit=git("-C", str(repo), "rev-parse", "main").strip())
    # approval `auto` asks no gate: none is given
    out = await deliver(fixed, {"path": str(repo), "remote": str(remote), "approval": "auto"}, None,  # type: ignore[arg-type]
                        error="KeyError: 'x'", workspace_root=str(tmp_path / "ws"))
    assert out.status == "fixed" and out.pr_url is None and out.pushed_to == f"{remote} swarm/fix/inv-1"
    assert "swarm/fix/inv-1" in git("ls-remote", "--heads", str(remote))
    entry = {"investigation_id": "inv-1", "status": "open"}
    assert close_entry(entry, "inv-1", "fixed", None, None, None, out.pushed_to)
    assert entry["status"] == "fixed" and entry["pushed_to"] == out.pushed_to
    row = {"investigation_id": "inv-1", "service": "shop", "occurrences": 3, "pull_request": None,
           "dead_letter": None, "state": None, "status": "fixed", "approval": None, "pushed_to": entry["pushed_to"]}
    assert list_line(row) == f"inv-1  shop  x3  (branch pushed to {remote} swarm/fix/inv-1, no pull request)"
    # with a pull request, the line names the pull request instead
    assert list_line({**row, "pull_request": "https://github.com/a/b/pull/1"}).endswith("x3  https://github.com/a/b/pull/1")
