"""`swarm errors tail` and `swarm events tail` say when the server they follow goes away, and when it is back.

A new user's tails of a `swarm run` that ended went quiet: nats-py tries again for ever, saying nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import nats
import pytest

from swarm.bus.names import Names
from swarm.bus.server import EmbeddedNats
from swarm.models import ErrorReport
from tests.support.cli import SWARM

pytestmark = pytest.mark.timeout(180)


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in " ".join(log.read_text().split()):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{text!r} never said: {log.read_text()}"
        time.sleep(0.05)


def test_a_tail_says_the_connection_was_lost_and_came_back(tmp_path: Path) -> None:
    store = tmp_path / "store"
    server = EmbeddedNats(store_dir=store)
    server.start()
    port = server.port
    env = {k: v for k, v in os.environ.items() if k not in ("SWARM_NATS_AUTH", "NATS_ROLE")} | {
        "NATS_URL": server.url, "NATS_NAMESPACE": "tails", "SWARM_HOME": str(tmp_path / "home")}
    tails = []
    try:
        for name, args in (("errors", ["errors", "tail"]), ("events", ["events", "tail"])):
            log = tmp_path / f"{name}.stderr"
            with log.open("w") as err:
                proc = subprocess.Popen([SWARM, *args], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                        stderr=err, text=True)
            tails.append((name, log, proc))
        for _, log, proc in tails:
            _wait_for(log, "tailing ", proc)
        server.stop()
        for name, log, proc in tails:
            _wait_for(log, f"{name} tail: the connection to NATS was lost", proc)
        server = EmbeddedNats(store_dir=store, port=port)  # back on the same port
        server.start()
        for name, log, proc in tails:
            _wait_for(log, f"{name} tail: connected again", proc)
    finally:
        for _, _, proc in tails:
            proc.terminate()
            proc.wait(timeout=30)
        server.stop()


async def test_a_tail_that_ends_by_itself_says_nothing_was_lost(tmp_path: Path) -> None:
    """nats-py calls the disconnect callback on a close too: `--count N` reached is no lost connection."""
    with EmbeddedNats(store_dir=tmp_path / "store") as server:
        env = {k: v for k, v in os.environ.items() if k not in ("SWARM_NATS_AUTH", "NATS_ROLE")} | {
            "NATS_URL": server.url, "NATS_NAMESPACE": "tails", "SWARM_HOME": str(tmp_path / "home")}
        log = tmp_path / "errors.stderr"
        with log.open("w") as err:
            proc = subprocess.Popen([SWARM, "errors", "tail", "--count", "1", "--json"], env=env, cwd=tmp_path,
                                    stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            _wait_for(log, "tailing ", proc)
            nc = await nats.connect(server.url)
            await nc.publish(Names("tails").errors("default"), ErrorReport(error="KeyError: 'x'").to_bytes())
            await nc.flush()
            await nc.close()
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0 and json.loads(out)["report"]["error"] == "KeyError: 'x'", out
    time.sleep(0.5)  # past the callback's delay
    assert "lost" not in log.read_text(), log.read_text()
