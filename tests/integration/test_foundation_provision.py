"""Provisioning a namespace from configs/streams.yaml, against the real session nats-server."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import uuid
from typing import Any

import pytest
from nats.js import api as js_api
from typer.testing import CliRunner

from swarm.bus.connect import Bus, open_bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import nats_server_binary
from swarm.bus.settings import Settings
from swarm.cli import app
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report

runner = CliRunner()
DAY, WEEK = 86400, 604800


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def invoke(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)


async def namespace_streams(bus: Bus) -> dict[str, js_api.StreamInfo]:
    """Every stream on the server that belongs to bus's namespace (KV buckets included)."""
    prefixes = (f"{bus.names.NS}_", f"KV_{bus.names.NS}_")
    found: dict[str, js_api.StreamInfo] = {}
    offset = 0
    while page := await bus.js.streams_info(offset=offset):  # the server lists 256 streams per page
        found |= {s.config.name: s for s in page if s.config.name.startswith(prefixes)}
        offset += len(page)
    return found


async def test_provision_creates_exactly_the_configured_streams_consumers_and_buckets(settings: Settings) -> None:
    cfg = load_streams_config(settings.swarm_streams_config)
    async with open_bus(settings) as bus:
        n = bus.names
        items = await provision(bus.js, n, cfg)
        assert {i.action for i in items} == {"create"}
        streams = await namespace_streams(bus)

        expected = {n.stream(s.name) for s in cfg.streams} | {f"KV_{n.stream(kv.name)}" for kv in cfg.kv}
        assert set(streams) == expected
        assert f"KV_{n.peer_bucket}" in streams

        # DESIGN.md's table for the error streams
        for env, window in (("default", 120), ("staging", DAY), ("production", DAY)):
            c = streams[n.error_stream(env)].config
            assert c.subjects == [n.errors(env)]
            assert c.retention == js_api.RetentionPolicy.WORK_QUEUE
            assert (c.duplicate_window, c.max_age) == (window, WEEK)
            assert c.storage == js_api.StorageType.FILE and c.num_replicas == 1
            consumers = await bus.js.consumers_info(n.error_stream(env))
            assert [x.name for x in consumers] == ["error-fixer"]
            cc = consumers[0].config
            assert cc.ack_policy == js_api.AckPolicy.EXPLICIT
            assert (cc.max_deliver, cc.ack_wait, cc.filter_subject) == (3, 600, n.errors(env))
        assert streams[n.stream("RESULTS")].config.retention == js_api.RetentionPolicy.LIMITS
        assert streams[n.stream("INVESTIGATIONS")].config.subjects == [n.investigation_all]

        # consumers exist only where the file puts them
        with_consumers = {s: [c.name for c in await bus.js.consumers_info(s)] for s in streams}
        wanted = {n.stream(s.name): s.consumers for s in cfg.streams}
        assert {s: c for s, c in with_consumers.items() if c} == {s: c for s, c in wanted.items() if c}

        peer = streams[f"KV_{n.peer_bucket}"].config
        assert peer.max_msgs_per_subject == next(kv.history for kv in cfg.kv if kv.name == "PEER_STATE")


async def test_a_second_namespace_on_the_same_server_is_isolated(settings: Settings) -> None:
    other = settings.model_copy(update={"nats_namespace": f"o{uuid.uuid4().hex[:10]}"})
    cfg = load_streams_config(settings.swarm_streams_config)
    async with open_bus(settings) as a, open_bus(other) as b:
        await provision(a.js, a.names, cfg)
        await provision(b.js, b.names, cfg)
        for env in ("default", "staging", "production"):
            await publish_report(a, ErrorReport(error=f"boom in {env}", environment=env))

        a_streams, b_streams = await namespace_streams(a), await namespace_streams(b)
        assert a_streams.keys().isdisjoint(b_streams.keys())
        a_subjects = {s for i in a_streams.values() for s in i.config.subjects or []}
        b_subjects = {s for i in b_streams.values() for s in i.config.subjects or []}
        assert a_subjects.isdisjoint(b_subjects)
        # every subject is the namespace's own, or a JetStream advisory about the namespace's own streams
        own_advisory = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{a.names.NS}_"
        assert all(s.startswith((f"{a.names.ns}.", own_advisory)) for s in a_subjects if not s.startswith("$KV"))

        assert sum(i.state.messages for i in a_streams.values()) == 3
        assert all(i.state.messages == 0 for i in b_streams.values())
        for env in ("default", "staging", "production"):
            assert (await b.js.consumer_info(b.names.error_stream(env), "error-fixer")).num_pending == 0
            assert (await a.js.consumer_info(a.names.error_stream(env), "error-fixer")).num_pending == 1


def test_reprovisioning_is_a_no_op(cli_env: dict[str, str], settings: Settings) -> None:
    first = invoke("streams", "provision", "--json")
    assert first.exit_code == 0, first.output
    assert {i["action"] for i in json.loads(first.stdout)["items"]} == {"create"}

    async def snapshot() -> dict[str, Any]:
        async with open_bus(settings) as bus:
            return {name: (i.created, i.config.as_dict()) for name, i in (await namespace_streams(bus)).items()}

    before = asyncio.run(snapshot())
    second = invoke("streams", "provision", "--json")
    assert second.exit_code == 0, second.output
    data = json.loads(second.stdout)
    assert {i["action"] for i in data["items"]} == {"ok"}
    assert data["summary"].startswith("nothing to change")
    assert asyncio.run(snapshot()) == before

    human = invoke("streams", "provision")
    assert human.exit_code == 0 and "nothing to change" in human.stdout


def test_the_working_directory_s_configs_are_the_default_and_named(
    cli_env: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A deployment directory with its own `configs/streams.yaml` (as it has its own `.env`) is read from
    there, and the command says which file it read; elsewhere the swarm checkout's file is the default."""
    from swarm.bus.settings import DEFAULT_CONFIG_DIR

    (tmp_path / "configs").mkdir()
    text = (DEFAULT_CONFIG_DIR / "streams.yaml").read_text()
    assert "duplicate_window_s: 120" in text
    own = tmp_path / "configs" / "streams.yaml"
    own.write_text(text.replace("duplicate_window_s: 120", "duplicate_window_s: 77", 1))
    monkeypatch.chdir(tmp_path)
    result = invoke("streams", "provision", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config"] == str(own) and data["summary"].endswith(f"(from {own})")  # the first run names it too

    async def windows() -> set[float]:
        async with open_bus(settings) as bus:
            return {i.config.duplicate_window for i in (await namespace_streams(bus)).values()}

    assert 77 in asyncio.run(windows())
    again = invoke("streams", "provision")
    assert again.exit_code == 0 and f"the server matches {own}" in again.stdout.replace("\n", "")

    monkeypatch.chdir(tmp_path / "configs")  # no configs/ here: the checkout's file
    assert json.loads(invoke("streams", "report", "--json").stdout)["streams"]
    assert Settings().swarm_streams_config == DEFAULT_CONFIG_DIR / "streams.yaml"


def test_drift_is_reported_and_fixed_only_with_apply(cli_env: dict[str, str], settings: Settings) -> None:
    assert invoke("streams", "provision").exit_code == 0
    stream = f"{settings.nats_namespace.upper()}_ERROR_REPORTS"

    async def max_age(set_to: float | None = None) -> float:
        async with open_bus(settings) as bus:
            info = await bus.js.stream_info(stream)
            if set_to is not None:
                info.config.max_age = set_to
                info = await bus.js.update_stream(info.config)
            return info.config.max_age

    assert asyncio.run(max_age(3600)) == 3600

    drift = invoke("streams", "provision")
    assert drift.exit_code == 0, drift.output
    assert "drift" in drift.stdout and stream in drift.stdout and "--apply" in drift.stdout
    assert "max_age: server 3600 -> file 604800" in drift.stdout
    as_json = json.loads(invoke("streams", "provision", "--json").stdout)
    [item] = [i for i in as_json["items"] if i["action"] != "ok"]
    assert item == {
        "kind": "stream",
        "name": stream,
        "action": "drift",
        "diffs": [{"field": "max_age", "server": 3600, "file": 604800}],
    }
    assert asyncio.run(max_age()) == 3600  # reported, not changed

    applied = json.loads(invoke("streams", "provision", "--apply", "--json").stdout)
    assert [i["action"] for i in applied["items"] if i["action"] != "ok"] == ["update"]
    assert asyncio.run(max_age()) == WEEK
    assert "nothing to change" in invoke("streams", "provision").stdout


def test_a_field_that_cannot_change_in_place_is_a_conflict_with_exit_1(
    cli_env: dict[str, str], settings: Settings
) -> None:
    async def squat() -> None:  # someone created TASKS in memory before swarm provisioned the namespace
        async with open_bus(settings) as bus:
            await bus.js.add_stream(
                name=bus.names.stream("TASKS"),
                subjects=[f"{bus.names.ns}.tasks.>"],
                retention="workqueue",
                storage="memory",
                max_age=WEEK,
            )

    asyncio.run(squat())
    result = invoke("streams", "provision", "--apply")
    assert result.exit_code == 1
    assert "conflict" in result.stdout and "storage: server 'memory' -> file 'file'" in result.stdout
    assert "cannot change in place" in result.stderr


def test_report_shows_messages_consumers_and_pending(cli_env: dict[str, str], settings: Settings) -> None:
    assert invoke("streams", "provision").exit_code == 0

    async def publish() -> None:
        async with open_bus(settings) as bus:
            for line in (1, 2):
                await publish_report(bus, ErrorReport(error="boom", environment="staging", context={"line": line}))

    asyncio.run(publish())
    result = invoke("streams", "report", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["stream"]: r for r in json.loads(result.stdout)["streams"]}
    staging = rows[f"{settings.nats_namespace.upper()}_STAGING_ERRORS"]
    assert staging["subjects"] == [f"{settings.nats_namespace}.errors.staging"]
    assert (staging["retention"], staging["messages"]) == ("workqueue", 2) and staging["bytes"] > 0
    assert staging["consumers"] == [{"name": "error-fixer", "num_pending": 2, "num_ack_pending": 0}]
    assert rows[f"{settings.nats_namespace.upper()}_ERROR_REPORTS"]["messages"] == 0
    assert not any(r["missing"] for r in rows.values())

    table = invoke("streams", "report")
    assert table.exit_code == 0
    assert f"namespace {settings.nats_namespace}" in table.stdout and "workqueue" in table.stdout


def test_purge_asks_first_and_empties_one_error_stream(cli_env: dict[str, str], settings: Settings) -> None:
    assert invoke("streams", "provision").exit_code == 0

    async def publish_and_count(purged_env: str | None = None) -> dict[str, int]:
        async with open_bus(settings) as bus:
            if purged_env is None:
                for env in ("staging", "production"):
                    await publish_report(bus, ErrorReport(error="boom", environment=env))
            return {
                e: (await bus.js.stream_info(bus.names.error_stream(e))).state.messages
                for e in ("staging", "production")
            }

    assert asyncio.run(publish_and_count()) == {"staging": 1, "production": 1}
    refused = invoke("streams", "purge", "--env", "staging", "--json", input="n\n")
    assert refused.exit_code == 1 and "nothing purged" in refused.stderr
    # the question is on stderr: stdout is for the JSON alone, here the error as an object
    assert json.loads(refused.stdout) == {
        "error": "nothing purged (not confirmed; pass --yes to skip the question)", "exit_code": 1,
    }
    assert asyncio.run(publish_and_count("staging")) == {"staging": 1, "production": 1}

    done = invoke("streams", "purge", "--env", "staging", "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"stream": f"{settings.nats_namespace.upper()}_STAGING_ERRORS", "purged": 1}
    assert asyncio.run(publish_and_count("staging")) == {"staging": 0, "production": 1}

    unknown = invoke("streams", "purge", "--env", "qa", "--yes")
    assert unknown.exit_code != 0 and "unknown environment 'qa'" in unknown.stderr


@pytest.mark.parametrize(
    "command", [["streams", "report"], ["streams", "provision"], ["errors", "tail"], ["errors", "report", "-m", "boom"]]
)
def test_commands_say_clearly_when_nats_url_is_unset(
    command: list[str], cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("NATS_URL")
    monkeypatch.chdir(tmp_path)  # no .env file that could set it
    result = invoke(*command)
    assert result.exit_code == 1
    assert "NATS_URL is not set" in result.stderr


def test_commands_say_clearly_when_nothing_answers(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    monkeypatch.setenv("NATS_URL", url)
    for command in (["streams", "report"], ["errors", "report", "-m", "boom"]):
        result = invoke(*command)
        assert result.exit_code == 1
        assert f"nothing answers at NATS_URL={url}" in result.stderr


def test_an_invalid_namespace_is_refused_naming_it(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_NAMESPACE", "pay.ments")
    for command in (["streams", "provision"], ["errors", "report", "-m", "boom"], ["demo", "--namespace", "pay.ments"]):
        result = invoke(*command)
        assert result.exit_code != 0
        assert "invalid namespace 'pay.ments'" in result.stderr


def test_a_server_without_jetstream_is_named_as_the_problem(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port)], stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # readiness from the server's own log
            if "Server is ready" in line:
                break
        monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{port}")
        for command in (["streams", "provision"], ["streams", "report"]):
            result = invoke(*command)
            assert result.exit_code == 1
            assert "is the server started with JetStream (-js)?" in result.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
