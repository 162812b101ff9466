"""The files the connection variables name (NATS_TLS_*, NATS_CREDS): a bad one is one line naming the variable
and the file (with `--json`, a JSON error too), never a traceback and never "is the server running?"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.bus.tls import write_tls
from swarm.cli import app

runner = CliRunner(env={"COLUMNS": "1000"})


def _refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """The one error line of `streams report --json` under `env` (asserted: exit 1, JSON error, no traceback)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["streams", "report", "--json"])
    for key in env:
        monkeypatch.delenv(key)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit), result.exception
    error = json.loads(result.stdout)["error"]
    assert "is the server running" not in error
    return str(error)


def test_a_tls_file_that_cannot_be_used_is_one_line_naming_its_variable_and_file(
        cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good = write_tls(tmp_path / "tls", ["127.0.0.1"])
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate\n")
    missing = tmp_path / "nope.pem"
    assert _refused(monkeypatch, NATS_TLS_CA=str(missing)) == f"NATS_TLS_CA file not found: {missing}"
    assert _refused(monkeypatch, NATS_TLS_CA=str(tmp_path)) == f"NATS_TLS_CA file {tmp_path} is a directory, not a file"
    assert _refused(monkeypatch, NATS_TLS_CA=str(text)).startswith(f"NATS_TLS_CA={text} is not a PEM CA certificate")
    assert _refused(monkeypatch, NATS_TLS_CERT=str(text)) == f"NATS_TLS_CERT={text} is not a PEM certificate"
    assert _refused(monkeypatch, NATS_TLS_CERT=str(good.cert), NATS_TLS_KEY=str(missing)) == \
        f"NATS_TLS_KEY file not found: {missing}"
    assert _refused(monkeypatch, NATS_TLS_CERT=str(good.cert), NATS_TLS_KEY=str(text)) == \
        f"NATS_TLS_KEY={text} is not a PEM private key"
    assert "holds no private key: set NATS_TLS_KEY" in _refused(monkeypatch, NATS_TLS_CERT=str(good.cert))
    assert "without NATS_TLS_CERT" in _refused(monkeypatch, NATS_TLS_KEY=str(good.key))
    assert _refused(monkeypatch, NATS_CREDS=str(missing)) == f"NATS_CREDS file not found: {missing}"
