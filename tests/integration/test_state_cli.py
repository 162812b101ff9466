"""`swarm state ...` against the real nats-server: output on stdout, clear errors on stderr, exit codes."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from typer.testing import CliRunner

from swarm.bus.connect import open_bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.errors import InvalidInput
from swarm.state import PeerState, PeerStateStore, Status
from swarm.state.cli import state_app

KEY = "peer.error.inv-9.cycle.1"
runner = CliRunner()
wide = CliRunner(env={"COLUMNS": "1000"})  # Click's error box never folds the message


def _kv_put(settings: Settings, key: str, value: bytes) -> int:
    """A raw write behind the store's back (what a hand-written script would do)."""

    async def put() -> int:
        async with open_bus(settings) as bus:
            return await (await PeerStateStore(bus).kv()).put(key, value)

    return asyncio.run(put())


@pytest.fixture
def provisioned(settings: Settings, cli_env: dict[str, str]) -> Settings:
    async def go() -> None:
        async with open_bus(settings) as bus:
            await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))

    asyncio.run(go())
    return settings


def sw(*args: str, input: str | None = None, code: int = 0, report: bool = False) -> tuple[str, str]:
    result = runner.invoke(state_app, list(args), input=input)
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    if code:
        assert result.stderr.startswith("error: ")  # one clear line on stderr
        assert report or result.stdout == ""  # and nothing on stdout, unless the command's output is a report
    return result.stdout, result.stderr


def revision(key: str = KEY) -> int:
    return json.loads(sw("get", key, "--json")[0])["revision"]


def test_create_get_and_create_existing(provisioned: Settings) -> None:
    out, _ = sw("create", KEY, "--json")
    assert json.loads(out)["revision"] == 1
    state = PeerState.model_validate_json(sw("get", KEY)[0])  # plain `get` is the state itself, valid JSON
    assert state.key == KEY and state.metadata.status is Status.NEW
    _, err = sw("create", KEY, code=1)
    assert f"'{KEY}' already exists (revision 1)" in err
    assert revision() == 1


def test_create_from_stdin_and_file(provisioned: Settings, tmp_path) -> None:
    state = PeerState.new("inv-9", "error", 1, service="billing")
    sw("create", KEY, "--file", "-", input=state.model_dump_json())
    assert PeerState.model_validate_json(sw("get", KEY)[0]) == state

    other = tmp_path / "other.json"
    other.write_text(PeerState.new("inv-10").model_dump_json())
    _, err = sw("create", KEY.replace("inv-9", "inv-11"), "--file", str(other), code=1)
    assert "belongs to key 'peer.error.inv-10.cycle.1', not 'peer.error.inv-11.cycle.1'" in err
    other.write_text("{not json")
    _, err = sw("create", "peer.error.inv-10.cycle.1", "--file", str(other), code=1)
    assert "invalid input" in err and "Invalid JSON" in err
    _, err = sw("create", "peer.error.inv-10.cycle.1", "--file", str(tmp_path / "missing.json"), code=1)
    assert f"--file not found: {tmp_path / 'missing.json'}" in err  # the files every command reads: one wording
    _, err = sw("create", "peer.error.inv 10.cycle.1", code=1)
    assert "invalid PEER key" in err


def test_update_with_set_and_jq(provisioned: Settings) -> None:
    sw("create", KEY)
    out, _ = sw(
        "update",
        KEY,
        "--role",
        "orchestrator",
        "--set",
        'metadata.status="PLANNING"',
        "--set",
        'phases.plan.output.steps=["reproduce","fix"]',
        "--json",
    )
    data = json.loads(out)
    assert data["revision"] == 2 and data["state"]["metadata"]["updated_by"] == "cli:orchestrator"
    out, _ = sw("update", KEY, "--role", "operator", "--jq", '.metadata.occurrences += 4 | .metadata.owner = "ops"')
    assert f"{KEY} revision 3" in out
    state = PeerState.model_validate_json(sw("get", KEY)[0])
    assert state.metadata.status is Status.PLANNING and state.phases.plan.output == {"steps": ["reproduce", "fix"]}
    assert (state.metadata.occurrences, state.metadata.owner) == (5, "ops")


def test_update_errors_are_clear_and_write_nothing(provisioned: Settings) -> None:
    sw("create", KEY)
    cases = [
        (["--role", "operator", "--set", 'metadata.stauts="X"'], "bad --set path 'metadata.stauts': no field 'stauts'"),
        (["--role", "operator", "--set", "phases.plan.status.x=1"], "bad --set path 'phases.plan.status.x'"),
        (
            ["--role", "operator", "--set", "metadata.status=PLANNING"],
            "invalid JSON in --set 'metadata.status=PLANNING'",
        ),
        (
            ["--role", "operator", "--set", 'metadata.status="DANCING"'],
            "would write an invalid PeerState: metadata.status",
        ),
        (["--role", "operator", "--jq", ".metadata |||"], "invalid jq filter '.metadata |||'"),
        (["--role", "operator", "--jq", ".metadata"], "would write an invalid PeerState"),
        (["--role", "operator", "--jq", ".[] "], "must produce exactly one object"),
        (["--role", "operator", "--jq", '.metadata.cycle |= error("boom")'], "jq filter '.metadata.cycle |= error"),
        (["--role", "review", "--set", 'phases.plan.status="DONE"'], "role 'review' may not change phases.plan"),
    ]
    for args, message in cases:
        _, err = sw("update", KEY, *args, code=1)
        assert message in err, (args, err)
    for args in (["--role", "operator"], ["--role", "operator", "--set", "metadata.occurrences=2", "--jq", "."]):
        _, err = sw("update", KEY, *args, code=2)  # a bad command line
        assert "give either --set" in err, (args, err)
    unknown = wide.invoke(state_app, ["update", KEY, "--role", "intern", "--set", "metadata.occurrences=2"])
    assert unknown.exit_code == 2 and "Invalid value for '--role': unknown role 'intern'" in unknown.stderr
    assert revision() == 1  # none of them wrote anything


def test_update_of_missing_key(provisioned: Settings) -> None:
    _, err = sw("update", "peer.error.ghost.cycle.1", "--role", "operator", "--jq", ".", code=1)
    assert "no PEER state at key 'peer.error.ghost.cycle.1'" in err
    _, err = sw("get", "peer.error.ghost.cycle.1", code=1)
    assert "no PEER state" in err
    for args in (["get", "peer.error.ghost.cycle.1"], ["get", "inv-nope"], ["watch", "inv-nope", "--timeout", "5"]):
        out, err = sw(*args, "--json", code=1, report=True)  # every --json answers an error in JSON too
        assert json.loads(out)["exit_code"] == 1 and json.loads(out)["error"] in err, args


def test_corruption_history_doctor_restore(provisioned: Settings) -> None:
    sw("create", KEY)
    sw("update", KEY, "--role", "orchestrator", "--set", 'metadata.status="PLANNING"')
    good = sw("get", KEY)[0]
    bad = _kv_put(provisioned, KEY, b'{"metadata": ')

    _, err = sw("get", KEY, code=1)
    assert f"corrupted PEER state at key '{KEY}' revision {bad}: not JSON" in err
    history = json.loads(sw("history", KEY, "--json")[0])
    assert [(h["revision"], h["valid"]) for h in history] == [(1, True), (2, True), (bad, False)]
    assert "not JSON" in sw("history", KEY)[0]  # the table for people shows why
    out, err = sw("doctor", "--json", code=1, report=True)
    assert "1 key(s) need repair" in err
    report = json.loads(out)
    assert report["healthy"] is False
    [finding] = report["findings"]
    assert (finding["key"], finding["revision"], finding["problem"]) == (KEY, bad, "corrupt")
    assert finding["last_valid_revision"] == 2 and finding["reason"].startswith("not JSON")

    out, _ = sw("restore", KEY, "--revision", "2", "--json")
    assert json.loads(out) == {"key": KEY, "restored": 2, "revision": bad + 1}
    assert sw("get", KEY)[0] == good
    assert json.loads(sw("doctor", "--json")[0]) == {"checked": 1, "healthy": True, "findings": []}
    assert "every latest revision is a valid state" in sw("doctor")[0]
    _, err = sw("restore", KEY, "--revision", str(bad), code=1)
    assert f"revision {bad}: not JSON" in err


def test_watch_stops_on_count_and_timeout(provisioned: Settings) -> None:
    sw("create", KEY)
    out, _ = sw("watch", KEY, "--count", "1", "--json")
    [line] = out.splitlines()
    change = json.loads(line)
    assert (change["key"], change["revision"], change["state"]["metadata"]["status"]) == (KEY, 1, "NEW")
    out, _ = sw("watch", "--no-initial", "--timeout", "0.2")
    assert out == ""
    out, _ = sw("watch", "--timeout", "0.2")
    assert f"{KEY} rev 1 PUT: NEW" in out


def test_unreachable_server_is_a_clear_error(provisioned: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{port}")
    _, err = sw("get", KEY, code=1)
    assert f"nothing answers at NATS_URL=nats://127.0.0.1:{port}" in err


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_revision_below_one_is_a_usage_error_naming_the_option_and_writes_nothing(provisioned: Settings,
                                                                                     value: str) -> None:
    """Revision 0 read (and restore rewrote) the latest revision; -1 was a raw server error (a traceback)."""
    sw("create", KEY)
    sw("update", KEY, "--role", "orchestrator", "--set", 'metadata.status="PLANNING"')
    for command in ("get", "restore"):
        result = wide.invoke(state_app, [command, KEY, "--revision", value, "--json"])
        assert result.exit_code == 2, result.output
        assert "'--revision'" in result.stderr and "greater than or equal to 1" in result.stderr
        assert "Traceback" not in result.output
    assert revision() == 2  # restore wrote nothing


async def test_the_store_refuses_a_revision_below_one(bus) -> None:
    store = PeerStateStore(bus)
    with pytest.raises(InvalidInput, match="revision 0 of .*: revisions start at 1"):
        await store.read(KEY, 0)
