"""Worktrees and tools over real git repositories: confinement, role limits, timeouts, capped output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.tools import ROLE_TOOLS, Toolbox, ToolError, parse_test_counts
from agents.workspace import CommandResult, SandboxViolation, Workspace, WorkspaceError, fix_branch, run_command
from swarm.models import TestCounts


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "app.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "test_app.py").write_text(
        "import unittest\n\nfrom pkg.app import add\n\n\nclass T(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n"
    )
    (root / "pkg" / "__init__.py").write_text("")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    os.symlink(secret, root / "leak.txt")  # a committed symlink pointing out of the repository
    os.symlink(tmp_path, root / "outside")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=Dev", "-c", "user.email=d@x", "add", "-A")
    git(root, "-c", "user.name=Dev", "-c", "user.email=d@x", "commit", "-qm", "initial")
    return root


@pytest.fixture
def ws(repo: Path, tmp_path: Path) -> Workspace:
    w = Workspace.open(
        {"path": str(repo), "branch": "main"},
        root=tmp_path / "ws",
        investigation_id="inv-1",
        role="implement",
        mode="write",
    )
    yield w
    w.close()


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "pkg/../../secret.txt",
        "/etc/passwd",
        "~/x",
        "leak.txt",
        "outside/secret.txt",
        ".git/config",
        "pkg/\x00x",
    ],
)
def test_paths_out_of_the_worktree_are_refused(ws: Workspace, path: str) -> None:
    tools = Toolbox(ws, role="implement", test_command=f"{sys.executable} -m unittest")
    with pytest.raises(SandboxViolation):
        tools.call("read_file", {"path": path})
    with pytest.raises(SandboxViolation):
        tools.call("write_file", {"path": path, "content": "pwned\n"})
    assert (ws.root.parent.parent.parent / "secret.txt").read_text() == "TOP SECRET\n"


def test_patch_and_selector_escapes_are_refused(ws: Workspace) -> None:
    tools = Toolbox(ws, role="implement", test_command=f"{sys.executable} -m unittest")
    patch = "--- a/../secret.txt\n+++ b/../secret.txt\n@@ -1 +1 @@\n-TOP SECRET\n+pwned\n"
    with pytest.raises(SandboxViolation):
        tools.call("apply_patch", {"patch": patch})
    with pytest.raises(SandboxViolation):
        tools.call("apply_patch", {"patch": patch.replace("../secret.txt", "leak.txt")})
    with pytest.raises(SandboxViolation):
        tools.call("run_tests", {"selector": "../elsewhere/test_x.py"})
    with pytest.raises(ToolError):
        tools.call("git_show", {"commit": "--output=/tmp/x"})


def test_roles_only_get_their_tools(ws: Workspace) -> None:
    research = Toolbox(ws, role="research")
    assert {s["name"] for s in research.schemas()} == set(ROLE_TOOLS["research"])
    assert "write_file" not in ROLE_TOOLS["research"] and "run_tests" not in ROLE_TOOLS["research"]
    with pytest.raises(ToolError, match="not available to the research role"):
        research.call("write_file", {"path": "pkg/new.py", "content": "x = 1\n"})
    assert not (ws.root / "pkg" / "new.py").exists()
    review = Toolbox(ws, role="review")
    with pytest.raises(ToolError, match="not available to the review role"):
        review.call("apply_patch", {"patch": "--- a/x\n+++ b/x\n"})
    with pytest.raises(ToolError, match="invalid arguments"):
        research.call("read_file", {"path": "pkg/app.py", "start_line": 0})
    schema = next(s for s in Toolbox(ws, role="implement").schemas() if s["name"] == "git_blame")["input_schema"]
    assert schema["required"] == ["path", "start_line", "end_line"]


def test_read_tools_over_the_worktree(ws: Workspace, repo: Path) -> None:
    tools = Toolbox(ws, role="research")
    assert tools.call("read_file", {"path": "pkg/app.py", "start_line": 5, "end_line": 6}).splitlines()[:2] == [
        "    5| def sub(a, b):",
        "    6|     return a - b",
    ]
    listing = tools.call("list_files", {"path": ".", "glob": "*.py"}).splitlines()
    assert "pkg/app.py" in listing and "tests/test_app.py" in listing and not any(".git/" in p for p in listing)
    assert tools.call("search_code", {"pattern": r"return a [-+] b"}).splitlines() == [
        "pkg/app.py:2: return a + b",
        "pkg/app.py:6: return a - b",
    ]
    assert "TOP SECRET" not in tools.call("search_code", {"pattern": "SECRET"})  # symlinks out are not followed
    head = git(repo, "rev-parse", "HEAD").strip()
    assert tools.call("git_blame", {"path": "pkg/app.py", "start_line": 2, "end_line": 2}).startswith(head)
    assert head in tools.call("git_log", {"path": "pkg/app.py"})
    assert "+def add(a, b):" in tools.call("git_show", {"commit": head[:10], "path": "pkg/app.py"})


def test_write_patch_and_tests_in_the_fix_worktree(ws: Workspace, repo: Path) -> None:
    tools = Toolbox(ws, role="implement", test_command=f"{sys.executable} -m unittest discover -s tests -t .")
    assert ws.branch == fix_branch("inv-1") == "swarm/fix/inv-1"
    assert git(ws.root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "swarm/fix/inv-1"
    before = tools.run_tests()
    assert (before.passed, before.failed, before.ok) == (1, 0, True)
    tools.call(
        "apply_patch",
        {
            "patch": "--- a/pkg/app.py\n+++ b/pkg/app.py\n@@ -1,3 +1,3 @@\n def add(a, b):\n"
            "-    return a + b\n+    return a - b\n \n"
        },
    )
    after = tools.run_tests()
    assert (after.passed, after.failed, after.ok) == (0, 1, False)
    assert "FAILED (failures=1)" in after.output_tail
    tools.call("write_file", {"path": "pkg/app.py", "content": "def add(a, b):\n    return b + a\n"})
    assert tools.run_tests().ok and ws.changed == {"pkg/app.py"}
    assert (repo / "pkg" / "app.py").read_text().startswith("def add(a, b):\n    return a + b")  # source untouched


def test_worktrees_are_removed_after_use(repo: Path, tmp_path: Path) -> None:
    w = Workspace.open({"path": str(repo)}, root=tmp_path / "ws", investigation_id="inv/../2", role="research")
    assert w.root.is_dir() and w.root.is_relative_to((tmp_path / "ws").resolve()) and w.branch is None
    assert str(w.root) in git(repo, "worktree", "list")
    w.close()
    assert not w.root.exists() and str(w.root) not in git(repo, "worktree", "list")


def test_a_rerun_takes_the_fix_branch_back_from_a_worktree_left_by_a_killed_run(repo: Path, tmp_path: Path) -> None:
    spec, root = {"path": str(repo), "branch": "main"}, tmp_path / "ws"
    stale = Workspace.open(spec, root=root, investigation_id="inv-9", role="implement", mode="write")
    (stale.root / "pkg" / "app.py").write_text("broken = True\n")  # killed before close: its worktree stays
    again = Workspace.open(spec, root=root, investigation_id="inv-9", role="implement", mode="write")
    try:
        assert again.branch == stale.branch and not stale.root.exists()
        assert str(stale.root) not in git(repo, "worktree", "list")
        assert (again.root / "pkg" / "app.py").read_text().startswith("def add")
    finally:
        again.close()


@pytest.mark.parametrize("namespace", ["default", "payments"])
def test_a_fix_branch_held_by_a_worktree_of_another_workspace_root_is_taken_back(
    repo: Path, tmp_path: Path, namespace: str
) -> None:
    """A relative workspace root lives in a Ray job's working directory: a job submitted anew has another one, and
    the last job's worktree of a phase a drain cut short still held the fix branch (every handed-back report failed
    on it). A worktree the swarm made for the investigation is taken back wherever its root was."""
    spec = {"path": str(repo), "branch": "main"}
    old = Workspace.open(spec, root=tmp_path / "_ray_pkg_5d03" / "ws", investigation_id="inv-9", role="implement",
                         mode="write", namespace=namespace)  # drained: never closed
    # while the process that made it lives (here: this one), it is another run's and is left alone
    with pytest.raises(WorkspaceError, match=f"checked out at {old.root}"):
        Workspace.open(spec, root=tmp_path / "_ray_pkg_bcfb" / "ws", investigation_id="inv-9", role="implement",
                       mode="write", namespace=namespace)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = old.root.parent / f"{old.root.name}.owner"
    owner.write_text(owner.read_text().split()[0] + f" {gone.stdout.strip()}\n")  # the drained job's process: gone
    again = Workspace.open(spec, root=tmp_path / "_ray_pkg_bcfb" / "ws", investigation_id="inv-9", role="implement",
                           mode="write", namespace=namespace)
    try:
        assert again.branch == old.branch and not old.root.exists()
        assert str(old.root) not in git(repo, "worktree", "list")
    finally:
        again.close()


def test_a_fix_branch_checked_out_by_someone_else_is_left_alone_and_named(repo: Path, tmp_path: Path) -> None:
    spec, root = {"path": str(repo), "branch": "main"}, tmp_path / "ws"
    Workspace.open(spec, root=root, investigation_id="inv-7", role="implement", mode="write").close()
    mine = tmp_path / "looking-at-the-fix"
    git(repo, "worktree", "add", "-q", str(mine), fix_branch("inv-7"))
    with pytest.raises(WorkspaceError, match=f"checked out at {mine}"):
        Workspace.open(spec, root=root, investigation_id="inv-7", role="implement", mode="write")
    assert mine.is_dir() and fix_branch("inv-7") in git(mine, "branch", "--show-current")


def test_a_rerun_drops_only_its_own_fix_commits_and_never_a_commit_someone_put_on_the_branch(
    repo: Path, tmp_path: Path
) -> None:
    """The fix branch is reset for a new fix (a redone phase, `swarm investigate` run again): the investigation's
    own commits (its `Swarm-Investigation:` trailer) may go; a user's commit on the branch refuses the reset."""
    spec, root, branch = {"path": str(repo), "branch": "main"}, tmp_path / "ws", fix_branch("inv-5")
    first = Workspace.open(spec, root=root, investigation_id="inv-5", role="implement", mode="write")
    (first.root / "pkg" / "app.py").write_text("def add(a, b):\n    return b + a\n")
    git(first.root, "-c", "user.name=swarm", "-c", "user.email=s@x", "commit", "-qam",
        "fix: add\n\nSwarm-Investigation: inv-5\nSwarm-Signature: abc")
    first.close()
    again = Workspace.open(spec, root=root, investigation_id="inv-5", role="implement", mode="write")
    again.close()  # its own commit went with the reset
    assert git(repo, "rev-parse", branch) == git(repo, "rev-parse", "main")
    third = Workspace.open(spec, root=root, investigation_id="inv-5", role="implement", mode="write")
    (third.root / "pkg" / "app.py").write_text("def add(a, b):\n    return b + a\n")
    git(third.root, "-c", "user.name=swarm", "-c", "user.email=s@x", "commit", "-qam",
        "fix: add\n\nSwarm-Investigation: inv-5")
    (third.root / "NOTE.md").write_text("looks good\n")  # a reviewer's note on the fix branch
    git(third.root, "add", "NOTE.md")
    git(third.root, "-c", "user.name=alice", "-c", "user.email=a@x", "commit", "-qm", "alice: review note")
    third.close()
    tip = git(repo, "rev-parse", branch)
    with pytest.raises(WorkspaceError, match=r"has commits this investigation did not make \(\w{10} alice: review"):
        Workspace.open(spec, root=root, investigation_id="inv-5", role="implement", mode="write")
    assert git(repo, "rev-parse", branch) == tip  # left as it was
    other = Workspace.open(spec, root=root, investigation_id="inv-6", role="implement", mode="write")
    other.close()  # another investigation's branch is its own


def test_repository_by_url_is_cloned_once(repo: Path, tmp_path: Path) -> None:
    spec = {"url": f"file://{repo}", "branch": "main"}
    first = Workspace.open(spec, root=tmp_path / "ws", investigation_id="a", role="research")
    second = Workspace.open(spec, root=tmp_path / "ws", investigation_id="b", role="research")
    try:
        assert first.source == second.source and first.source.is_relative_to((tmp_path / "ws" / "_clones").resolve())
        assert (second.root / "pkg" / "app.py").read_text() == (repo / "pkg" / "app.py").read_text()
    finally:
        first.close()
        second.close()


def test_commands_time_out_and_output_is_capped(tmp_path: Path) -> None:
    slow = run_command(
        [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"], tmp_path, timeout_s=0.5
    )
    assert slow.timed_out and not slow.ok and "started" in slow.output and "timed out after 0.5 s" in slow.output
    loud = run_command([sys.executable, "-c", "print('x' * 100000 + 'END')"], tmp_path, max_output=1000)
    assert loud.truncated and len(loud.output) < 1200 and loud.output.rstrip().endswith("END")


def test_test_counts_from_pytest_and_unittest() -> None:
    py = parse_test_counts(CommandResult(1, "....F\n=== 1 failed, 4 passed, 2 errors in 0.1s ===\n"))
    assert (py.passed, py.failed, py.errors, py.ok) == (4, 1, 2, False)
    ut = parse_test_counts(CommandResult(1, "Ran 7 tests in 0.01s\n\nFAILED (failures=2, errors=1, skipped=1)\n"))
    assert (ut.passed, ut.failed, ut.errors, ut.ok) == (3, 2, 1, False)
    ok = parse_test_counts(CommandResult(0, "Ran 3 tests in 0.0s\n\nOK\n"))
    assert (ok.passed, ok.failed, ok.ok) == (3, 0, True)
    assert not parse_test_counts(CommandResult(-9, "5 passed", timed_out=True)).ok


@pytest.mark.parametrize("runner", [["-m", "pytest", "-q", "-p", "no:cacheprovider"], ["-m", "unittest"]],
                         ids=["pytest", "unittest"])
def test_a_run_red_only_where_the_baseline_was_red_holds_and_one_newly_failing_does_not(tmp_path: Path,
                                                                                        runner: list[str]) -> None:
    """The failing tests a real pytest or unittest run names, and the PASS_TO_PASS judgement on them."""
    from agents.testrun import holds, new_failures

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")

    def run(**results: bool) -> TestCounts:
        body = "".join(f"    def test_{name}(self):\n        self.assertTrue({ok})\n" for name, ok in results.items())
        (tmp_path / "tests" / "test_x.py").write_text(f"import unittest\n\n\nclass T(unittest.TestCase):\n{body}")
        return parse_test_counts(run_command([sys.executable, *runner], tmp_path, timeout_s=120))

    before = run(a=True, b=False, c=False)
    assert not before.ok and before.passed == 1 and len(before.failing) == 2, before
    assert all("test_b" in t or "test_c" in t for t in before.failing), before.failing
    fixed_one = run(a=True, b=True, c=False)
    assert new_failures(before, fixed_one) == [] and holds(before, fixed_one)
    broke_a = run(a=False, b=True, c=False)
    new = new_failures(before, broke_a)
    assert new is not None and len(new) == 1 and "test_a" in new[0] and not holds(before, broke_a)
    assert holds(before, run(a=True, b=True, c=True)) and run(a=True, b=True, c=True).failing == []
    assert not holds(None, fixed_one)  # no baseline: only a green run holds
    unnamed = parse_test_counts(CommandResult(1, "something went wrong\n"))
    assert unnamed.failing == [] and new_failures(before, unnamed) is None and not holds(before, unnamed)
    timed_out = parse_test_counts(CommandResult(-9, "timed out after 600 s", timed_out=True))
    assert not holds(before, timed_out)


def test_two_namespaces_on_one_repository_keep_their_own_fix_branch_and_worktrees(repo: Path, tmp_path: Path) -> None:
    """An investigation id is the signature's, so two swarms (namespaces) that see one error on one repository
    share it: each commits on a branch and works in folders of its own, and settling one removes none of the
    other's worktrees (they used to reset each other's fix branch and delete each other's worktrees)."""
    from swarm.workspaces import discard_worktrees, investigation_dir

    spec, root = {"path": str(repo), "branch": "main"}, tmp_path / "ws"
    fixes = {}
    for ns, body in (("payments", "return b + a"), ("default", "return a + b + 0")):
        w = Workspace.open(spec, root=root, investigation_id="inv-3", role="implement", mode="write", namespace=ns)
        (w.root / "pkg" / "app.py").write_text(f"def add(a, b):\n    {body}\n")
        git(w.root, "-c", "user.name=swarm", "-c", "user.email=s@x", "commit", "-qam",
            "fix: add\n\nSwarm-Investigation: inv-3")
        fixes[ns] = (w.branch, git(repo, "rev-parse", str(w.branch)).strip())
        assert w.root.is_relative_to(investigation_dir(root, "inv-3", ns))
        w.close()
    assert fixes["payments"][0] == "swarm/fix/payments/inv-3" == fix_branch("inv-3", "payments")
    assert fixes["default"][0] == "swarm/fix/inv-3" == fix_branch("inv-3")
    for branch, tip in fixes.values():  # the second swarm's fix reset nothing of the first's
        assert git(repo, "rev-parse", branch).strip() == tip
    assert "return b + a" in git(repo, "show", "swarm/fix/payments/inv-3:pkg/app.py")

    mine = Workspace.open(spec, root=root, investigation_id="inv-3", role="research", namespace="payments")
    theirs = Workspace.open(spec, root=root, investigation_id="inv-3", role="research")
    try:
        assert discard_worktrees(root, "inv-3") == [str(theirs.root)]  # the default namespace's settlement
        assert mine.root.is_dir() and str(mine.root) in git(repo, "worktree", "list")
    finally:
        mine.close()
