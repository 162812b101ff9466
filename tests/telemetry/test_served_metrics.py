"""A process that serves its own metrics (`SWARM_METRICS_PORT`: the driver) exposes the values recorded,
read back the way Prometheus reads them: an HTTP scrape of /metrics in the text format."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from swarm.errors import ConfigError
from swarm.telemetry import metrics


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
