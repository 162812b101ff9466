"""The swarm's metrics, one table (`METRICS`), two exporters.

    from swarm.telemetry import metrics
    metrics.inc("reports_received", stream="T_ERROR_REPORTS")
    metrics.observe("investigation_duration_s", 12.5, status="fixed")
    metrics.gauge("pool_size", 3, role="research")
    metrics.gauge_series("heartbeat_age_s", [(4.2, {"service": "research-0", "role": "research"})])  # and no other
    metrics.serve_from_env()          # a CLI-side process: SWARM_METRICS_PORT=9464 serves /metrics

Inside Ray (actors, and a driver that serves nothing itself) a metric goes to `ray.util.metrics`:
Ray's metrics endpoint serves it as `ray_swarm_<name>` (`_total` for counters, `_bucket`/`_sum`/
`_count` for histograms). A process that called `serve(port)` (the driver with `SWARM_METRICS_PORT`
set, `swarm health monitor`...) exports through `prometheus_client` as `swarm_<name>`.
`deploy/prometheus/prometheus.yml` drops the `ray_` prefix of `ray_swarm_*` at scrape time, so
rules, dashboards and queries read one name, `swarm_<name>`, whichever process exported it.
Outside both every helper is a no-op, so domain code calls them unconditionally.

`gauge_series` sets a gauge's whole current set of series: a label set the previous call set and this one
does not (a service that stopped) is removed from prometheus_client. Ray has no call that removes a series:
its metrics agent drops a gauge series that is not set again within two report intervals (OpenTelemetry
path, Ray's default), so there not setting it is what removes it; with `RAY_enable_open_telemetry=0` the
last value stays while the process lives.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from swarm.errors import ConfigError

__all__ = [
    "inc", "gauge", "gauge_series", "observe", "serve", "serve_from_env", "port_from_env", "unserve", "set_namespace",
    "exported_names", "METRICS", "PORT_ENV",
]

log = logging.getLogger("swarm.telemetry")
PORT_ENV = "SWARM_METRICS_PORT"

# name -> (kind, description, tag keys)
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # intake
    "reports_received": ("counter", "error reports fetched from JetStream", ("namespace", "stream")),
    "reports_acked": ("counter", "error reports acked", ("namespace",)),
    "reports_dead_lettered": ("counter", "reports dead-lettered with a reason", ("namespace", "reason")),
    "reports_rejected": ("counter", "reports rejected by the injection filter", ("namespace",)),
    "duplicates_grouped": ("counter", "occurrences grouped into an existing investigation", ("namespace",)),
    "reports_settled": ("counter", "reports settled, by settlement", ("namespace", "settlement")),
    # investigations
    "investigations_active": ("gauge", "investigations in progress", ("namespace", "actor")),
    "investigation_duration_s": ("histogram", "investigation duration (s)", ("namespace", "status")),
    "results_published": ("counter", "investigations finished, by status", ("namespace", "status")),
    "phase_duration_s": ("histogram", "one PEER phase of one agent (s)", ("namespace", "role", "phase", "outcome")),
    # runtime (the driver)
    "consumer_pending": ("gauge", "num_pending + num_ack_pending of a stream's consumers", ("namespace", "stream")),
    "consumer_ack_pending": ("gauge", "delivered, not yet acked, of an error consumer", ("namespace", "stream")),
    "pool_size": ("gauge", "replicas in a role pool", ("namespace", "role")),
    "heartbeat_age_s": ("gauge", "seconds since the last heartbeat of a service", ("namespace", "service", "role")),
    "budget_used": ("gauge", "swarm budget in use (investigations, tokens_hour, usd_hour)", ("namespace", "resource")),
    "budget_limit": ("gauge", "swarm budget limit (absent: unlimited)", ("namespace", "resource")),
    # bloodstream (every process that publishes)
    "bloodstream_messages": (
        "counter",
        "bloodstream messages by kind and outcome (published, failed, outboxed, replayed, dead_lettered, duplicates)",
        ("namespace", "kind", "outcome"),
    ),
    "outbox_depth": ("gauge", "bloodstream messages waiting in this process's outbox", ("namespace",)),
}
_BOUNDARIES = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]
_objects: dict[str, Any] = {}
_namespace = ""
_served: dict[str, Any] = {}  # "registry", "port", "server" once serve() ran in this process
_series: dict[str, set[tuple[str, ...]]] = {}  # gauge -> the label values gauge_series() set last


def set_namespace(ns: str) -> None:
    global _namespace
    _namespace = ns


def exported_names(name: str) -> list[str]:
    """The series names Prometheus stores for a metric (after the `ray_` prefix is dropped)."""
    kind = METRICS[name][0]
    full = f"swarm_{name}"
    if kind == "counter":
        return [f"{full}_total"]
    if kind == "histogram":
        return [f"{full}_bucket", f"{full}_sum", f"{full}_count"]
    return [full]


def serve(port: int, addr: str = "0.0.0.0") -> int:
    """Serve this process's metrics on `port` (0: a free one) through prometheus_client; the port."""
    if _served:
        return int(_served["port"])
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    _served.update(registry=registry, port=server.server_port, server=server)
    _objects.clear()  # from now on this process exports through prometheus_client
    _series.clear()
    log.info("metrics on http://%s:%d/metrics", addr, server.server_port)
    return int(server.server_port)


def unserve() -> None:
    """Stop serving (tests): this process exports through Ray again."""
    server = _served.get("server")
    if server is not None:
        server.shutdown()
        server.server_close()
    _served.clear()
    _objects.clear()
    _series.clear()


def port_from_env() -> int | None:
    """SWARM_METRICS_PORT as a port number, or None when unset; a value that is no port is a ConfigError
    naming the variable."""
    value = os.environ.get(PORT_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > 65535:
        raise ConfigError(f"{PORT_ENV}={value!r}: expected a port number (0-65535; 0 picks a free one)")
    return int(value)


def serve_from_env() -> int | None:
    """`serve(SWARM_METRICS_PORT)` when the variable is set; the port, or None. A value that is no port, or
    a port another process holds, is a ConfigError naming the variable."""
    port = port_from_env()
    if port is None:
        return None
    try:
        return serve(port)
    except OSError as exc:
        raise ConfigError(f"{PORT_ENV}={port}: cannot serve metrics there: {exc.strerror or exc}") from exc


def _prometheus(name: str) -> Any:
    import prometheus_client as pc

    kind, description, tags = METRICS[name]
    registry = _served["registry"]
    if kind == "counter":
        return pc.Counter(f"swarm_{name}", description, tags, registry=registry)
    if kind == "gauge":
        return pc.Gauge(f"swarm_{name}", description, tags, registry=registry)
    return pc.Histogram(f"swarm_{name}", description, tags, registry=registry, buckets=_BOUNDARIES)


def _metric(name: str) -> Any | None:
    if name in _objects:
        return _objects[name]
    if _served:
        _objects[name] = _prometheus(name)
        return _objects[name]
    import ray

    if not ray.is_initialized():
        return None
    from ray.util import metrics as rm

    kind, description, tags = METRICS[name]
    full = f"swarm_{name}"
    if kind == "counter":
        obj: Any = rm.Counter(full, description, tag_keys=tags)
    elif kind == "gauge":
        obj = rm.Gauge(full, description, tag_keys=tags)
    else:
        obj = rm.Histogram(full, description, boundaries=_BOUNDARIES, tag_keys=tags)
    _objects[name] = obj
    return obj


def _tags(name: str, tags: dict[str, Any]) -> dict[str, str]:
    keys = METRICS[name][2]
    out = {k: str(v) for k, v in tags.items() if k in keys}
    if "namespace" in keys:
        out.setdefault("namespace", _namespace)
    return {k: out.get(k, "") for k in keys}


def _record(name: str, how: str, value: float, tags: dict[str, Any]) -> None:
    obj = _metric(name)
    if obj is None:
        return
    labels = _tags(name, tags)
    try:
        if _served:
            child = obj.labels(**labels)
            getattr(child, how)(value)  # a Gauge has no observe, a Counter no set: only the one asked for
        elif how == "inc":
            obj.inc(value, tags=labels)
        else:
            getattr(obj, how)(value, tags=labels)
    except Exception as exc:  # a metric must never break the work it measures
        log.debug("metric %s not recorded: %r", name, exc)


def inc(name: str, value: float = 1.0, **tags: Any) -> None:
    if value > 0:
        _record(name, "inc", value, tags)


def gauge(name: str, value: float, **tags: Any) -> None:
    _record(name, "set", value, tags)


def observe(name: str, value: float, **tags: Any) -> None:
    _record(name, "observe", value, tags)


def gauge_series(name: str, series: Iterable[tuple[float, dict[str, Any]]]) -> None:
    """Set gauge `name` to each (value, tags) of `series`, its whole current set: a label set the previous
    call set that `series` leaves out is removed, so a subject that went away exports no series rather than
    its last value for ever. prometheus_client removes the child; Ray offers no removal, and its metrics
    agent evicts a gauge series that is not set again within two report intervals (see the module doc)."""
    current: set[tuple[str, ...]] = set()
    for value, tags in series:
        current.add(tuple(_tags(name, tags).values()))
        _record(name, "set", value, tags)
    for gone in _series.get(name, set()) - current:
        _remove(name, gone)
    _series[name] = current


def _remove(name: str, labelvalues: tuple[str, ...]) -> None:
    obj = _objects.get(name)
    if not _served or obj is None:  # Ray: no call removes a series; not setting it is what drops it
        return
    try:
        obj.remove(*labelvalues)  # values in METRICS' tag-key order, as _tags gives them
    except Exception as exc:  # a metric must never break the work it measures
        log.debug("metric %s series %s not removed: %r", name, labelvalues, exc)
