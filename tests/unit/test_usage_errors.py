"""An option value the command refuses is a usage error (exit 2) naming the option, like every other refused
command line, and under `--json` also `{"error": ..., "exit_code": 2}` on stdout. These used to exit 1
(`--namespace` even named NATS_NAMESPACE). NATS_URL points at a port nobody listens on: nothing connects."""

from __future__ import annotations

import contextlib
import io
import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.clikit import run_app

runner = CliRunner(env={"COLUMNS": "1000"})  # Click's error box never folds the message

CASES = [
    (["bench", "fixes", "--split", "bogus"], "'--split'", "'bogus' is not one of 'dev', 'holdout', 'both'"),
    (["bench", "fixes", "--count", "0"], "'--count' / '-n'", "greater than or equal to 1"),
    (["errors", "report", "-m", "boom", "--line", "-3"], "'--line'", "greater than or equal to 0"),
    (["state", "update", "peer.error.inv-1.cycle.1", "--role", "admin", "--jq", "."], "'--role'",
     "unknown role 'admin': expected one of orchestrator, research, implement, review, operator"),
    (["demo", "--publish-only", "--namespace", "a b"], "'--namespace'", "invalid namespace 'a b'"),
    (["nats", "auth", "generate", "--namespace", "a.b"], "'--namespace'", "invalid namespace 'a.b'"),
    (["nats", "auth", "check", "--role", "root"], "'--role'", "unknown role 'root'"),
]


@pytest.fixture(autouse=True)
def _nobody_listens(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWARM_HOME", str(tmp_path))  # whatever got past its options writes nothing here
    monkeypatch.delenv("SWARM_NATS_AUTH", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{port}")


@pytest.mark.parametrize(("args", "option", "message"), CASES, ids=[" ".join(c[0][:2]) + " " + c[1] for c in CASES])
def test_a_refused_option_value_is_a_usage_error_naming_the_option(args: list[str], option: str,
                                                                   message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.stderr and message in result.stderr, result.stderr
    assert "NATS_NAMESPACE" not in result.stderr
    out = io.StringIO()
    with pytest.raises(SystemExit) as done, contextlib.redirect_stdout(out):
        run_app(app, [*args, "--json"])
    assert done.value.code == 2
    answer = json.loads(out.getvalue())
    assert answer["exit_code"] == 2 and option in answer["error"] and message in answer["error"]
