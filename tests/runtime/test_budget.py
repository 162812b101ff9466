"""Budget admission: over budget, investigations wait; none is dropped."""

from __future__ import annotations

import contextlib
import json

import pytest

from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.registry import SwarmBudget
from swarm.state import PeerStateStore
from tests.runtime.test_pipeline import report, results
from tests.support.runtime import runtime_config


def test_budget_admits_up_to_its_limits_and_says_why_not() -> None:
    budget = SwarmBudget(max_concurrent=2, tokens_per_hour=1000, dollars_per_hour=1.0)
    assert budget.admit("a") == (True, "admitted") and budget.admit("b")[0]
    ok, why = budget.admit("c")
    assert not ok and "2 investigations running (max 2)" in why
    assert budget.admit("a") == (True, "already admitted")  # a redelivered copy shares the slot
    budget.release("a")
    assert not budget.admit("c")[0], "the slot is free only when its last holder releases it"
    budget.release("a")
    budget.charge(900, 0.2)
    budget.charge(200, 0.1)
    ok, why = budget.admit("c")
    assert not ok and "1100 tokens in the last hour (max 1000)" in why
    budget.tokens_per_hour = None
    budget.charge(0, 0.8)
    ok, why = budget.admit("c")
    assert not ok and "$1.10 in the last hour (max $1.00)" in why
    assert budget.status()["delayed"] == 4


def test_an_admission_nobody_touches_expires_and_spend_is_kept_per_investigation() -> None:
    budget = SwarmBudget(max_concurrent=1, tokens_per_hour=None, dollars_per_hour=None, ttl_s=3600)
    assert budget.admit("a")[0] and not budget.admit("b")[0]
    budget.touch("a")
    assert not budget.admit("b")[0]  # a live (touched) admission holds its slot
    budget.ttl_s = -1  # as if "a"'s intake died an hour ago and stopped touching it
    assert budget.admit("b") == (True, "admitted") and budget.expired == 1
    assert budget.charge(100, 0.25, "inv-1") == 0.25 and budget.charge(50, 0.5, "inv-1") == 0.75
    assert budget.spent("inv-1") == 0.75 and budget.spent("inv-2") == 0.0


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(900)
async def test_over_budget_investigations_wait_and_none_is_lost(bus, settings, tmp_path) -> None:
    cfg = runtime_config(
        tmp_path,
        {"implement": {"sleep_s": 0.3}},
        budget={"max_concurrent_investigations": 1, "retry_delay_s": 0.05},
    )
    notices = await bus.js.subscribe(bus.names.comms_general_all, ordered_consumer=True)
    for i in range(4):
        await publish_report(bus, report(400 + i))
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=600)
        status = await runtime.budget_status()
    finally:
        await runtime.stop()
    assert counters["results"] == 4 and counters["dead_lettered"] == 0
    assert status["delayed"] > 0, "the budget never made an investigation wait"
    got = await results(bus)
    assert len({r.investigation_id for r in got}) == 4
    # with one admission at a time, no two investigations overlapped
    store = PeerStateStore(bus)
    spans = []
    for r in got:
        state, _ = await store.read(bus.names.peer_key("error", r.investigation_id, 1))
        spans.append((state.phases.plan.started_at, state.phases.review.completed_at))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
    info = await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")
    assert info.delivered.consumer_seq == 4, "waiting must not use up deliveries (no nak while over budget)"
    waits = []
    with contextlib.suppress(TimeoutError):
        while True:
            data = json.loads((await notices.next_msg(timeout=2)).data)
            waits += [data] if data["kind"] == "budget_wait" else []
    assert waits and all("waits for the swarm-wide budget" in w["content"] for w in waits)
    assert len({w["data"]["investigation_id"] for w in waits}) == len(waits), "one notice per waiting investigation"


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(900)
async def test_an_investigation_over_its_own_cost_budget_fails_once_and_is_not_retried(bus, settings, tmp_path) -> None:
    # each research call costs $0.6 of a $1 budget: the second hypothesis (in parallel) goes over
    cfg = runtime_config(tmp_path, {"research": {"spend_usd": 0.6}}, brain={"budget_usd_per_investigation": 1.0})
    await publish_report(bus, report(450))
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=600)
        status = await runtime.budget_status()
    finally:
        await runtime.stop()
    assert counters["results"] == 1 and counters["dead_lettered"] == 0
    (result,) = await results(bus)
    assert result.status == "failed" and "budget $1.00 exceeded" in (result.error or "")
    assert status["usd_hour"] == pytest.approx(1.2)  # both calls were counted swarm-wide
    info = await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")
    assert info.delivered.consumer_seq == 1, "a spent budget is a failure, not a retry"
