"""`swarm status --address` and `swarm run --address` (or RAY_ADDRESS) that name no reachable Ray cluster:
one line naming the address within seconds, exit 1, a JSON error object under --json. These hung past a
minute (a dead GCS port: ray.init retried for ever), or ended in a traceback (a ray:// address after 30 s;
`bogus`)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess

import pytest

from swarm.bus.connect import Bus
from tests.support.cli import SWARM


def _dead_port() -> int:
    """A port nobody listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    environ |= {"NATS_URL": f"nats://127.0.0.1:{_dead_port()}", "COLUMNS": "1000"} | (env or {})
    return subprocess.run([SWARM, "status", "--once", *args], capture_output=True, text=True, env=environ,
                          timeout=60)


def _error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    answer = json.loads(done.stdout)  # exactly one JSON document: the error
    assert answer["exit_code"] == 1 and set(answer) == {"error", "exit_code"}, answer
    assert answer["error"] in done.stderr  # the same one line for people
    return str(answer["error"])


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_nobody_answers_at_fails_fast_naming_it(scheme: str) -> None:
    address = f"{scheme}127.0.0.1:{_dead_port()}"
    done = _status("--address", address, "--json")  # within _status's 60 s: ray.init retried for minutes
    assert _error(done).startswith(f"no Ray cluster answers at {address}: ")


def test_a_malformed_address_is_named() -> None:
    done = _status("--address", "bogus", "--json")
    assert _error(done).startswith("invalid Ray address 'bogus': expected HOST:PORT")


@pytest.mark.parametrize("given", ["option", "variable"])
def test_the_dashboard_s_address_is_not_joined_and_status_goes_on_to_nats(given: str) -> None:
    """The README's cluster recipe exports RAY_ADDRESS=http://<head>:8265 for `swarm submit` and `swarm jobs`;
    `swarm status` refused it. It reads the pools from the swarm's control service instead (tests/runtime/
    test_control.py): here no NATS answers, and that is the error, not the address."""
    args, env = (["--address", "http://127.0.0.1:8265"], {}) if given == "option" else \
        ([], {"RAY_ADDRESS": "http://127.0.0.1:8265"})
    error = _error(_status(*args, "--json", env=env))
    assert "Ray address" not in error and "NATS" in error, error


def test_a_malformed_ray_address_variable_is_named_as_the_variable() -> None:
    done = _status("--json", env={"RAY_ADDRESS": "bogus"})
    assert _error(done).startswith("invalid Ray address 'bogus' (RAY_ADDRESS): expected HOST:PORT")


@pytest.mark.parametrize("given", ["option", "variable"])
def test_swarm_run_refuses_an_address_nobody_answers_at(given: str) -> None:
    """The same check before the driver joins: `swarm run` hung as long, before anything else was said."""
    address = f"127.0.0.1:{_dead_port()}"
    args, env = (["--address", address], {}) if given == "option" else ([], {"RAY_ADDRESS": address})
    environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | env
    done = subprocess.run([SWARM, "run", "--until-empty", *args, "--json"], capture_output=True, text=True,
                          env=environ | {"NATS_URL": f"nats://127.0.0.1:{_dead_port()}"}, timeout=60)
    origin = "" if given == "option" else " (RAY_ADDRESS)"
    assert _error(done).startswith(f"no Ray cluster answers at {address}{origin}: ")


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_where_nats_listens_is_named_as_not_ray(scheme: str, cli_env: dict[str, str]) -> None:
    """A port with a live non-Ray server (here the session's nats-server): ray.init waited two minutes."""
    hostport = cli_env["NATS_URL"].removeprefix("nats://")
    done = _status("--address", f"{scheme}{hostport}", "--json")  # within _status's 60 s
    error = _error(done)
    assert error.startswith(f"something listens at {scheme}{hostport}, but it is not Ray (it answered b'INFO "), error


def test_without_json_stdout_stays_empty() -> None:
    done = _status("--address", "bogus")
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr
    assert "error: invalid Ray address 'bogus'" in done.stderr


async def test_status_joins_a_live_local_ray(ray_session: None, bus: Bus, cli_env: dict[str, str]) -> None:
    import ray

    gcs = ray.get_runtime_context().gcs_address  # the probe lets a live GCS through to ray.init
    done = await asyncio.to_thread(_status, "--address", gcs, "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    snap = json.loads(done.stdout)
    assert snap["ray"] == {"connected": True, "namespace": f"swarm-{cli_env['NATS_NAMESPACE']}", "pools_from": None,
                           "not_asked": None}
    assert snap["namespace"] == cli_env["NATS_NAMESPACE"]
