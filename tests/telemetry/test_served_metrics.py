"""A process that serves its own metrics (`SWARM_METRICS_PORT`: the driver) exposes the values recorded,
read back the way Prometheus reads them: an HTTP scrape of /metrics in the text format."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from swarm.bloodstream import Bloodstream
from swarm.bus.connect import Bus
from swarm.errors import ConfigError
from swarm.models import Heartbeat
from swarm.telemetry import metrics
from swarm.telemetry.snapshot import Collector


@pytest.fixture
def served() -> Iterator[int]:
    port = metrics.serve(0, addr="127.0.0.1")
    try:
        yield port
    finally:
        metrics.unserve()


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def test_a_gauge_a_counter_and_a_histogram_are_scraped_with_their_values(served: int) -> None:
    metrics.gauge("pool_size", 3, role="research")
    metrics.gauge("pool_size", 2, role="review")
    metrics.inc("reports_received", 4, stream="ERRORS_DEFAULT")
    metrics.inc("reports_received", stream="ERRORS_DEFAULT")
    metrics.observe("phase_duration_s", 0.3, role="research", phase="execute", outcome="ok")
    scraped = _scrape(served)
    ns = metrics._namespace

    def value(name: str, **labels: str) -> float:
        return scraped[(name, tuple(sorted({"namespace": ns, **labels}.items())))]

    assert value("swarm_pool_size", role="research") == 3.0 and value("swarm_pool_size", role="review") == 2.0
    assert value("swarm_reports_received_total", stream="ERRORS_DEFAULT") == 5.0
    assert value("swarm_phase_duration_s_count", role="research", phase="execute", outcome="ok") == 1.0
    assert value("swarm_phase_duration_s_sum", role="research", phase="execute", outcome="ok") == pytest.approx(0.3)


@pytest.mark.parametrize("value", ["abc", "70000", "-1", "9464x"])
def test_a_metrics_port_that_is_no_port_is_a_config_error_naming_the_variable(value: str, monkeypatch) -> None:
    monkeypatch.setenv(metrics.PORT_ENV, value)
    with pytest.raises(ConfigError, match=f"SWARM_METRICS_PORT='{value}': expected a port number"):
        metrics.serve_from_env()


def test_a_metrics_port_another_process_holds_is_a_config_error(monkeypatch) -> None:
    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        monkeypatch.setenv(metrics.PORT_ENV, str(held.getsockname()[1]))
        with pytest.raises(ConfigError, match="cannot serve metrics there"):
            metrics.serve_from_env()
    assert not metrics._served  # nothing half-served is left behind


def test_a_cleanly_stopped_service_has_no_heartbeat_age_and_no_limit_has_no_series(served: int) -> None:
    """README: `swarm_heartbeat_age_s` leaves out cleanly stopped services (a clean exit is not a silent
    service); `swarm_budget_limit` has no series for a resource without a limit."""
    from swarm.telemetry.snapshot import export_gauges

    beats = [{"service": name, "role": "research", "beat": beat, "age_s": 30.0}
             for name, beat in (("research-0", "ok"), ("research-1", "stopped"), ("research-2", "stopping"))]
    export_gauges({"streams": [], "pools": {}, "heartbeats": beats,
                   "budget": {"active": 2, "max_concurrent": 8, "tokens_hour": 10, "tokens_per_hour": None,
                              "usd_hour": 0.5}})
    scraped = _scrape(served)
    ages = {dict(labels)["service"] for name, labels in scraped if name == "swarm_heartbeat_age_s"}
    assert ages == {"research-0"}
    limits = {dict(labels)["resource"]: v for (name, labels), v in scraped.items() if name == "swarm_budget_limit"}
    assert limits == {"investigations": 8.0}
    used = {dict(labels)["resource"] for name, labels in scraped if name == "swarm_budget_used"}
    assert used == {"investigations", "tokens_hour", "usd_hour"}


def test_a_deleted_streams_consumer_and_a_removed_pool_have_no_series_left(served: int) -> None:
    """README: `swarm_consumer_pending`, `swarm_pool_size` and the budget gauges describe the current
    snapshot: a stream deleted, a pool gone or a limit lifted since the last one leaves no stale series."""
    from swarm.telemetry.snapshot import export_gauges

    def snapshot(streams: list[str], pools: list[str], limit: int | None) -> dict:
        return {"streams": [{"stream": s, "consumers": [{"pending": 3, "ack_pending": 1}]} for s in streams],
                "pools": {role: {"size": 2} for role in pools}, "heartbeats": [],
                "budget": {"active": 1, "max_concurrent": limit}}

    def labels(scraped: dict, name: str, key: str) -> set[str]:
        return {dict(lbl)[key] for n, lbl in scraped if n == name}

    export_gauges(snapshot(["ERRORS_DEFAULT", "ERRORS_STAGING"], ["research", "review"], 8))
    before = _scrape(served)
    assert labels(before, "swarm_consumer_pending", "stream") == {"ERRORS_DEFAULT", "ERRORS_STAGING"}
    assert labels(before, "swarm_budget_limit", "resource") == {"investigations"}
    export_gauges(snapshot(["ERRORS_DEFAULT"], ["research"], None))
    after = _scrape(served)
    assert labels(after, "swarm_consumer_pending", "stream") == {"ERRORS_DEFAULT"}
    assert labels(after, "swarm_consumer_ack_pending", "stream") == {"ERRORS_DEFAULT"}
    assert labels(after, "swarm_pool_size", "role") == {"research"}
    assert labels(after, "swarm_budget_limit", "resource") == set()
    pending = {dict(lbl)["stream"]: v for (n, lbl), v in after.items() if n == "swarm_consumer_pending"}
    assert pending == {"ERRORS_DEFAULT": 4.0}


def _ages(port: int) -> dict[str, float]:
    """`swarm_heartbeat_age_s` as scraped: service -> seconds."""
    scraped = _scrape(port).items()
    return {dict(labels)["service"]: v for (name, labels), v in scraped if name == "swarm_heartbeat_age_s"}


async def _until(cond: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)  # between polls of a bounded wait


async def test_a_service_seen_beating_loses_its_heartbeat_age_series_once_stopped_or_gone(
    served: int, bus: Bus, tmp_path: Path
) -> None:
    """README: `swarm_heartbeat_age_s` leaves out cleanly stopped services. The driver's Collector reads real
    heartbeats from NATS: a service scraped while beating has no series once it stopped cleanly, nor one
    whose last beat left the HEARTBEATS stream; a service still beating keeps its series."""
    collector = Collector(bus, ray_namespace=None)
    bs = Bloodstream(bus, tmp_path)
    try:
        bs.start_heartbeat("research-0", role="research", interval_s=0.1)
        bs.start_heartbeat("review-0", role="review", interval_s=0.1)
        assert await bs.heartbeat(Heartbeat(service="implement-0", role="implement", interval_s=60))

        async def all_three_scraped() -> bool:
            await collector.collect_once()
            return set(_ages(served)) == {"research-0", "review-0", "implement-0"}

        await _until(all_three_scraped, "a heartbeat age series for each of the three services")

        await bs.stop_heartbeat("review-0")  # a clean stop: its last beat says "stopping"
        await bus.js.purge_stream(bus.names.heartbeat_stream, subject=bus.names.heartbeat_of("implement-0"))

        async def collected_the_stop_and_the_loss() -> bool:
            beats = {hb["service"]: hb["beat"] for hb in (await collector.collect_once())["heartbeats"]}
            return beats.get("review-0") == "stopping" and "implement-0" not in beats and "research-0" in beats

        await _until(collected_the_stop_and_the_loss, "a snapshot with review-0 stopped and implement-0 gone")
        assert set(_ages(served)) == {"research-0"}
    finally:
        await bs.close()
