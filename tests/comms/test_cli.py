"""`swarm comms`: --json output and clear errors."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.comms.publisher import comms_outbox
from tests.support.cli import SWARM, swarm_json


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


def test_up_serve_on_a_free_port_and_down_as_the_readme_shows(cli_env: dict[str, str], tmp_path: Path) -> None:
    """README: `swarm comms up`, `swarm comms serve --port …` (0: a free one, printed), the pages answer,
    Ctrl-C stops it, `swarm comms down`. A port already taken is one error line naming it."""
    env = cli_env | {"SWARM_HOME": str(tmp_path), "DATABASE_URL": ""}  # empty: the embedded Postgres
    code, up, _ = swarm_json("comms", "up", env=env)
    assert code == 0 and up["database_url"].startswith("postgresql://"), up
    serve = subprocess.Popen([SWARM, "comms", "serve", "--port", "0", "--json"], env=os.environ | env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in serve.stdout], daemon=True).start()
        printed = ""
        while not printed.rstrip().endswith("}"):  # the JSON document `--json` prints once it listens
            try:
                printed += lines.get(timeout=120)
            except queue.Empty:
                raise AssertionError(f"serve printed no URL in 120 s: {printed!r}") from None
        url = json.loads(printed)["url"]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert port > 0 and url == f"http://127.0.0.1:{port}/agents"
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/agents/runs", timeout=30).status_code == 200
        code, taken, _ = swarm_json("comms", "serve", "--port", str(port), env=env)
        assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in taken["error"], taken
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=60)
        code, down, _ = swarm_json("comms", "down", env=env)  # also when an assertion failed: no Postgres left behind
    assert code == 0 and down["stopped"] == str(tmp_path / "pgdata"), down
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
