"""Guaranteed delivery through a NATS outage: the on-disk outbox, replay in order, exactly once.

A dedicated nats-server on a fixed free port (its own store) is stopped and started again; the
session server is never touched. The "process restart" part runs the publishing process and the
replaying process as real subprocesses sharing only the outbox directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm.bloodstream import Bloodstream, Delivery, Outbox
from swarm.bus.connect import Bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.models import Audit, Heartbeat
from tests.support.bloodstream import stored

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(cond: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Wait for a condition with a deadline (polled; the condition is what we wait on)."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def outage_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(port=_free_port(), store_dir=tmp_path / "nats-store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_settings(outage_server: EmbeddedNats, ns: str) -> Settings:
    return Settings(nats_url=outage_server.url, nats_namespace=ns, _env_file=None)


@pytest.fixture
async def outage_bus(outage_settings: Settings) -> AsyncIterator[Bus]:
    bus = await Bus.connect(outage_settings)
    await provision(bus.js, bus.names, load_streams_config(outage_settings.swarm_streams_config))
    try:
        yield bus
    finally:
        await bus.nc.close()  # not drain: the server may be down at teardown


async def test_outage_audits_wait_in_the_outbox_and_arrive_once_in_order(
    outage_server: EmbeddedNats, outage_bus: Bus, tmp_path: Path
) -> None:
    bs = await Bloodstream(outage_bus, tmp_path / "outbox", publish_timeout_s=0.5, replay_interval_s=0.05).start()
    try:
        assert await bs.audit(actor="test", action="before") == Delivery.PUBLISHED

        outage_server.stop()
        await until(lambda: not outage_bus.nc.is_connected, "the client to notice the outage")
        outboxed = [await bs.audit(actor="test", action=f"down-{i}") for i in range(5)]
        outboxed.append(await bs.injury(injury_type="service_down", affected_service="research-0"))
        outboxed.append(await bs.brain_dead(brain="claude", reason="HTTP 529", attempts=3, fallback="offline"))
        assert outboxed == [Delivery.OUTBOXED] * 7
        # best effort and fire-and-forget with the server down: a False and a count, never an exception
        assert await bs.event("investigation_started", {"x": 1}, investigation_id="inv-1") is False
        assert await bs.heartbeat(Heartbeat(service="research-0")) is False
        assert bs.counters.failed == 2 and bs.by_kind["event"].failed == 1
        # the messages are on disk, readable by anyone opening the file
        on_disk = Outbox(tmp_path / "outbox", outage_bus.names.ns)
        assert [i.kind for i in on_disk.peek()] == ["audit"] * 5 + ["injury", "brain_dead"]
        on_disk.close()

        outage_server.start()
        assert await bs.wait_drained(30), f"outbox not drained: {bs.stats()}"
        audits = await stored(outage_bus, outage_bus.names.audit)
        assert [a["action"] for a in audits] == ["before"] + [f"down-{i}" for i in range(5)]
        assert [a["_msg_id"] for a in audits] == [a["audit_id"] for a in audits]  # Msg-Id = payload id
        assert len(await stored(outage_bus, outage_bus.names.injury)) == 1
        assert [b["reason"] for b in await stored(outage_bus, outage_bus.names.brain_dead)] == ["HTTP 529"]
        assert bs.counters.outboxed == 7 and bs.counters.replayed + bs.counters.duplicates == 7
        assert bs.pending == 0

        # queued behind nothing now: the next guaranteed message goes straight out
        assert await bs.audit(actor="test", action="after") == Delivery.PUBLISHED
    finally:
        await bs.close()


async def test_a_refused_message_is_dead_lettered_not_blocking_the_outbox(outage_bus: Bus, tmp_path: Path) -> None:
    stream = await outage_bus.js.stream_info(outage_bus.names.bloodstream_stream)
    stream.config.max_msg_size = 2048  # the server now refuses anything bigger: a permanent error, not an outage
    await outage_bus.js.update_stream(stream.config)
    bs = await Bloodstream(outage_bus, tmp_path / "outbox", replay_interval_s=0.05, backoff_s=0.01).start()
    try:
        big = Audit(actor="test", action="huge", details={"blob": "x" * 4096})
        assert await bs.audit(big) == Delivery.OUTBOXED
        assert await bs.audit(actor="test", action="small") == Delivery.OUTBOXED  # queued behind the refused one
        assert await bs.wait_drained(20)
        assert [a["action"] for a in await stored(outage_bus, outage_bus.names.audit)] == ["small"]
        names = outage_bus.names
        sub = await outage_bus.js.pull_subscribe(names.dead("bloodstream"), stream=names.stream("DEAD_LETTERS"))
        [letter] = await sub.fetch(1, timeout=5)
        dead = json.loads(letter.data)
        assert dead["source_subject"] == outage_bus.names.audit and "huge" in dead["payload"]
        assert big.audit_id in dead["reason"]
        assert bs.counters.dead_lettered == 1
    finally:
        await bs.close()


PUBLISHER = """
import asyncio, json, sys
from swarm.bloodstream import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.settings import Settings

async def main(url, ns, outbox, n):
    bus = await Bus.connect(Settings(nats_url=url, nats_namespace=ns, _env_file=None))
    bs = Bloodstream(bus, outbox)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)          # the test stops the server, then says go
    for _ in range(400):
        if not bus.nc.is_connected:
            break
        await asyncio.sleep(0.025)
    deliveries = [(await bs.audit(actor="proc-1", action=f"p{i}")).value for i in range(n)]
    print(json.dumps({"deliveries": deliveries, **bs.stats()}), flush=True)
    await bs.close()
    await bus.nc.close()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def _swarm(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "swarm.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


async def test_outbox_survives_a_restart_of_the_publishing_process(
    outage_server: EmbeddedNats, outage_bus: Bus, outage_settings: Settings, tmp_path: Path
) -> None:
    n, outbox_dir, ns = 6, tmp_path / "outbox", outage_settings.nats_namespace
    env = os.environ | {"NATS_URL": outage_server.url, "NATS_NAMESPACE": ns, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, outage_server.url, ns, str(outbox_dir), str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert (await asyncio.to_thread(proc.stdout.readline)).strip() == "ready"
        outage_server.stop()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        report = json.loads(await asyncio.to_thread(proc.stdout.readline))
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert report["deliveries"] == ["outboxed"] * n and report["outboxed"] == n and report["published"] == 0

    # the publisher is gone; its messages wait on disk (read by another process, NATS still down)
    listing = _swarm(["events", "outbox", "--dir", str(outbox_dir), "--json"], env, tmp_path)
    assert listing["pending"] == n and [i["kind"] for i in listing["items"]] == ["audit"] * n
    never = tmp_path / "never-written"  # listing an outbox nobody wrote: empty, and nothing created
    empty = _swarm(["events", "outbox", "--dir", str(never), "--json"], env, tmp_path)
    assert empty["pending"] == 0 and empty["items"] == [] and not never.exists()

    # a copy as a crashed replayer would leave it: rows already sent but not yet deleted
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    src = sqlite3.connect(Outbox(outbox_dir, ns).path)
    dst = sqlite3.connect(Outbox(snapshot, ns).path)
    src.backup(dst)
    src.close()
    dst.close()

    outage_server.start()
    first = _swarm(["events", "outbox", "--replay", "--dir", str(outbox_dir), "--json"], env, tmp_path)
    assert (first["before"], first["delivered"], first["duplicates"], first["remaining"]) == (n, n, 0, 0)
    again = _swarm(["events", "outbox", "--replay", "--dir", str(snapshot), "--json"], env, tmp_path)
    assert (again["delivered"], again["duplicates"], again["remaining"]) == (0, n, 0)  # JetStream dropped them

    await until(lambda: outage_bus.nc.is_connected, "the test's client to reconnect")
    audits = await stored(outage_bus, outage_bus.names.audit)
    assert [a["action"] for a in audits] == [f"p{i}" for i in range(n)]  # exactly once, in publish order
    assert {a["actor"] for a in audits} == {"proc-1"}


async def test_a_monitor_started_during_an_outage_starts_and_seeds_the_stored_beats_once_nats_is_back(
    outage_server: EmbeddedNats, outage_bus: Bus, tmp_path: Path
) -> None:
    """The driver starts its health monitor after the intake actors: NATS restarting then (a fault test saw a
    driver exit 1 on the seed's JetStream request timing out) must not end the start, and a service that died
    before the monitor came up is still found from its stored beat once NATS answers."""
    from swarm.bloodstream import HealthMonitor

    bs = await Bloodstream(outage_bus, tmp_path / "outbox", publish_timeout_s=0.5).start()
    assert await bs.heartbeat(Heartbeat(service="ghost-0", role="review", interval_s=0.01))
    deadline = time.monotonic() + 20
    while (await outage_bus.js.stream_info(outage_bus.names.heartbeat_stream)).state.messages < 1:
        assert time.monotonic() < deadline, "the beat was not stored"
        await asyncio.sleep(0.02)
    outage_server.stop()
    await until(lambda: not outage_bus.nc.is_connected, "the client to notice the outage")
    monitor = HealthMonitor(bs, check_interval_s=0.05)
    try:
        await asyncio.wait_for(monitor.start(), 30)  # the seed times out: the start does not fail
        assert "ghost-0" not in monitor.services
        outage_server.start()
        await until(lambda: "ghost-0" in monitor.services and monitor.services["ghost-0"].status == "down",
                    "ghost-0 seeded from its stored beat and judged down", timeout_s=60)
    finally:
        await monitor.close()
        await bs.close()
