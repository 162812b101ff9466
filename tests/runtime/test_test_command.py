"""The repository's test command is a shell command line (agents.testcmd), and one that cannot run at all
gives a failed Result saying so, never a suspect commit: real git repositories, real processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.findrepro import find_repro
from agents.testcmd import TestCommand, TestCommandError
from agents.testing.regressions import make_case
from agents.tools import Toolbox
from agents.workspace import Workspace, run_heavy
from agents.workspace import test_env as command_env
from swarm.cli import app

runner = CliRunner()


def investigate(case, tmp_path: Path, test_command: str) -> dict:
    error_file = tmp_path / "report.json"
    error_file.write_text(case.report.model_dump_json())
    result = runner.invoke(app, ["investigate", "--repo", str(case.path), "--error-file", str(error_file),
                                 "--test-command", test_command, "--json"])
    assert result.stdout.strip(), result.output
    return json.loads(result.stdout)


@pytest.fixture
def repo_ws(tmp_path: Path):
    case = make_case(tmp_path / "repo", "later_commits", seed=5)
    ws = Workspace.open(case.repository, root=tmp_path / "ws", investigation_id="inv-cmd", role="review")
    yield case, ws
    ws.close()


def run(ws: Workspace, command: str):
    cmd = TestCommand(command)
    return cmd, run_heavy(cmd.argv(), ws.root, timeout_s=120, env=command_env())


def test_shell_syntax_in_the_test_command_runs_as_a_shell_runs_it(repo_ws) -> None:
    _, ws = repo_ws
    (ws.root / "tests" / "test_env_flag.py").write_text(
        "import os\n\n\ndef test_flag():\n    assert os.environ['SWARM_FLAG'] == 'on'\n")
    tools = Toolbox(ws, role="review", test_command="test -d tests && SWARM_FLAG=on python -m pytest -q "
                    "tests/test_env_flag.py | tee run.log")
    counts = tools.run_tests()
    assert (counts.passed, counts.failed, counts.ok) == (1, 0, True), counts.output_tail
    assert "1 passed" in (ws.root / "run.log").read_text()  # the pipe went to tee, not to pytest
    # a test id the agents add is appended to the line: here it reaches pytest after the `cd`
    (ws.root / "sub").mkdir()
    (ws.root / "sub" / "test_here.py").write_text("def test_here():\n    pass\n\n\ndef test_other():\n    pass\n")
    tools = Toolbox(ws, role="review", test_command="cd sub && python -m pytest -q")
    counts = tools.run_tests("test_here.py::test_here")
    assert (counts.passed, counts.ok) == (1, True), counts.output_tail
    # with a pipe after pytest, the id goes to pytest's words, before the pipe (not to `tee` as a file name)
    tools = Toolbox(ws, role="review", test_command="cd sub && python -m pytest -q 2>&1 | tee ../ids.log")
    counts = tools.run_tests("test_here.py::test_here")
    assert (counts.passed, counts.ok) == (1, True), counts.output_tail
    assert "1 passed" in (ws.root / "ids.log").read_text()
    assert not (ws.root / "sub" / "test_here.py::test_here").exists()


@pytest.mark.parametrize(("command", "why"), [
    ("no-such-test-runner -q", "exit 127"),
    ("cd no-such-dir && python -m pytest -q", "can't cd to no-such-dir"),
    ("python -m no_such_module -q", "found no module 'no_such_module'"),
    ("python -m pytest -q --no-such-option", "pytest refused its arguments (exit 4)"),
    ("python -m pytest -q no_such_tests/", "pytest refused its arguments (exit 4)"),
])
def test_a_command_that_cannot_run_is_told_from_failing_tests(repo_ws, command: str, why: str) -> None:
    case, ws = repo_ws
    cmd, res = run(ws, command)
    assert not res.ok and why in (cmd.cannot_run(res) or ""), res.output
    with pytest.raises(TestCommandError, match="could not be run"):  # bisect never starts: nothing is blamed
        find_repro(ws.root, case.report, command)
    # the suite of the same repository fails (the regression), and its collection errors are the code's own
    cmd, res = run(ws, "python -m pytest -q")
    assert not res.ok and cmd.cannot_run(res) is None, res.output
    (ws.root / "tests" / "test_broken.py").write_text("import inventory.no_such_helper\n")
    cmd, res = run(ws, "python -m pytest -q")
    assert res.returncode == 2 and cmd.cannot_run(res) is None, res.output


def test_a_plain_command_runs_without_a_shell_and_python_is_this_interpreter() -> None:
    assert TestCommand("python -m pytest -q tests").argv("-x") == [sys.executable, "-m", "pytest", "-q", "tests", "-x"]
    assert TestCommand("FOO=1 pytest").argv("a b") == ["/bin/sh", "-c", "FOO=1 pytest 'a b'"]
    assert TestCommand("pytest -q 'a|b' >out 2>&1; echo x").argv("t") == [
        "/bin/sh", "-c", "pytest -q 'a|b' t >out 2>&1; echo x"]


@pytest.mark.usefixtures("ray_session", "cli_env")
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("ray_session")  # the session's Ray: `swarm investigate` in this process reuses it
def test_investigate_with_a_shell_test_command_fixes_and_one_that_cannot_run_fails(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    case = make_case(tmp_path / "repo", "later_commits", seed=5)
    data = investigate(case, tmp_path, "test -d tests && SWARM_FLAG=on python -m pytest -q")
    assert data["status"] == "fixed" and data["suspect_commit"] == case.regression_commit, data
    assert data["tests_before"]["failed"] > 0 and data["tests_after"]["failed"] == 0

    other = make_case(tmp_path / "other", "later_commits", seed=6)
    data = investigate(other, tmp_path, "no-such-test-runner -q")
    assert data["status"] == "failed" and data["suspect_commit"] is None, data
    assert "the test command 'no-such-test-runner -q' could not be run" in data["error"], data["error"]
    assert "exit 127" in data["error"] and "no-such-test-runner" in data["error"].split("exit 127", 1)[1]
