"""What operators see: one trace per report, Ray dashboard metrics, heartbeats, pool scaling."""

from __future__ import annotations

import json
import urllib.request

import pytest
import ray
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from swarm.bloodstream import read_health
from swarm.bus.trace import trace_id_of
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from tests.runtime.test_pipeline import report
from tests.runtime.test_resilience import wait_for
from tests.support.runtime import runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]


def metrics_text() -> str:
    port = ray._private.worker.global_worker.node.metrics_export_port
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()


async def test_trace_metrics_and_heartbeats(bus, settings, tmp_path) -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test-publisher")
    published: dict[str, str] = {}
    for i in range(3):
        with tracer.start_as_current_span(f"app-request-{i}") as span:
            r = report(200 + i)
            await publish_report(bus, r)
            published[r.signature] = format(span.get_span_context().trace_id, "032x")
    cfg = runtime_config(tmp_path, heartbeat_interval_s=0.3)
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=600)
        assert counters["results"] == 3

        async def all_beating() -> bool:
            rows = {r.service: r.as_dict() for r in await read_health(bus)}
            wanted = ["intake-0", "orchestrator-0", "research-0", "implement-0", "review-0"]
            return all(rows.get(s, {}).get("status") == "up" for s in wanted)

        await wait_for(all_beating, what="a heartbeat from every actor")
        roles = {r.service: r.as_dict().get("role") for r in await read_health(bus)}
        assert roles["research-0"] == "research" and roles["intake-0"] == "intake"

        wanted = [
            "ray_swarm_reports_received_total",
            "ray_swarm_results_published_total",
            "ray_swarm_pool_size",
            "ray_swarm_investigation_duration_s_bucket",
            "ray_swarm_consumer_pending",
            "ray_swarm_investigations_active",
            "ray_swarm_reports_acked_total",
        ]

        async def exported() -> bool:
            text = metrics_text()
            return all(f"{name}{{" in text for name in wanted) and settings.nats_namespace in text

        await wait_for(exported, what="swarm metrics on Ray's metrics endpoint")
    finally:
        await runtime.stop()

    # the Result of each report carries the trace its publisher started
    sub = await bus.js.subscribe(bus.names.results_all, ordered_consumer=True)
    seen = {}
    for _ in range(3):
        msg = await sub.next_msg(timeout=5)
        seen[json.loads(msg.data)["signature"]] = trace_id_of(msg.headers)
    await sub.unsubscribe()
    assert seen == published
    # and so do the status updates on the way
    sub = await bus.js.subscribe(bus.names.investigation_all, ordered_consumer=True)
    msg = await sub.next_msg(timeout=5)
    assert trace_id_of(msg.headers) == published[json.loads(msg.data)["signature"]]
    await sub.unsubscribe()
    assert trace.get_tracer_provider() is not provider  # the test did not install a global provider


async def test_a_burst_scales_a_pool_up_and_idleness_scales_it_down(bus, settings, tmp_path) -> None:
    cfg = runtime_config(
        tmp_path,
        # research long enough that the burst is still there when a tick of a starved machine comes (at 0.4 s a
        # CI run with two busy workers saw no scaling at all)
        {"research": {"sleep_s": 1.0}},
        autoscale={"enabled": True, "interval_s": 0.2, "upscale_delay_s": 0, "downscale_delay_s": 0.5},
    )
    cfg.roles["research"].target_per_replica = 2
    cfg.roles["research"].max_replicas = 3
    cfg.roles["research"].max_concurrency = 2  # one replica alone would take ~6 s of research for this burst
    events = await bus.js.subscribe(bus.names.event("pool_scaled"), ordered_consumer=True)
    for i in range(12):
        await publish_report(bus, report(300 + i))
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        await runtime.until_empty(timeout_s=600)

        # a decision is recorded once its pool has scaled; on a loaded machine the new replicas may start after
        # the burst is answered (the pool still at 1): wait for the scale up to be recorded, then for the way down.
        # The pool shrinks before its Registry hears of it and the decision is recorded: wait for the record
        async def scaled_up_then_down() -> bool:
            research = [d for d in runtime.decisions if d.role == "research"]
            up = [i for i, d in enumerate(research) if d.desired > d.current]
            down = up and any(d.desired == 1 < d.current for d in research[up[0] + 1:])
            return bool(down) and runtime.sizes()["research"] == 1

        await wait_for(scaled_up_then_down, what="research to scale up, then back down")
    finally:
        await runtime.stop()
    research = [d for d in runtime.decisions if d.role == "research"]
    assert any(d.desired > d.current for d in research), research
    assert max(d.desired for d in research) == 3
    assert research[-1].desired == 1 and research[-1].desired < research[-1].current
    data = []
    for _ in range(2):
        msg = await events.next_msg(timeout=5)
        data.append(json.loads(msg.data)["data"])
    assert data[0]["role"] in cfg.roles and data[0]["to"] != data[0]["from"]
