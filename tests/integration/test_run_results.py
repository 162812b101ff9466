"""README: what a `swarm run` on embedded defaults produced is read after it stopped, with no NATS_URL:
`swarm fixes list` and `swarm fixes show` open the store the run kept in $SWARM_HOME/run-nats/<namespace>, or go
through the server that holds it while one does.

Real nats-servers on real stores, the real `swarm` command in processes of its own, the session's Ray.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from swarm.bus.connect import open_bus
from swarm.bus.embedded import embedded_nats, run_store
from swarm.bus.names import Names
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.models import ErrorReport, Result
from swarm.reporting.reporter import build_report, publish_report
from tests.support.cli import SWARM

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, ns: str) -> dict[str, str]:
    """A laptop's environment: no NATS_URL, no credentials; a SWARM_HOME of the test's own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NATS_") and k not in ("SWARM_NATS_AUTH", "SWARM_HOME", "COLUMNS", "LINES")}
    return env | {"NATS_NAMESPACE": ns, "SWARM_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}


def _swarm(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SWARM, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def _json(env: dict[str, str], cwd: Path, *args: str) -> tuple[Any, str]:
    done = _swarm(env, cwd, *args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout), " ".join(done.stderr.split())


async def _seed(settings: Settings, store: Path, auth: bool) -> None:
    """What applications published while no swarm ran, kept in the run's store: one error, one malformed report."""
    with embedded_nats(settings, auth=auth, store_dir=store) as up:
        async with open_bus(up, role="admin") as bus:
            await provision(bus.js, bus.names, load_streams_config(up.swarm_streams_config))
        async with open_bus(up, role="reporter") as bus:
            await publish_report(bus, build_report("KeyError: 'user_id'", env="production", service="api",
                                                   file="app/api.py", line=42))
            await bus.js.publish(bus.names.errors("production"), b'{"service": "api"}')  # no `error`: malformed


@pytest.mark.usefixtures("ray_session")
async def test_results_of_a_stopped_embedded_run_are_read_without_nats_url(tmp_path: Path, ns: str) -> None:
    import ray
    import yaml

    from tests.support.runtime import runtime_config

    env = _env(tmp_path, ns)
    settings = Settings(nats_namespace=ns, swarm_home=tmp_path / "home", _env_file=None)
    store = run_store(settings)
    await _seed(settings, store, auth=True)
    cfg_file = tmp_path / "swarm.yaml"
    cfg_file.write_text(yaml.safe_dump(runtime_config(tmp_path).model_dump(mode="json")))
    # the laptop's `swarm run --until-empty`, text output into a file (no terminal): its counters on one line
    ran = _swarm(env, tmp_path, "run", "--until-empty", "--timeout", "300", "--config", str(cfg_file),
                 "--address", ray.get_runtime_context().gcs_address)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    assert f"(store {store};" in " ".join(ran.stderr.split()), ran.stderr[-2000:]
    counters = [line for line in ran.stdout.splitlines() if line.startswith("received ")]
    assert counters == ["received 2  investigations 1  duplicates 0  dead_lettered 1  rejected 0  results 1  "
                        "handed_back 0"], \
        ran.stdout[-2000:]

    # the run has exited: the read commands open its store themselves
    rows, said = _json(env, tmp_path, "fixes", "list")
    assert f"reading the store of `swarm run` {store} (a nats-server started on it for this command" in said, said
    assert sorted(r["status"] for r in rows) == ["dead_lettered", "fixed"], rows
    (fixed,) = [r for r in rows if r["status"] == "fixed"]
    # seen once: when it was last seen is when it was opened (it was null until another copy came)
    assert fixed["last_seen_at"] and fixed["last_seen_at"].startswith("20"), fixed
    # the malformed report never had a signature or an investigation: listed with the reason it was dead-lettered
    letters, _ = _json(env, tmp_path, "fixes", "list", "--status", "dead_lettered")
    assert len(letters) == 1 and letters[0]["signature"] is None and letters[0]["investigation_id"] is None, letters
    assert "error" in letters[0]["dead_letter"]["reason"] and letters[0]["dead_letter"]["sequence"] == 1, letters

    shown, _ = _json(env, tmp_path, "fixes", "show", fixed["investigation_id"])
    inv = fixed["investigation_id"]
    assert shown["status"] == "fixed" and shown["investigation_id"] == inv and shown["has_result"], shown
    assert shown["root_cause"] == "test root cause of KeyError: 'user_id'", shown
    assert shown["branch"] == f"swarm/fix/{ns.lower()}/{inv}" and shown["fix_commit"] == "f" * 40, shown
    assert shown["summary"] == "2 findings" and shown["signature"] == fixed["signature"], shown
    assert shown["review"] == {"verdict": "approve", "reasons": [], "feedback": None, "cycle": 1}, shown
    assert shown["tests_after"]["passed"] == 3 and shown["signature_status"] == "fixed", shown
    by_signature, _ = _json(env, tmp_path, "fixes", "show", fixed["signature"][:12])
    assert by_signature["investigation_id"] == inv, by_signature

    text = _swarm(env, tmp_path, "fixes", "show", inv)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"fixed  {inv}  api production  (1 cycle(s), "), lines
    assert "  root cause: test root cause of KeyError: 'user_id'" in lines, lines
    assert f"  branch: swarm/fix/{ns.lower()}/{inv} (fix commit {'f' * 40})" in lines, lines
    assert "  review: approve (cycle 1)" in lines and "  summary: 2 findings" in lines, lines

    unknown = _swarm(env, tmp_path, "fixes", "show", "inv-0000000000000000")
    assert unknown.returncode == 1 and "no investigation inv-0000000000000000 in namespace" in unknown.stderr
    assert "8 characters" not in unknown.stderr
    short = _swarm(env, tmp_path, "fixes", "show", fixed["signature"][:6])  # a prefix too short to be looked up
    assert short.returncode == 1 and "a signature prefix needs 8 characters or more" in " ".join(short.stderr.split())
    with EmbeddedNats(store_dir=store) as again:  # each command let the store go when it ended
        assert again.running


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "no-auth"])
async def test_while_a_server_holds_the_store_the_read_commands_go_through_it(tmp_path: Path, ns: str,
                                                                            auth: bool) -> None:
    """A `swarm run` holds its store while it runs (here its embedded server alone): `fixes show` connects to that
    server, at the URL and with the credentials it left beside the lock (as the operator role); once it stopped,
    opens the store itself, in the account that run used (the namespace's; `--no-auth`: the default one). A server
    that left no note (`swarm nats up --store-dir`) is named with what to set."""
    env = _env(tmp_path, ns)
    settings = Settings(nats_namespace=ns, swarm_home=tmp_path / "home", _env_file=None)
    store = run_store(settings)
    nothing = _swarm(env, tmp_path, "fixes", "list", "--json")
    assert nothing.returncode == 1, nothing.stderr
    assert f"no `swarm run` of namespace {ns} has kept anything in {store} yet" in json.loads(nothing.stdout)["error"]
    assert not store.exists()  # asking created nothing
    with EmbeddedNats(store_dir=store):  # held before anything was kept in it (`swarm nats up --store-dir`)
        empty = _swarm(env, tmp_path, "fixes", "list", "--json")
    error = json.loads(empty.stdout)["error"]
    assert f"the store of `swarm run` {store} is held by a nats-server that left no address there" in error, error
    result = Result(investigation_id="inv-held", signature="a" * 64, status="no_fix", service="api",
                    root_cause="the cache key misses the tenant")
    with embedded_nats(settings, auth=auth, store_dir=store) as running:
        async with open_bus(running, role="admin") as bus:
            await provision(bus.js, bus.names, load_streams_config(running.swarm_streams_config))
        async with open_bus(running, role="orchestrator") as bus:
            await bus.publish(bus.names.result("no_fix", "inv-held"), result, msg_id="inv-held")
        assert (store / "server.json").stat().st_mode & 0o777 == 0o600  # it names the credentials directory
        shown, said = _json(env, tmp_path, "fixes", "show", "inv-held")
        assert shown["root_cause"] == "the cache key misses the tenant" and shown["status"] == "no_fix", shown
        assert shown["review"] is None and shown["signature_status"] is None, shown
        assert f"reading the store of `swarm run` {store} through the nats-server at {running.nats_url}" in said, said
        # a command that needs a server reaches this run by itself (it asked for an export of NATS_URL, and before
        # that advised `swarm nats up` while one ran), with its credentials when it has accounts
        marked = _swarm(env, tmp_path, "deploy", "mark", "--service", "api", "--version", "2.0", "--json")
        assert marked.returncode == 0, marked.stdout + marked.stderr
        assert json.loads(marked.stdout)["version"] == "2.0" and json.loads(marked.stdout)["revision"] >= 1
        assert f"reaching the `swarm run` of namespace {ns} running here, at {running.nats_url}" in marked.stderr
        async with open_bus(running) as bus:  # the marker is in that run's deploy bucket
            kv = await bus.js.key_value(bus.names.deploy_bucket)
            assert json.loads((await kv.get(bus.names.deploy_key("api", None))).value)["version"] == "2.0"
        # so does `investigate --submit` (it asked for NATS_URL while the others reached the run)
        (tmp_path / "report.json").write_text(json.dumps({"error": "KeyError: 'tenant'", "service": "api"}))
        submitted = _swarm(env, tmp_path, "investigate", "--submit", "--error-file", str(tmp_path / "report.json"),
                           "--json")
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        assert json.loads(submitted.stdout)["stream"] == Names(ns).stream("TASKS"), submitted.stdout
    shown, said = _json(env, tmp_path, "fixes", "show", "inv-held")  # stopped: its store, its (default) account
    assert shown["root_cause"] == "the cache key misses the tenant", shown
    assert "a nats-server started on it for this command" in said, said
    with EmbeddedNats(store_dir=store):  # a server that says nothing of where it listens
        held = _swarm(env, tmp_path, "fixes", "show", "inv-held", "--json")
    assert held.returncode == 1, held.stderr
    error = json.loads(held.stdout)["error"]
    assert f"the store of `swarm run` {store} is held by a nats-server that left no address there" in error, error
    assert "set NATS_URL to that server's URL" in error and "Traceback" not in held.stderr, error


async def test_without_nats_url_errors_report_and_tail_reach_the_run_of_embedded_defaults(tmp_path: Path,
                                                                                          ns: str) -> None:
    """README: on a laptop, `swarm errors report` reaches the embedded `swarm run` with no NATS_URL (through its
    server while it runs; into its store while none runs, where the next run takes it up), `swarm errors tail`
    while it runs; an application's handler reaches it with the NATS_URL and SWARM_NATS_AUTH the run printed."""
    env = _env(tmp_path, ns)
    settings = Settings(nats_namespace=ns, swarm_home=tmp_path / "home", _env_file=None)
    store = run_store(settings)
    for command in (["report", "-m", "boom"], ["tail"]):  # no run yet: nothing to reach, and nothing created
        nothing = _swarm(env, tmp_path, "errors", *command, "--env", "production", "--json")
        assert nothing.returncode == 1, nothing.stderr
        error = json.loads(nothing.stdout)["error"]
        assert f"no `swarm run` of namespace {ns} has kept anything in {store} yet" in error, error
        assert not store.exists()

    def report(message: str) -> tuple[Any, str]:
        return _json(env, tmp_path, "errors", "report", "--env", "production", "-m", message, "--file", "app/api.py",
                     "--line", "42", "--service", "api")

    async def stored(up: Settings) -> list[str]:
        async with open_bus(up, role="operator") as bus:  # reads all of the namespace
            stream = bus.names.error_stream("production")
            last = (await bus.js.stream_info(stream)).state.last_seq
            return [json.loads((await bus.js.get_msg(stream, seq)).data)["error"] for seq in range(1, last + 1)]

    with embedded_nats(settings, auth=True, store_dir=store) as running:  # what `swarm run` starts and provisions
        async with open_bus(running, role="admin") as bus:
            await provision(bus.js, bus.names, load_streams_config(running.swarm_streams_config))
        log = tmp_path / "tail.stderr"
        with log.open("w") as err:
            tail = subprocess.Popen([SWARM, "errors", "tail", "--env", "production", "--count", "2", "--json"],
                                    env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            while "tailing " not in log.read_text():  # its subscription is registered
                assert tail.poll() is None, log.read_text()
                await asyncio.sleep(0.05)
            said_tail = " ".join(log.read_text().split())
            assert f"reaching the `swarm run` of store {store} through the nats-server at {running.nats_url}" \
                in said_tail, said_tail
            published, said = report("KeyError: 'user_id'")
            assert published["stream"] == f"{ns.upper()}_PRODUCTION_ERRORS" and not published["duplicate"], published
            assert f"reading the store of `swarm run` {store} through the nats-server at {running.nats_url}" in said
            # the application: NATS_URL and SWARM_NATS_AUTH as `swarm run` printed them, the reporter's seed
            assert (Path(str(running.swarm_nats_auth)) / ns.lower() / "reporter.nk").read_text().startswith("SU")
            app = ("import logging\nfrom swarm.reporting.handler import NatsErrorHandler\n"
                   "h = NatsErrorHandler(env='production', service='checkout')\n"
                   "logging.getLogger().addHandler(h)\n"
                   "try:\n    {}['order_id']\nexcept KeyError:\n    logging.exception('charge failed')\n"
                   "assert h.flush(60) and h.dropped == 0, h.dropped_by_reason\nh.close()\n")
            done = subprocess.run([sys.executable, "-c", app], env=env | {
                "NATS_URL": running.nats_url, "SWARM_NATS_AUTH": str(running.swarm_nats_auth)},
                cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-3000:]
            out, _ = tail.communicate(timeout=60)
        finally:
            if tail.poll() is None:
                tail.kill()
        assert tail.returncode == 0, log.read_text()
        # each line's `report` is an ErrorReport as it was published: a report file for `swarm investigate`
        tailed = [ErrorReport.model_validate(json.loads(line)["report"]).error for line in out.splitlines()]
        assert tailed[0] == "KeyError: 'user_id'" and "order_id" in tailed[1], tailed
        assert await stored(running) == tailed

    # no run now: a report waits in the store for the next one; tail has nothing to watch
    published, said = report("KeyError: 'tenant'")
    assert published["sequence"] == 3, published
    assert f"reading the store of `swarm run` {store} (a nats-server started on it for this command" in said, said
    gone = _swarm(env, tmp_path, "errors", "tail", "--env", "production", "--json")
    assert gone.returncode == 1, gone.stderr
    error = json.loads(gone.stdout)["error"]
    assert f"no `swarm run` of namespace {ns} is running on its store {store}: start `swarm run` first" in error, error
    with embedded_nats(settings, auth=True, store_dir=store) as next_run:
        assert (await stored(next_run))[-1] == "KeyError: 'tenant'"
