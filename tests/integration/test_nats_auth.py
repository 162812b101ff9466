"""A shared nats-server with the generated configuration: accounts per namespace, a user per role, TLS.

One real nats-server for the module, started with what `swarm nats auth generate` writes for two
namespaces (alpha, beta); every client connects with its role's NKey seed, as the runtime does.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nkeys
import pytest
from nats.js.errors import NotFoundError
from typer.testing import CliRunner

from swarm.bus.auth import AuthConfig, generate
from swarm.bus.connect import Bus, open_bus
from swarm.bus.names import Names
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import DEFAULT_CONFIG_DIR, Settings
from swarm.bus.tls import write_tls
from swarm.cli import app
from swarm.comms.publisher import notice
from swarm.errors import ConfigError, PermissionDenied
from swarm.models import DeployMarker, ErrorReport, Result
from swarm.runtime.control import control_request, ping
from swarm.runtime.lifecycle import DeployMarkers
from swarm.runtime.tasks import submit_investigation
from tests.support.cli import SWARM

pytestmark = pytest.mark.timeout(300)
STREAMS = load_streams_config(DEFAULT_CONFIG_DIR / "streams.yaml")
runner = CliRunner()


@pytest.fixture(scope="module")
def auth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = AuthConfig(namespaces=["alpha", "beta", "pipe", "exhausted"])
    return generate(cfg, tmp_path_factory.mktemp("auth"), STREAMS).directory


@pytest.fixture(scope="module")
def server(auth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(store_dir=tmp_path_factory.mktemp("nats-auth"), config_file=auth_dir / "nats-server.conf") as s:
        yield s


def settings_for(server: EmbeddedNats, auth_dir: Path, ns: str, **kw: object) -> Settings:
    return Settings(nats_url=server.url, nats_namespace=ns, swarm_nats_auth=auth_dir, _env_file=None, **kw)


@pytest.fixture(scope="module")
def provisioned(server: EmbeddedNats, auth_dir: Path) -> dict[str, Settings]:
    """Both namespaces provisioned by their admin user."""

    async def admin(s: Settings) -> None:
        async with open_bus(s, role="admin") as bus:
            await provision(bus.js, bus.names, STREAMS)

    out = {ns: settings_for(server, auth_dir, ns) for ns in ("alpha", "beta", "pipe", "exhausted")}
    for s in out.values():
        asyncio.run(admin(s))
    return out


def report(i: int) -> ErrorReport:
    stack = f'Traceback (most recent call last):\n  File "app/w{i}.py", line {10 + i}, in run\nValueError'
    return ErrorReport(error=f"ValueError: widget {i} is broken", service="shop", stack=stack,
                       context={"file": f"app/w{i}.py", "line": 10 + i, "function": "run"})


async def messages(bus: Bus, stream: str) -> int:
    return int((await bus.js.stream_info(stream)).state.messages)


async def test_reporter_cannot_read_results_or_publish_to_another_namespace(provisioned) -> None:
    alpha = provisioned["alpha"]
    async with open_bus(alpha, role="reporter") as reporter:
        ack = await reporter.publish(reporter.names.errors("production"), report(1), msg_id="alpha-r-1")
        assert ack.stream == "ALPHA_PRODUCTION_ERRORS"
        with pytest.raises(TimeoutError):  # a refused request is never answered
            await reporter.js.get_last_msg(reporter.names.stream("RESULTS"), reporter.names.results_all)
        assert reporter.refusals.refused("publish", f"$JS.API.STREAM.MSG.GET.{reporter.names.stream('RESULTS')}")
        await reporter.nc.subscribe(reporter.names.results_all)
        await reporter.roundtrip()
        assert reporter.refusals.refused("subscription", reporter.names.results_all)
        with pytest.raises(PermissionDenied, match=r"reporter@alpha .*beta\.errors\.production"):
            await reporter.publish(Names("beta").errors("production"), report(1), timeout=1)
    async with open_bus(provisioned["beta"], role="operator") as beta:
        assert await messages(beta, beta.names.error_stream("production")) == 0


async def test_a_forged_fixed_result_from_a_reporter_is_refused_by_the_server(provisioned) -> None:
    alpha = provisioned["alpha"]
    forged = Result(investigation_id="inv-forged", signature="0" * 64, status="fixed", service="shop")
    async with open_bus(alpha, role="reporter") as reporter:
        with pytest.raises(PermissionDenied, match="permissions violation"):
            await reporter.publish(reporter.names.result("fixed", "inv-forged"), forged, msg_id="inv-forged", timeout=1)
    async with open_bus(alpha, role="operator") as operator:
        with pytest.raises(NotFoundError):
            await operator.js.get_last_msg(operator.names.stream("RESULTS"), operator.names.result_of("inv-forged"))
    async with open_bus(alpha, role="orchestrator") as orchestrator:  # the role that may publish it
        await orchestrator.publish(orchestrator.names.result("fixed", "inv-real"), forged, msg_id="inv-real")


async def test_an_agent_cannot_publish_errors_or_delete_a_stream(provisioned, tmp_path) -> None:
    alpha = provisioned["alpha"]
    async with open_bus(alpha, role="agent") as agent:
        with pytest.raises(PermissionDenied, match="agent@alpha"):
            await agent.publish(agent.names.errors("production"), report(2), timeout=1)
        stream = agent.names.error_stream("production")
        with pytest.raises(TimeoutError):
            await agent.js.delete_stream(stream)
        assert agent.refusals.refused("publish", f"$JS.API.STREAM.DELETE.{stream}")
        # what an agent is for still works: PEER state and the messages of its run
        kv = await agent.js.key_value(agent.names.peer_bucket)
        await kv.put(agent.names.peer_key("error", "inv-a", 1), b"{}")
        await agent.publish(agent.names.comms_run("inv-a", "finding"), b"{}")
        # the notice an agent's dead brain gives (it was refused, so no one heard of it)
        sent = await notice(agent, "brain_dead", "claude died", outbox_dir=tmp_path)
        assert sent == "published", sent
        assert not agent.refusals.refused("publish", agent.names.comms_general("brain_dead"))
    async with open_bus(alpha, role="operator") as operator:
        assert (await operator.js.stream_info(stream)).config.name == stream


async def test_two_namespaces_on_one_server_see_nothing_of_each_other(provisioned) -> None:
    alpha, beta = provisioned["alpha"], provisioned["beta"]
    async with open_bus(beta, role="operator") as spy, open_bus(alpha, role="reporter") as reporter:
        seen = []

        async def got(msg) -> None:
            seen.append(msg.subject)

        await spy.nc.subscribe(spy.names.all, cb=got)
        await spy.nc.subscribe("alpha.>", cb=got)
        await spy.roundtrip()
        assert spy.refusals.refused("subscription", "alpha.>")
        await reporter.publish(reporter.names.errors(), report(3), msg_id="alpha-r-3")
        await spy.roundtrip()
        assert seen == []
        streams = [i.config.name for i in await spy.js.streams_info()]  # alpha's are in another account
        assert streams and all(s.startswith(("BETA_", "KV_BETA_")) for s in streams)
    async with open_bus(alpha, role="operator") as operator:
        assert [i.config.name for i in await operator.js.streams_info() if i.config.name.startswith("BETA")] == []


def _cli_env(monkeypatch: pytest.MonkeyPatch, s: Settings, **extra: str) -> None:
    monkeypatch.setenv("NATS_URL", str(s.nats_url))
    monkeypatch.setenv("NATS_NAMESPACE", s.nats_namespace)
    monkeypatch.setenv("SWARM_NATS_AUTH", str(s.swarm_nats_auth))
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def test_wrong_credentials_give_one_line_naming_the_user(provisioned, tmp_path, monkeypatch) -> None:
    wrong = tmp_path / "auth"
    shutil.copytree(provisioned["alpha"].swarm_nats_auth, wrong)
    (wrong / "alpha" / "reporter.nk").write_bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
    _cli_env(monkeypatch, provisioned["alpha"], SWARM_NATS_AUTH=str(wrong))
    result = runner.invoke(app, ["errors", "report", "--env", "production", "--message", "boom"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "reporter@alpha" in lines[0] and "authorization violation" in lines[0]
    # the self-test names the role that cannot connect and fails
    result = runner.invoke(app, ["nats", "auth", "check", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["roles"]["reporter"]["connected"] is False and data["roles"]["intake"]["connected"] is True


def test_a_role_seed_given_alone_gets_its_replies_on_the_role_inboxes(provisioned, monkeypatch) -> None:
    """A role's seed as NATS_NKEY_SEED, without SWARM_NATS_AUTH: the server grants that user replies on
    `_INBOX.<role>.>` only, so a request on nats-py's default `_INBOX.` was refused (its PubAck never came)."""
    alpha = provisioned["alpha"]
    monkeypatch.setenv("NATS_URL", str(alpha.nats_url))
    monkeypatch.setenv("NATS_NAMESPACE", "alpha")
    monkeypatch.delenv("SWARM_NATS_AUTH", raising=False)
    monkeypatch.setenv("NATS_NKEY_SEED", str(alpha.swarm_nats_auth / "alpha" / "reporter.nk"))
    result = runner.invoke(app, ["errors", "report", "--env", "production", "--message", "KeyError: 'seed'",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stream"] == "ALPHA_PRODUCTION_ERRORS"
    # a command that names no role takes NATS_ROLE's inboxes, as with SWARM_NATS_AUTH: another role's are
    # refused, and the error says what to set
    monkeypatch.setenv("NATS_NKEY_SEED", str(alpha.swarm_nats_auth / "alpha" / "operator.nk"))
    monkeypatch.setenv("NATS_ROLE", "reporter")
    refused = runner.invoke(app, ["streams", "report", "--json"])
    assert refused.exit_code == 1, refused.output
    error = json.loads(refused.stdout)["error"]
    assert "to subscription to _INBOX.reporter." in error and "set NATS_ROLE to that role" in error, error
    monkeypatch.setenv("NATS_ROLE", "operator")
    result = runner.invoke(app, ["streams", "report", "--json"])
    assert result.exit_code == 0, result.output


def test_auth_check_proves_every_role_and_changes_nothing(provisioned, monkeypatch) -> None:
    _cli_env(monkeypatch, provisioned["alpha"])
    before = runner.invoke(app, ["streams", "report", "--json"])
    assert before.exit_code == 0, before.output
    result = runner.invoke(app, ["nats", "auth", "check", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["enforced"]
    assert set(data["roles"]) == {"reporter", "intake", "orchestrator", "agent", "monitor", "operator", "comms",
                                  "admin"}
    reporter = data["roles"]["reporter"]
    assert reporter["expected_held"] == 4 and reporter["held"] == 4  # three error subjects and its inbox
    assert reporter["refused"] == reporter["expected_refused"] > 200
    forbidden = {(p["action"], p["subject"]) for p in reporter["probes"] if not p["expected"]}
    assert ("publish", "alpha.results.fixed.swarm-auth-check") in forbidden
    assert ("publish", "$JS.API.STREAM.DELETE.ALPHA_ERROR_REPORTS") in forbidden
    after = runner.invoke(app, ["streams", "report", "--json"])
    assert json.loads(after.stdout) == json.loads(before.stdout)  # the probes stored, deleted, purged nothing


def test_auth_check_against_a_server_without_accounts_says_so(provisioned, nats_server, monkeypatch) -> None:
    """A server started without accounts takes the role users' keys and refuses nothing: every forbidden
    probe fails. The check says so in one line instead of only listing thousands of failures."""
    _cli_env(monkeypatch, provisioned["alpha"], NATS_URL=nats_server.url)
    data = json.loads(runner.invoke(app, ["nats", "auth", "check", "--json"]).stdout)
    assert data["enforced"] is False and data["ok"] is False
    assert all(r["refused"] == 0 < r["expected_refused"] for r in data["roles"].values())
    result = runner.invoke(app, ["nats", "auth", "check"])
    flat = " ".join(result.output.split())
    assert result.exit_code == 1 and "the server refused nothing: it enforces no permissions" in flat
    # the one line and a status line a role: it printed every one of over 4,000 lines, then 10 a role (~150)
    assert "accepted but not granted" not in flat and len(result.output.splitlines()) <= 6 + len(data["roles"])


def test_tls_with_the_generated_ca_works_and_a_wrong_ca_is_refused(tmp_path, monkeypatch) -> None:
    directory = generate(AuthConfig(namespaces=["alpha"], tls={"enabled": True}), tmp_path / "auth", STREAMS).directory
    other_ca = write_tls(tmp_path / "other-ca", ["127.0.0.1"]).ca
    with EmbeddedNats(store_dir=tmp_path / "nats", config_file=directory / "nats-server.conf") as tls_server:
        s = settings_for(tls_server, directory, "alpha")
        _cli_env(monkeypatch, s)
        result = runner.invoke(app, ["streams", "provision", "--json"])  # admin, over TLS with the generated CA
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["errors", "report", "--env", "production", "--message", "boom", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["stream"] == "ALPHA_PRODUCTION_ERRORS"
        # as a user runs it: a command over TLS prints nothing on stderr (asyncio's start_tls noise is dropped)
        env = os.environ | {"NATS_URL": s.nats_url or "", "NATS_NAMESPACE": "alpha", "SWARM_NATS_AUTH": str(directory)}
        proc = subprocess.run([str(Path(sys.executable).parent / "swarm"), "errors", "report", "--env", "production",
                               "--message", "boom", "--json"], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        monkeypatch.setenv("NATS_TLS_CA", str(other_ca))
        result = runner.invoke(app, ["errors", "report", "--env", "production", "--message", "boom"])
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert "TLS" in lines[0] and "not trusted" in lines[0] and "reporter@alpha" in lines[0]


async def test_plain_connection_to_the_auth_server_is_refused(server) -> None:
    with pytest.raises(ConfigError, match="anonymous.*authorization violation"):
        await Bus.connect(Settings(nats_url=server.url, nats_namespace="alpha", _env_file=None))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_nats_up_with_auth_and_tls_serves_the_role_users(tmp_path) -> None:
    port = _free_port()
    env = {**os.environ, "SWARM_HOME": str(tmp_path / "home"), "NATS_NAMESPACE": "payments"}
    env.pop("NATS_URL", None)
    swarm = str(Path(sys.executable).parent / "swarm")
    proc = subprocess.Popen([swarm, "nats", "up", "--auth", "--tls", "--port", str(port), "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        out = ""
        while not out.endswith("\n}\n"):  # the JSON document, printed once the server is ready
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, "swarm nats up ended before printing its settings"
            out += line
        info = json.loads(out)
        assert info["auth"]["ca"] and "payments" in info["auth"]["namespaces"]
        s = Settings(nats_url=info["url"], nats_namespace="payments", swarm_nats_auth=info["auth"]["directory"],
                     _env_file=None)
        deadline = time.monotonic() + 30
        while True:  # the server's readiness: a connection that succeeds
            try:
                admin = await Bus.connect(s, role="admin")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        try:
            await provision(admin.js, admin.names, STREAMS)
        finally:
            await admin.close()
        async with open_bus(s, role="reporter") as reporter:
            ack = await reporter.publish(reporter.names.errors(), report(4), msg_id="p-4")
            assert ack.stream == "PAYMENTS_ERROR_REPORTS"
    finally:
        proc.terminate()
        proc.wait(20)


def test_nats_up_prints_its_export_line_whole_into_a_pipe(tmp_path) -> None:
    """The line is pasted into another shell: written to a pipe (80 columns to rich) it used to be broken
    in two between NATS_URL and SWARM_NATS_AUTH."""
    home = tmp_path / ("a-long-directory-name-" * 3) / "home"
    env = {**os.environ, "SWARM_HOME": str(home), "NATS_NAMESPACE": "payments", "COLUMNS": "80"}
    env.pop("NATS_URL", None)
    swarm = str(Path(sys.executable).parent / "swarm")
    proc = subprocess.Popen([swarm, "nats", "up", "--auth", "--port", str(_free_port())], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        while not (lines and lines[-1].startswith("in another shell:")):
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, f"swarm nats up ended before printing its export line: {lines}"
            lines.append(line)
        words = lines[-1].split()
        assert words[4].startswith("NATS_URL=nats://127.0.0.1:"), lines[-1]
        assert words[5] == f"SWARM_NATS_AUTH={home / 'auth'}", lines[-1]
    finally:
        proc.terminate()
        proc.wait(20)


async def test_connections_fail_clearly_without_an_account_for_the_namespace(server, auth_dir) -> None:
    with pytest.raises(ConfigError, match="namespace 'gamma' has no account"):
        await Bus.connect(settings_for(server, auth_dir, "gamma"), role="reporter")
    with pytest.raises(ConfigError, match="role 'nobody'"):
        await Bus.connect(settings_for(server, auth_dir, "alpha"), role="nobody")


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("ray_session")
async def test_the_pipeline_runs_with_every_actor_on_its_own_role(provisioned, tmp_path) -> None:
    """intake -> orchestrator -> agents -> Result, each actor with its role's user: the grants suffice."""
    from swarm.runtime.app import SwarmRuntime
    from tests.support.runtime import runtime_config

    pipe = provisioned["pipe"]
    async with open_bus(pipe, role="reporter") as reporter:
        for i in (5, 6):
            await reporter.publish(reporter.names.errors(), report(i), msg_id=f"pipe-{i}")
        await reporter.js.publish(reporter.names.errors(), report(5).to_bytes())  # a copy: grouped
        await reporter.js.publish(reporter.names.errors(), b"not json")  # dead-lettered
    runtime = SwarmRuntime(pipe, runtime_config(tmp_path))
    await runtime.start()
    try:
        # the operator asks the running swarm: a submitted investigation, the control service, a deploy marker
        async with open_bus(pipe, role="operator") as operator:
            await submit_investigation(operator, report(7), by="test")
            found = await ping(operator, wait_s=2.0)
            assert [s["name"] for s in found] == [operator.names.control_service]
            status = await control_request(operator, "status")
            assert isinstance(status, dict) and status
            markers = await DeployMarkers(operator.js, operator.names).open()
            assert await markers.mark(DeployMarker(service="checkout", version="v2")) >= 1
            assert list(operator.refusals.seen) == []
        counters = await runtime.until_empty(timeout_s=600)
        assert runtime.bus is not None and list(runtime.bus.refusals.seen) == []  # the driver, as monitor
        assert runtime.bus.refusals.user == "monitor@pipe"
    finally:
        await runtime.stop()
    assert counters == {"received": 5, "investigations": 3, "duplicates": 1, "dead_lettered": 1, "rejected": 0,
                        "results": 3, "handed_back": 0}
    async with open_bus(pipe, role="operator") as operator:
        results = operator.names.stream("RESULTS")
        info = await operator.js.stream_info(results)
        got = [Result.model_validate_json((await operator.js.get_msg(results, seq)).data)
               for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        assert sorted(r.status for r in got) == ["fixed", "fixed", "fixed"]
        assert await messages(operator, operator.names.stream("DEAD_LETTERS")) == 1
        beats = await operator.js.stream_info(operator.names.heartbeat_stream)
        assert beats.state.messages >= 5  # intake, orchestrator and the three agents beat as their roles


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("ray_session")
def test_investigate_on_the_embedded_default_uses_accounts_and_role_users(tmp_path, monkeypatch) -> None:
    """`swarm investigate` without NATS_URL: an embedded server with an account and a user per role."""
    from agents.testing.regressions import make_case

    for key in ("NATS_URL", "SWARM_NATS_AUTH", "NATS_ROLE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    case = make_case(tmp_path / "repo", "later_commits", seed=5)
    error_file = tmp_path / "report.json"
    error_file.write_text(case.report.model_dump_json())
    result = runner.invoke(app, ["investigate", "--repo", str(case.path), "--error-file", str(error_file),
                                 "--test-command", case.test_command, "--json"])
    assert result.exit_code == 0, result.output
    assert "accounts and role users" in result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "fixed" and data["suspect_commit"] == case.regression_commit


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("ray_session")
async def test_run_on_the_embedded_default_with_no_auth_serves_an_open_server(tmp_path, ns) -> None:
    """README: without NATS_URL, `swarm run` starts an embedded server others can publish to; with `--no-auth`
    an open one (no accounts, no role users). A user publishes with `swarm errors report` and no credentials at
    the URL it prints, and stops it with Ctrl-C amid a second report: the first was investigated, the drain
    prints the counters and hands the second back. The store stays in SWARM_HOME, so the next
    `swarm run --until-empty` takes the second up and settles it."""
    import ray
    import yaml

    from tests.support.runtime import runtime_config

    hung = tmp_path / "implement-hung"  # implement hangs on its first call once this file is gone
    hung.write_text("")
    cfg_file = tmp_path / "swarm.yaml"
    cfg = runtime_config(tmp_path, {"implement": {"hang_once": str(hung)}}, orchestration={"grace_period_s": 1})
    cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_") and k != "SWARM_NATS_AUTH"}
    env |= {"NATS_NAMESPACE": ns, "SWARM_HOME": str(tmp_path / "home"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # the config's test agents
    run = [SWARM, "run", "--no-auth", "--config", str(cfg_file), "--json", "--address",
           ray.get_runtime_context().gcs_address]
    store = (tmp_path / "home" / "run-nats" / ns).resolve()
    log = tmp_path / "run.stderr"
    with log.open("w") as stderr:
        proc = subprocess.Popen(run, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "Ctrl-C or SIGTERM drains and stops" not in (said := " ".join(log.read_text(errors="replace").split())):
            assert proc.poll() is None and time.monotonic() < deadline, f"exit {proc.poll()}: {said[-2000:]}"
            await asyncio.sleep(0.1)
        started = re.search(r"NATS_URL is not set: started an embedded nats-server at (nats://\S+) \(store (\S+)\)",
                            said)
        assert started and started.group(2) == str(store), said[-2000:]
        assert "accounts and role users" not in said and "SWARM_NATS_AUTH" not in said, said[-2000:]
        url = started.group(1)

        def report(message: str, file: str) -> dict[str, str]:  # the README's laptop session, no credentials
            done = subprocess.run([SWARM, "errors", "report", "--env", "production", "--message", message,
                                   "--file", file, "--line", "42", "--json"], env=env | {"NATS_URL": url},
                                  cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            return json.loads(done.stdout)

        assert report("KeyError: 'user_id'", "app/api.py")["stream"] == Names(ns).error_stream("production")
        bus = await Bus.connect(Settings(nats_url=url, nats_namespace=ns, _env_file=None))  # anonymous too
        try:
            deadline = time.monotonic() + 300
            while await messages(bus, bus.names.stream("RESULTS")) == 0:
                assert proc.poll() is None and time.monotonic() < deadline, "no Result for the report"
                await asyncio.sleep(0.2)
            result = Result.model_validate_json((await bus.js.get_msg(bus.names.stream("RESULTS"), 1)).data)
        finally:
            await bus.close()
        hung.unlink()
        second = report("KeyError: 'order_id'", "app/orders.py")
        deadline = time.monotonic() + 300
        while not hung.exists():  # the second report is in flight: its implement phase hangs
            assert proc.poll() is None and time.monotonic() < deadline, "the second report was not taken up"
            await asyncio.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        out, _ = await asyncio.to_thread(proc.communicate, timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, log.read_text(errors="replace")[-2000:]
    assert result.status == "fixed", result
    # the drain says it gave the hung second report back to the queue
    assert json.loads(out) == {"received": 2, "investigations": 2, "duplicates": 0, "dead_lettered": 0,
                               "rejected": 0, "results": 1, "handed_back": 1}
    # the next run on the same SWARM_HOME finds the report the drain handed back (a new store each run had none)
    again = subprocess.run([*run, "--until-empty", "--timeout", "300"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=400)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"(store {store})" in " ".join(again.stderr.split()), again.stderr[-2000:]
    # its Result, counted here; its first delivery and the investigation it opened were the first run's
    assert json.loads(again.stdout) == {"received": 0, "investigations": 0, "duplicates": 0, "dead_lettered": 0,
                                        "rejected": 0, "results": 1, "handed_back": 0}
    with EmbeddedNats(store_dir=store) as server:  # the store, opened as the runs left it
        bus = await Bus.connect(Settings(nats_url=server.url, nats_namespace=ns, _env_file=None))
        try:
            results = [Result.model_validate_json((await bus.js.get_msg(bus.names.stream("RESULTS"), seq)).data)
                       for seq in (1, 2)]
            assert await messages(bus, bus.names.error_stream("production")) == 0
        finally:
            await bus.close()
    assert results[1].signature == second["signature"] and results[1].status == "fixed", results


def test_generate_writes_accounts_and_keeps_seeds_across_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NATS_NAMESPACE", "payments")
    out = tmp_path / "auth"
    first = runner.invoke(app, ["nats", "auth", "generate", "--out", str(out), "--namespace", "shop", "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert {"payments", "shop"} <= set(data["namespaces"]) and data["ca"] is None
    conf = (out / "nats-server.conf").read_text()
    assert '"PAYMENTS": {' in conf and '"SHOP": {' in conf and "$JS.API.>" not in conf
    assert (out / "payments" / "reporter.nk").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["nats", "auth", "generate", "--out", str(out), "--tls", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["namespaces"]["payments"] == data["namespaces"]["payments"]  # same users
    assert json.loads(again.stdout)["ca"] and "tls {" in (out / "nats-server.conf").read_text()
    # "shop" came from --namespace only: regenerating without it keeps its account and users
    assert json.loads(again.stdout)["namespaces"]["shop"] == data["namespaces"]["shop"]
    assert '"SHOP": {' in (out / "nats-server.conf").read_text()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    bad = runner.invoke(app, ["nats", "auth", "generate", "--out", str(blocked / "auth")])
    assert bad.exit_code == 1 and "cannot write the auth directory" in bad.output and "Traceback" not in bad.output


def test_a_command_run_as_the_wrong_role_is_refused_in_one_line(provisioned, monkeypatch) -> None:
    _cli_env(monkeypatch, provisioned["alpha"], NATS_ROLE="reporter")  # NATS_ROLE: commands that name no role
    result = runner.invoke(app, ["streams", "report"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "reporter@alpha" in lines[0] and "permissions violation" in lines[0], result.output


@pytest.mark.parametrize("command", [
    ["fixes", "list"], ["state", "get", "peer.investigation.inv-a.cycle.1"], ["state", "doctor"],
], ids=["fixes-list", "state-get", "state-doctor"])
def test_a_refused_request_is_the_error_not_what_it_caused(provisioned, monkeypatch, command) -> None:
    """Under accounts a refused JetStream request is never answered: the command used to end on what that
    caused ("no ... bucket: run swarm streams provision first", "JetStream did not answer ... TimeoutError")."""
    _cli_env(monkeypatch, provisioned["alpha"], NATS_ROLE="reporter")
    result = runner.invoke(app, [*command, "--json"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    # nats-py lower-cases the server's text: the subject is given back its case, as the server and its grants spell it
    assert error.startswith("NATS refused user reporter@alpha to publish to $JS.API.STREAM.INFO.KV_ALPHA_"), error
    assert "permissions violation" in error and "provision" not in error and "did not answer" not in error


def test_operator_commands_work_on_their_default_role(provisioned, monkeypatch, caplog) -> None:
    _cli_env(monkeypatch, provisioned["beta"])  # no NATS_ROLE: operator
    for command in (["status", "--once", "--json"], ["health", "--json"], ["state", "doctor", "--json"],
                    ["streams", "purge", "--env", "staging", "--yes", "--json"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    refused = [r.getMessage() for r in caplog.records if r.name == "swarm.bus" and "refused" in r.getMessage()]
    assert refused == []


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("ray_session")
async def test_a_report_exhausted_while_no_swarm_ran_is_dead_lettered_by_intake_on_its_role(
    provisioned, tmp_path
) -> None:
    """The MAX_DELIVERIES path under auth: advisories consumer, get and delete of the report, the dead letter."""
    from swarm.runtime.app import SwarmRuntime
    from tests.support.runtime import runtime_config

    s = provisioned["exhausted"]
    async with open_bus(s, role="reporter") as reporter:
        await reporter.publish(reporter.names.errors(), report(7), msg_id="exhausted-7")
    async with open_bus(s, role="intake") as member:  # an intake member that crashes on it three times
        crashed = await member.js.pull_subscribe_bind("error-fixer", stream=member.names.error_stream("default"))
        for _ in range(3):
            (msg,) = await crashed.fetch(1, timeout=5)
            await msg.nak()
        with pytest.raises(TimeoutError):  # JetStream gives up on it and fires the advisory
            await crashed.fetch(1, timeout=1)
    async with open_bus(s, role="operator") as operator:
        deadline = time.monotonic() + 60
        while await messages(operator, operator.names.advisories_stream) == 0:
            assert time.monotonic() < deadline, "the MAX_DELIVERIES advisory was not stored"
            await asyncio.sleep(0.1)
        runtime = SwarmRuntime(s, runtime_config(tmp_path))
        await runtime.start()
        try:
            deadline = time.monotonic() + 300
            while await messages(operator, operator.names.stream("DEAD_LETTERS")) == 0:
                assert time.monotonic() < deadline, "the report was not dead-lettered"
                await asyncio.sleep(0.2)
        finally:
            await runtime.stop()
        letter = json.loads((await operator.js.get_msg(operator.names.stream("DEAD_LETTERS"), 1)).data)
        assert letter["error_type"] == "MaxDeliveries"
        assert await messages(operator, operator.names.error_stream("default")) == 0  # deleted from the queue
