"""The operator's CLI against a real nats-server with no swarm running: clear answers, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from swarm.cli import app

runner = CliRunner(env={"COLUMNS": "1000"})  # Typer's error box never folds a long temporary path


def _report(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    stack = 'Traceback (most recent call last):\n  File "app.py", line 3, in f\nKeyError'
    path.write_text(json.dumps({"error": "KeyError: 'user_id'", "service": "checkout", "stack": stack}))
    return path


def test_control_ping_with_no_swarm_running_says_so(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["control", "ping", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    plain = runner.invoke(app, ["control", "ping", "--all"])
    assert plain.exit_code == 0 and "no swarm answered" in plain.stdout


def test_submit_to_a_namespace_never_provisioned_names_what_to_do(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["investigate", "--submit", "--error-file", str(_report(tmp_path))])
    assert result.exit_code == 1
    assert "provision namespace" in result.output and "Traceback" not in result.output


def test_submit_with_a_bad_report_file_names_the_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{}")
    result = runner.invoke(app, ["investigate", "--submit", "--error-file", str(binary)])
    assert result.exit_code == 2 and "not UTF-8" in result.output and "binary.json" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"error": ')
    result = runner.invoke(app, ["investigate", "--submit", "--error-file", str(broken)])
    assert result.exit_code == 2 and "broken.json" in result.output and "not an ErrorReport" in result.output
    result = runner.invoke(app, ["investigate", "--submit", "--repo", str(tmp_path),
                                 "--error-file", str(_report(tmp_path))])
    assert result.exit_code == 2 and "--repo is not used with --submit" in result.output


def test_reject_needs_a_reason_and_submit_checks_its_options_before_submitting(cli_env: dict[str, str],
                                                                                tmp_path: Path) -> None:
    empty = runner.invoke(app, ["reject", "inv-0123456789abcdef", "--reason", "  "])
    assert empty.exit_code == 2 and "--reason is empty" in empty.output
    negative = runner.invoke(app, ["submit", "--timeout", "-5", "--address", "http://127.0.0.1:9"])
    assert negative.exit_code == 2 and "--timeout -5" in negative.output
    missing = runner.invoke(app, ["submit", "--working-dir", str(tmp_path / "nope"), "--address", "http://127.0.0.1:9"])
    assert missing.exit_code == 2 and "no such directory" in missing.output
    unreachable = runner.invoke(app, ["submit", "--address", "http://127.0.0.1:9", "--json"], env={"NATS_URL": ""})
    assert unreachable.exit_code == 1, unreachable.output  # refused before Ray is asked: no job starts a server
    assert json.loads(unreachable.stdout)["error"].startswith("the swarm job needs a NATS server its reporters")
    bad_status = runner.invoke(app, ["fixes", "list", "--status", "merged"])
    assert bad_status.exit_code == 2 and "rejected" in bad_status.output  # the list names every status


def test_jobs_names_the_address_it_could_not_reach_never_a_literal_variable(monkeypatch) -> None:
    """With no --address and no RAY_ADDRESS the message read "at $RAY_ADDRESS"; Ray's client was in fact left
    to its own default (RAY_API_SERVER_ADDRESS, else a local Ray)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://127.0.0.1:9")  # nobody answers there
    result = runner.invoke(app, ["jobs", "--json"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error.startswith("cannot reach the Ray Jobs API at http://127.0.0.1:9 (RAY_API_SERVER_ADDRESS): ")
    assert "$RAY_ADDRESS" not in error


def test_the_jobs_api_address_is_the_dashboard_s_by_default_and_without_a_scheme(monkeypatch) -> None:
    """A new user on a token-auth `ray start --head`: `swarm jobs` without an address asked the GCS (refused:
    the client had not turned the token on); `--address 127.0.0.1:8265` was taken for a GCS address and hung
    40 s. As for `ray job`, none means this machine's head at http://127.0.0.1:8265, HOST:PORT means http."""
    from swarm.runtime.jobs import jobs_address

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    assert jobs_address(None) == "http://127.0.0.1:8265"
    assert jobs_address("10.0.0.5:8265") == "http://10.0.0.5:8265"
    monkeypatch.setenv("RAY_ADDRESS", "head.internal:8265")
    assert jobs_address(None) == "http://head.internal:8265"
    result = runner.invoke(app, ["jobs", "--address", "127.0.0.1:9", "--json"])  # nobody answers there
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["error"].startswith("cannot reach the Ray Jobs API at http://127.0.0.1:9: ")


def test_an_investigation_id_that_is_no_token_is_a_usage_error_before_nats_is_asked() -> None:
    """`control cancel ""` and `control cancel 'a b'` were sent to the control service as they were."""
    for command in (["control", "cancel"], ["approve"], ["reject"]):
        for bad in ("", "a b", "inv.1"):
            args = [*command, bad] + (["--reason", "wrong fix"] if command == ["reject"] else [])
            result = runner.invoke(app, args, env={"NATS_URL": "nats://127.0.0.1:1"})
            assert result.exit_code == 2, (command, bad, result.output)
            assert "is no investigation id (one token" in result.output, result.output


def test_control_ping_waits_a_minute_at_most() -> None:
    """`--wait 1e9` was accepted and waited for good."""
    result = runner.invoke(app, ["control", "ping", "--wait", "1e9"], env={"NATS_URL": "nats://127.0.0.1:1"})
    assert result.exit_code == 2 and "--wait" in result.output, result.output
