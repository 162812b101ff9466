"""A running swarm as operators see it: one OTLP trace per report, Prometheus scraping the swarm's
metrics (the deploy/ config and rules), `swarm status`, and a log line per settled report.

Real parts only: the session's nats-server and Ray, an OTLP/HTTP receiver decoding the SDK's protobuf,
Debian's prometheus, the `swarm` CLI in subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray

from swarm.bus.trace import trace_id_of
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.grouping import investigation_id_for
from swarm.telemetry import metrics
from swarm.telemetry.snapshot import take_snapshot
from tests.runtime.test_pipeline import report
from tests.runtime.test_security_intake import ATTACKS
from tests.support.runtime import runtime_config
from tests.telemetry.support import (
    OtlpReceiver,
    PrometheusServer,
    dashboard_exprs,
    free_port,
    names_in,
    readme_names,
    rule_exprs,
)

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]
PRODUCER, CONSUMER = 4, 5  # opentelemetry.proto SpanKind
ROOT = Path(__file__).resolve().parents[2]


async def poll(check, what: str, timeout_s: float = 120.0, every_s: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)


def swarm_cli(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "swarm.cli", *args], capture_output=True, text=True,
                          timeout=timeout_s, cwd=ROOT, env=dict(os.environ))


async def test_a_report_traced_scraped_shown_and_logged(bus, settings, cli_env, tmp_path, monkeypatch) -> None:
    ns = settings.nats_namespace
    driver_port = free_port()
    with OtlpReceiver() as otlp:
        for key, value in {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "swarm-e2e",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "SWARM_METRICS_PORT": str(driver_port),
        }.items():
            monkeypatch.setenv(key, value)
        # the report, as a user sends it: `swarm errors report`
        sent = swarm_cli("errors", "report", "-m", "ValueError: telemetry widget broken", "--file", "app/tw.py",
                         "--line", "7", "--service", "shop", "--json")
        assert sent.returncode == 0, sent.stderr
        published = json.loads(sent.stdout)
        # and the rest of the flow: a duplicate (another environment), a malformed report, an injection
        await publish_report(bus, report(700, environment="production"))
        # the duplicate as another language's client sends it: JSON and a Nats-Msg-Id, no swarm headers
        raw_id = f"raw-{ns}-700"
        await bus.js.publish(bus.names.errors("default"), report(700).model_dump_json().encode(),
                             headers={"Nats-Msg-Id": raw_id})
        await bus.js.publish(bus.names.errors("default"), b"{not an error report")
        await publish_report(bus, ATTACKS[0])

        # research sleeps 3 s: the snapshot below (streams, beats, the PEER bucket, Ray) can take over a second
        # on a loaded machine, and must see an investigation mid-phase (a 1 s window was missed once at load 5)
        cfg = runtime_config(tmp_path, {"research": {"sleep_s": 3.0}}, budget={"tokens_per_hour": 1_000_000})
        cfg.intake.filter = "swarm.security.injection:InjectionFilter"
        ray_port = ray._private.worker.global_worker.node.metrics_export_port
        runtime = SwarmRuntime(settings, cfg)
        try:
            with PrometheusServer(tmp_path, f"127.0.0.1:{ray_port}", f"127.0.0.1:{driver_port}") as prom:
                await runtime.start()
                try:
                    # investigations in flight, with their phase (the snapshot `swarm status` renders)
                    async def in_flight():  # type: ignore[no-untyped-def]
                        snap = await take_snapshot(bus, runtime.ray_namespace)
                        return [i for i in snap["investigations"] if i["phase"]]

                    flying = await poll(in_flight, "an investigation in flight with its phase")
                    assert flying[0]["investigation_id"].startswith("inv-") and flying[0]["cycle"] == 1

                    counters = await runtime.until_empty(timeout_s=400)
                    assert counters["received"] == 5 and counters["results"] == 2, counters
                    assert counters["duplicates"] == 1 and counters["dead_lettered"] == 1, counters
                    assert counters["rejected"] == 1, counters

                    await _check_status_cli(runtime)
                    await _check_prometheus(prom, ns)
                finally:
                    await runtime.stop()
        finally:
            metrics.unserve()
        await _check_trace(otlp, bus, published)
    await _check_settled_log(published)
    # intake names what it learned of a report without the swarm's headers: its signature and investigation
    sig = report(700).signature
    raw_line = await _settled_line(f"settled report={raw_id} ")
    assert f"signature={sig} investigation={investigation_id_for(sig)} settlement=ack" in raw_line, raw_line


async def _check_status_cli(runtime: SwarmRuntime) -> None:
    gcs = ray.get_runtime_context().gcs_address
    out = await asyncio.to_thread(swarm_cli, "status", "--json", "--address", gcs)
    assert out.returncode == 0, out.stderr
    snap = json.loads(out.stdout)
    assert snap["ray"]["connected"] and snap["pools"]["research"]["size"] == 1
    assert set(snap["pools"]) == {"orchestrator", "research", "implement", "review"}
    streams = {s["stream"]: s for s in snap["streams"]}
    errors = streams[runtime.bus.names.error_stream("default")]
    assert [c["name"] for c in errors["consumers"]] == ["error-fixer"]
    assert errors["consumers"][0]["pending"] == 0 and errors["consumers"][0]["ack_pending"] == 0
    beats = {h["service"]: h for h in snap["heartbeats"]}
    assert beats["intake-0"]["status"] == "up" and beats["research-0"]["role"] == "research"
    assert snap["budget"]["tokens_per_hour"] == 1_000_000 and snap["budget"]["active"] == 0
    # the table view renders the same snapshot
    view = await asyncio.to_thread(swarm_cli, "status", "--once", "--address", gcs)
    assert view.returncode == 0, view.stderr
    for word in ("streams of namespace", "pools", "investigations in flight", "last heartbeats", "budget"):
        assert word in view.stdout


async def _check_prometheus(prom: PrometheusServer, ns: str) -> None:
    async def received():  # type: ignore[no-untyped-def]
        rows = prom.query(f'sum(swarm_reports_received_total{{namespace="{ns}"}})')
        return rows and float(rows[0]["value"][1]) >= 5

    await poll(received, "Prometheus to return the reports received")
    wanted = names_in(dashboard_exprs()) | names_in(rule_exprs()) | readme_names()

    async def all_exported():  # type: ignore[no-untyped-def]
        return wanted <= prom.names(ns)

    try:
        await poll(all_exported, "every metric of the dashboard and the rules in Prometheus")
    except AssertionError:
        raise AssertionError(f"not scraped: {sorted(wanted - prom.names(ns))}") from None
    async def pool_sizes():  # type: ignore[no-untyped-def]
        rows = prom.query(f'max by (role) (swarm_pool_size{{namespace="{ns}"}})')
        sizes = {r["metric"]["role"]: float(r["value"][1]) for r in rows}
        return sizes if sizes.get("research") == 1.0 else None

    await poll(pool_sizes, "the driver's own gauges with their values (one research replica)")
    by_status = {r["metric"]["status"]: float(r["value"][1]) for r in prom.query(
        f'sum by (status) (swarm_results_published_total{{namespace="{ns}"}})')}
    assert by_status == {"fixed": 2.0}, by_status  # a rejected report counts in swarm_reports_rejected_total
    rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
    assert len(rules) == 7 and all(r["health"] == "ok" for r in rules), rules


async def _check_trace(otlp: OtlpReceiver, bus, published: dict) -> None:  # type: ignore[no-untyped-def]
    subject = bus.names.errors("default")
    result_prefix = f"publish {bus.names.ns}.results.fixed."

    async def whole_trace():  # type: ignore[no-untyped-def]
        spans = otlp.spans()
        roots = [s for s in spans if s["instance"] == "errors-report" and s["name"] == f"publish {subject}"]
        if not roots:
            return None
        mine = [s for s in spans if s["trace_id"] == roots[0]["trace_id"]]
        return mine if any(s["name"].startswith(result_prefix) for s in mine) else None

    spans = await poll(whole_trace, "the spans of the report, from `errors report` to its Result", 60)
    trace_id = spans[0]["trace_id"]
    assert otlp.paths == {"/v1/traces"}
    assert {s["service"] for s in spans} == {"swarm-e2e"}
    instances = {s["instance"] for s in spans}
    assert {"errors-report", "intake-0", "orchestrator-0", "research-0", "implement-0", "review-0"} <= instances
    root = next(s for s in spans if s["instance"] == "errors-report")
    assert root["kind"] == PRODUCER and root["parent_id"] == ""
    assert root["attributes"]["messaging.message.id"] == published["msg_id"]
    process = next(s for s in spans if s["name"] == f"process {subject}")
    assert process["kind"] == CONSUMER and process["instance"] == "intake-0"
    assert process["parent_id"] == root["span_id"]
    result = next(s for s in spans if s["name"].startswith(result_prefix))
    assert result["kind"] == PRODUCER
    for span in (root, process, result):
        attrs = span["attributes"]
        assert attrs["messaging.system"] == "nats"
        assert attrs["messaging.destination.name"] == span["name"].split(" ", 1)[1]
        assert attrs["messaging.operation"] == span["name"].split(" ", 1)[0]
    # the Result on NATS carries the same trace
    sub = await bus.js.subscribe(bus.names.results_all, ordered_consumer=True)
    try:
        for _ in range(3):  # two fixed, one rejected
            msg = await sub.next_msg(timeout=5)
            if json.loads(msg.data)["signature"] == published["signature"]:
                assert trace_id_of(msg.headers) == trace_id
                break
        else:
            raise AssertionError("no Result for the report")
    finally:
        await sub.unsubscribe()


async def _settled_line(wanted: str) -> str:
    logs = Path(ray._private.worker.global_worker.node.get_logs_dir_path())

    async def line():  # type: ignore[no-untyped-def]
        for path in logs.glob("worker-*"):
            for text in path.read_text(errors="replace").splitlines():
                if wanted in text:
                    return text
        return None

    return str(await poll(line, f"the log line {wanted!r} in the swarm's log", 30))


async def _check_settled_log(published: dict) -> None:  # type: ignore[no-untyped-def]
    text = await _settled_line(f"settled report={published['msg_id']} signature={published['signature']}")
    assert " INFO swarm.settled: " in text and "settlement=ack" in text and "actor=intake-0" in text
    assert float(text.split("duration_s=")[1].split()[0]) > 0
