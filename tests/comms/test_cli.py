"""`swarm comms`: --json output and clear errors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.comms.publisher import comms_outbox


def test_backfill_json_replays_the_outbox(cli_env: dict[str, str], bus, tmp_path: Path) -> None:
    box = comms_outbox(tmp_path, cli_env["NATS_NAMESPACE"])
    subject = bus.names.comms_run("inv-c", "plan")
    payload = {"run_id": "inv-c", "sender": "orchestrator-0", "kind": "plan", "content": "x"}
    box.put("agent_message", subject, "am-1", json.dumps(payload).encode(), {})
    box.close()
    result = CliRunner().invoke(app, ["comms", "backfill", "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) | {"outbox": ""} == {
        "outbox": "", "replayed": 1, "duplicates": 0, "left": 0, "error": None
    }


def test_runs_names_the_postgres_that_does_not_answer(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://swarm@127.0.0.1:9/comms")
    result = CliRunner().invoke(app, ["comms", "runs", "--json"])
    assert result.exit_code == 1 and "Postgres does not answer at 127.0.0.1:9/comms" in result.output


def test_runs_json_lists_runs(cli_env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    result = CliRunner().invoke(app, ["comms", "runs", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_runs_before_the_schema_is_set_up_says_run_comms_up(
    cli_env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"fresh_{uuid.uuid4().hex[:8]}"  # a server nobody migrated: what `runs` before `up` meets
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")  # type: ignore[arg-type] - our own identifier
    monkeypatch.setenv("DATABASE_URL", psycopg.conninfo.make_conninfo(pg_url, dbname=db))
    result = CliRunner().invoke(app, ["comms", "runs", "--json"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)
    assert error["exit_code"] == 1 and "comms schema is not set up" in error["error"]
    assert "run `swarm comms up` first" in error["error"] and "Traceback" not in result.output


def test_runs_with_no_database_anywhere_says_run_comms_up_and_creates_nothing(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only command ran initdb under ./.swarm/pgdata (and started a server) just to report an empty schema."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("SWARM_HOME", str(home))
    result = CliRunner().invoke(app, ["comms", "runs", "--json"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert "DATABASE_URL is not set" in error and "run `swarm comms up` first" in error, error
    assert not (home / "pgdata").exists()
