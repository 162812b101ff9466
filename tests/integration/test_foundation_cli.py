"""`swarm demo`, `swarm nats up` and `swarm schemas export`, run for real."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import nats
import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.models import PAYLOADS

runner = CliRunner()


def test_demo_runs_end_to_end_on_an_embedded_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)  # the demo starts its own nats-server
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--publish-only", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["server"].startswith("nats://127.0.0.1:") and data["namespace"] == "demo"
    assert [p["duplicate"] for p in data["published"]] == [False, True, False, False, True]
    assert (data["stored"], data["duplicates"]) == (3, 2)
    rows = {r["stream"]: r for r in data["streams"]}
    assert rows["DEMO_PRODUCTION_ERRORS"]["messages"] == 2 and rows["DEMO_STAGING_ERRORS"]["messages"] == 1
    assert rows["DEMO_PRODUCTION_ERRORS"]["consumers"] == [
        {"name": "error-fixer", "num_pending": 2, "num_ack_pending": 0}
    ]
    assert rows["DEMO_ERROR_REPORTS"]["messages"] == 0
    assert "starting an embedded nats-server" in result.stderr  # progress goes to stderr

    human = runner.invoke(app, ["demo", "--publish-only"])
    assert human.exit_code == 0 and "3 stored, 2 dropped as duplicates" in human.stdout


def test_demo_uses_nats_url_when_set(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["demo", "--publish-only", "--namespace", cli_env["NATS_NAMESPACE"], "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["server"] == cli_env["NATS_URL"] and data["stored"] == 3
    assert "starting an embedded" not in result.stderr


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Whatever of the command's process group is left (the CLI, an orphaned nats-server holding its pipes)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def _ignore_sigint() -> None:  # as a non-interactive shell starts a background job (`cmd &`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Ctrl-C, a plain kill, and Ctrl-C / `kill -INT` to a `swarm nats up &` started by a script (SIGINT inherited
# as ignored: Python then installs no KeyboardInterrupt, and the server ran on)
@pytest.mark.parametrize(
    ("stop", "background"), [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)]
)
def test_nats_up_runs_a_jetstream_server_in_the_foreground(
    stop: signal.Signals, background: bool, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm.cli", "nats", "up", "--port", str(port), "--store-dir", str(store), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"SWARM_HOME": str(tmp_path)},
        start_new_session=True,  # its own process group: a failure below kills the server too (bounded test)
        preexec_fn=_ignore_sigint if background else None,
    )
    try:
        assert proc.stderr is not None
        log = []
        for line in proc.stderr:  # the server's own log: readiness is awaited, not slept for
            log.append(line)
            if "Server is ready" in line:
                break
        assert any("Server is ready" in line for line in log), "".join(log)

        async def jetstream_account() -> int:
            nc = await nats.connect(f"nats://127.0.0.1:{port}")
            try:
                return (await nc.jetstream().account_info()).streams
            finally:
                await nc.close()

        assert asyncio.run(jetstream_account()) == 0
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=30)
    finally:
        _kill_group(proc)
    info = json.loads(out)
    assert info["url"] == f"nats://127.0.0.1:{port}" and info["store_dir"] == str(store)
    assert (store / "jetstream").is_dir()
    assert proc.returncode == 0, err
    assert "Server Exiting" in err  # the child server was stopped, not orphaned


def test_schemas_export_writes_a_valid_json_schema_per_payload(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    result = runner.invoke(app, ["schemas", "export", str(out), "--json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert sorted(Path(f).name for f in files) == sorted(f"{name}.schema.json" for name in PAYLOADS)
    for name in PAYLOADS:
        schema = json.loads((out / f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == name and schema["$schema"].endswith("2020-12/schema")

    report_schema = json.loads((out / "ErrorReport.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(report_schema)
    good = {
        "error": "KeyError: 'user_id'",
        "environment": "production",
        "context": {"file": "a.py", "line": 3, "tenant": "acme"},
    }
    assert list(validator.iter_errors(good)) == []
    assert {e.validator for e in validator.iter_errors({"environment": "qa", "error": "x"})} == {"enum"}
    assert {e.validator for e in validator.iter_errors({"context": {}})} == {"required"}

    clash = tmp_path / "a-file"
    clash.write_text("")
    refused = runner.invoke(app, ["schemas", "export", str(clash)])
    assert refused.exit_code == 1 and "is not a directory" in refused.stderr
    below_a_file = clash / "schemas"  # its parent cannot be made: one line naming it, no traceback
    unwritable = runner.invoke(app, ["schemas", "export", str(below_a_file), "--json"])
    assert unwritable.exit_code == 1 and f"cannot write the schemas to {below_a_file}" in unwritable.stderr
    assert json.loads(unwritable.stdout)["exit_code"] == 1
    empty = runner.invoke(app, ["schemas", "export", ""])  # it wrote 13 files into the current directory
    assert empty.exit_code == 2 and "an empty path" in " ".join(empty.output.split()), empty.output


def test_nats_up_on_a_free_port_prints_the_port_it_listens_on(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm.cli", "nats", "up", "--port", "-1", "--store-dir", str(tmp_path / "s"), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | {"SWARM_HOME": str(tmp_path)},
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        listening = ""
        for line in proc.stderr:
            if "Listening for client connections on" in line:
                listening = line.rsplit(" ", 1)[-1].strip()
            if "Server is ready" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        _kill_group(proc)
    url = json.loads(out)["url"]
    assert not url.endswith(":-1") and url == f"nats://{listening}", (url, listening)


def test_a_table_piped_into_a_file_keeps_each_row_on_one_line(cli_env, bus) -> None:
    """Into a pipe Rich assumed 80 columns and wrapped every cell (`t6f50b9 | 5f22.er | rors.st | aging`), which
    no script or grep could read; COLUMNS still sets the width."""
    env = os.environ | cli_env
    env.pop("COLUMNS", None)
    ns = cli_env["NATS_NAMESPACE"]
    piped = subprocess.run([sys.executable, "-m", "swarm.cli", "streams", "report"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    row = next(line for line in piped.stdout.splitlines() if f"{ns.upper()}_PRODUCTION_ERRORS" in line)
    assert f"{ns}.errors.production" in row and "workqueue" in row and "error-fixer 0/0" in row, piped.stdout
    narrow = subprocess.run([sys.executable, "-m", "swarm.cli", "streams", "report"], env=env | {"COLUMNS": "80"},
                            capture_output=True, text=True, timeout=120)
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80, narrow.stdout
