"""NATS stopped for longer than the ack wait, then restarted on the same store (a test-owned server)."""

from __future__ import annotations

import asyncio
import time

import pytest

from swarm.bench.ledger import Ledger, read_stream
from swarm.bus.connect import Bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from tests.faults.conftest import ACK_WAIT_S, fault_config, wait_for
from tests.runtime.test_pipeline import report

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(240)]
ENVS = ["default", "production"]
OUTAGE_S = ACK_WAIT_S * 2.5


async def test_an_outage_longer_than_the_ack_wait_loses_nothing_and_kills_no_live_actor(
    fault_settings, tmp_path
) -> None:
    server = EmbeddedNats(store_dir=tmp_path / "nats-store").start()
    settings = fault_settings.model_copy(update={"nats_url": server.url})
    cfg = fault_config(tmp_path, {"orchestrator": {"hypotheses": 1}, "implement": {"sleep_s": 1.0}})
    bus = await Bus.connect(settings)
    runtime = SwarmRuntime(settings, cfg)
    try:
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
        before = [report(700 + i) for i in range(6)]
        for r in before:
            await publish_report(bus, r)
        await runtime.start()
        pids = await runtime.pids()
        started = await bus.nc.subscribe(bus.names.investigation_all)
        await started.next_msg(timeout=60)  # investigations are under way

        server.stop()
        down_at = time.monotonic()

        async def driver_cut_off() -> bool:
            return runtime.bus is not None and not runtime.bus.nc.is_connected

        await wait_for(driver_cut_off, 30, "the driver to notice the outage")
        # a restart asked for now is refused: a replacement could not connect, the live actor stays
        assert await runtime.restart("intake-0") is False and await runtime.restart("research-0") is False
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))  # the fault: NATS away past the ack wait
        server.requested_port = int(server.port or 0)
        server.start()
        # the monitor noticed and waited: no verdict, no heal while NATS was away
        assert runtime.monitor is not None and runtime.monitor.outages >= 1

        async def driver_back() -> bool:
            return bus.nc.is_connected

        await wait_for(driver_back, 60, "the test's connection to come back")
        after = [report(720 + i) for i in range(3)]  # published once NATS is back
        for r in after:
            await publish_report(bus, r)
        counters = await runtime.until_empty(timeout_s=150)
        assert time.monotonic() - down_at > OUTAGE_S
        # healing never replaced a live actor: every actor is the process it was
        assert await runtime.pids() == pids
        injuries = [i for i in runtime.monitor.injuries if i.injury_type == "service_down"]
        kinds = [m.subject.rsplit(".", 1)[-1] for m in await read_stream(bus, bus.names.stream("BLOODSTREAM"))]
    finally:
        await runtime.stop()
    try:
        ledger = await Ledger.read(bus, ENVS)
        problems = ledger.problems({r.signature for r in before + after}, interrupted=len(before))
        assert not problems, problems
        assert counters["dead_lettered"] == 0 and counters["results"] == len(before + after)
        assert "nats_restored" in kinds  # the bloodstream says what happened
        # a verdict during the outage would have been raised while NATS was away: none was
        assert all(i.details["silent_for_s"] < OUTAGE_S for i in injuries), injuries
    finally:
        await bus.close()
        server.stop()
