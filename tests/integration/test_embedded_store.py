"""`swarm run`'s embedded nats-server keeps its JetStream store under SWARM_HOME, one per namespace: what one
run stored, the next finds, with credentials generated afresh; a second server on a store in use is refused.

Real nats-servers on real stores; no Ray (a refused `swarm run` stops before Ray starts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from swarm.bus.connect import open_bus
from swarm.bus.embedded import embedded_nats, run_store
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.bus.store_lock import StoreInUse
from swarm.cli import app
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report

pytestmark = pytest.mark.timeout(120)
runner = CliRunner(env={"COLUMNS": "1000"})


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "no-auth"])
async def test_a_namespace_s_reports_outlive_the_run_that_stored_them(tmp_path: Path, ns: str, auth: bool) -> None:
    """Each run generates new users (new NKeys in a new directory): JetStream data is per account, and the
    account is the namespace's (`--no-auth`: `$G`) every time, so the second run reads the first's reports."""
    settings = Settings(nats_namespace=ns, swarm_home=tmp_path / "home", _env_file=None)
    store = run_store(settings)
    assert store == (tmp_path / "home" / "run-nats" / ns).resolve()
    report = ErrorReport(error="KeyError: 'user_id'", service="api")
    with embedded_nats(settings, auth=auth, store_dir=store) as first:
        async with open_bus(first, role="admin") as bus:
            await provision(bus.js, bus.names, load_streams_config(first.swarm_streams_config))
        async with open_bus(first, role="reporter") as bus:
            await publish_report(bus, report)
        first_users = _users(first)
    with embedded_nats(settings, auth=auth, store_dir=store) as second:
        assert _users(second) != first_users or not auth  # credentials of their own
        async with open_bus(second, role="operator") as bus:
            stream = bus.names.error_stream("default")
            assert (await bus.js.stream_info(stream)).state.messages == 1
            stored = ErrorReport.model_validate_json((await bus.js.get_msg(stream, 1)).data)
    assert stored.signature == report.signature
    assert (store / "jetstream" / (ns.upper() if auth else "$G")).is_dir()


def _users(settings: Settings) -> dict[str, str]:
    if settings.swarm_nats_auth is None:
        return {}
    return json.loads((settings.swarm_nats_auth / "auth.json").read_text())["namespaces"][settings.nats_namespace]


def test_a_second_server_on_a_store_in_use_is_refused_until_the_first_stops(tmp_path: Path) -> None:
    """nats-server takes no lock itself: two on one store both start and overwrite each other's messages."""
    store = tmp_path / "store"
    with EmbeddedNats(store_dir=store) as first:
        with pytest.raises(StoreInUse) as refused:
            EmbeddedNats(store_dir=store).start()
        message = str(refused.value)
        assert str(store) in message and "in use by another nats-server (process " in message, message
        assert f"process {first._proc.pid}, started by process {os.getpid()})" in message, message
    with EmbeddedNats(store_dir=store) as again:  # the lock went with the first server
        assert again.running


def test_a_server_whose_starter_was_killed_keeps_its_store_until_it_exits(tmp_path: Path) -> None:
    """A `swarm run` killed with SIGKILL leaves its nats-server running (a session of its own) on the store:
    the lock is held by the server too, and the refusal names its process, the one to end."""
    store = tmp_path / "store"
    starter = ("import os, signal, sys\nfrom swarm.bus.server import EmbeddedNats\n"
               "server = EmbeddedNats(store_dir=sys.argv[1]).start()\n"
               "print(server._proc.pid, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", starter, str(store)], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    orphan = psutil.Process(int(done.stdout))
    try:
        with pytest.raises(StoreInUse, match=rf"in use by another nats-server \(process {orphan.pid}, started by "
                                              rf"process \d+, which has exited: `kill {orphan.pid}` ends the server"):
            EmbeddedNats(store_dir=store).start()
    finally:
        orphan.terminate()
        orphan.wait(30)
    with EmbeddedNats(store_dir=store) as again:
        assert again.running


def test_a_second_swarm_run_on_the_same_store_says_which_and_what_to_do(tmp_path: Path, ns: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `swarm run`s of one namespace and SWARM_HOME: the second exits 1 with the store and the ways out,
    before Ray starts; the first is untouched."""
    home = tmp_path / "home"
    for key in ("NATS_URL", "SWARM_NATS_AUTH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SWARM_HOME", str(home))
    monkeypatch.setenv("NATS_NAMESPACE", ns)
    store = run_store(Settings(nats_namespace=ns, swarm_home=home, _env_file=None))
    with EmbeddedNats(store_dir=store) as first:  # the first run's server
        result = runner.invoke(app, ["run", "--until-empty", "--json"])
        assert first.running
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error.startswith(f"the embedded nats-server's JetStream store {store} is in use by another nats-server")
    assert f"another `swarm run` of namespace {ns}" in error and "SWARM_HOME" in error and "NATS_URL" in error
    assert "started an embedded nats-server" not in result.output and "Traceback" not in result.output
