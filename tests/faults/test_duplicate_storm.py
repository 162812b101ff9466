"""A duplicate storm (the same errors again and again, past JetStream's duplicate window): one
investigation and one Result per signature, every copy counted and acked."""

from __future__ import annotations

import asyncio

import pytest

from swarm.bench.ledger import Ledger
from swarm.runtime.app import SwarmRuntime
from tests.faults.conftest import fault_config
from tests.runtime.test_pipeline import report

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(240)]
COPIES, ERRORS = 150, 3


async def test_a_duplicate_storm_gives_one_result_per_signature(fault_bus, fault_settings, tmp_path) -> None:
    bus = fault_bus
    errors = [report(950 + i) for i in range(ERRORS)]
    subject = bus.names.errors("production")
    # no Msg-Id: every copy reaches the stream, as when the duplicate window has passed
    acks = [bus.js.publish(subject, r.model_dump_json().encode()) for _ in range(COPIES) for r in errors]
    await asyncio.gather(*acks)
    runtime = SwarmRuntime(fault_settings, fault_config(tmp_path, {"orchestrator": {"hypotheses": 1}}))
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=150)
    finally:
        await runtime.stop()
    ledger = await Ledger.read(bus, ["default", "production"])
    problems = ledger.problems({r.signature for r in errors})
    assert not problems, problems
    assert counters["received"] == COPIES * ERRORS and counters["investigations"] == ERRORS
    assert counters["duplicates"] == (COPIES - 1) * ERRORS and counters["dead_lettered"] == 0
