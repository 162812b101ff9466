"""`swarm nats up` that cannot serve: a port out of range is a usage error naming the option; a port in use
(client or monitor) and a store path that is a file fail with one line naming it, exit 1, and under --json
only the error object. These printed the success object (`{"url": ...}`) first: the port errors then exited 1
with only nats-server's [FTL] line on stderr, the store one with a FileExistsError traceback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import SWARM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _taken_port() -> Iterator[int]:
    """A port some other process listens on (here: this one)."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))  # every address: nats-server's monitor listens on 0.0.0.0 too
        sock.listen()
        yield int(sock.getsockname()[1])


def _nats_up(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([SWARM, "nats", "up", *args, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ | {"SWARM_HOME": str(tmp_path / "home"), "COLUMNS": "1000"},
                            cwd=tmp_path, start_new_session=True)  # a server that did start dies with the test
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _error(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    answer = json.loads(done.stdout)  # exactly one JSON document, and no success object before it
    assert set(answer) == {"error", "exit_code"} and answer["exit_code"] == code, answer
    return str(answer["error"])


@pytest.mark.parametrize("option", ["--port", "--monitor-port"])
@pytest.mark.parametrize("value", ["99999", "-2"])
def test_a_port_out_of_range_is_a_usage_error_naming_the_option(tmp_path: Path, option: str, value: str) -> None:
    args = [option, value] if option == "--port" else ["--port", str(_free_port()), option, value]
    error = _error(_nats_up(tmp_path, *args), code=2)
    assert f"Invalid value for '{option}'" in error


def test_tls_without_auth_is_a_usage_error(tmp_path: Path) -> None:
    error = _error(_nats_up(tmp_path, "--port", str(_free_port()), "--tls"), code=2)
    assert error == "--tls needs --auth (the CA and certificate are written with the accounts)"


def test_an_empty_store_dir_is_a_usage_error(tmp_path: Path) -> None:
    """It put the store in the current directory (`swarm.lock` and `jetstream/` left there)."""
    error = _error(_nats_up(tmp_path, "--port", str(_free_port()), "--store-dir", ""), code=2)
    assert "Invalid value for '--store-dir': an empty path" in error
    assert not (tmp_path / "jetstream").exists()


def test_a_client_port_in_use_fails_naming_it_and_the_servers_reason(tmp_path: Path) -> None:
    with _taken_port() as port:
        done = _nats_up(tmp_path, "--port", str(port), "--store-dir", str(tmp_path / "store"))
    error = _error(done, code=1)
    assert error.startswith(f"nats-server could not start on 127.0.0.1:{port}: Error listening on port"), error
    assert "address already in use" in error and f"error: {error}" in done.stderr


def test_a_monitor_port_in_use_fails_naming_it_and_the_servers_reason(tmp_path: Path) -> None:
    client = _free_port()
    with _taken_port() as monitor:
        done = _nats_up(tmp_path, "--port", str(client), "--monitor-port", str(monitor))
    error = _error(done, code=1)
    assert error.startswith(f"nats-server could not start on 127.0.0.1:{client} (monitor port {monitor}): ")
    assert "monitor port" in error.split(": ", 1)[1] and "address already in use" in error, error


def test_a_store_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "somefile").write_text("")
    done = _nats_up(tmp_path, "--port", str(_free_port()), "--store-dir", "./somefile")
    assert _error(done, code=1) == "the JetStream store (--store-dir) somefile exists and is not a directory"
    below = _nats_up(tmp_path, "--port", str(_free_port()), "--store-dir", "somefile/nats")
    assert _error(below, code=1).startswith("cannot create the JetStream store (--store-dir) somefile/nats: ")
