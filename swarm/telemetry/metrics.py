"""Ray dashboard metrics (`ray.util.metrics`), as thin helpers.

    from swarm.telemetry import metrics
    metrics.inc("reports_received", stream="T_ERROR_REPORTS")
    metrics.observe("investigation_duration_s", 12.5)
    metrics.gauge("pool_size", 3, role="research")

Metric objects are created lazily once per process (each Ray worker exports its own), and every
helper is a no-op outside Ray, so domain code can call them unconditionally.
"""

from __future__ import annotations

from typing import Any

__all__ = ["inc", "gauge", "observe", "METRICS"]

# name -> (kind, description, tag keys)
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "reports_received": ("counter", "error reports fetched from JetStream", ("namespace", "stream")),
    "reports_acked": ("counter", "error reports acked", ("namespace",)),
    "reports_dead_lettered": ("counter", "reports dead-lettered with a reason", ("namespace", "reason")),
    "reports_rejected": ("counter", "reports rejected by the injection filter", ("namespace",)),
    "duplicates_grouped": ("counter", "occurrences grouped into an existing investigation", ("namespace",)),
    "investigations_active": ("gauge", "investigations in progress", ("namespace", "actor")),
    "investigation_duration_s": ("histogram", "investigation duration (s)", ("namespace", "status")),
    "consumer_pending": ("gauge", "num_pending + num_ack_pending of an error consumer", ("namespace", "stream")),
    "pool_size": ("gauge", "replicas in a role pool", ("namespace", "role")),
    "results_published": ("counter", "results published", ("namespace", "status")),
}
_BOUNDARIES = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]
_objects: dict[str, Any] = {}
_namespace = ""


def set_namespace(ns: str) -> None:
    global _namespace
    _namespace = ns


def _metric(name: str) -> Any | None:
    if name in _objects:
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


def _tags(name: str, tags: dict[str, str]) -> dict[str, str]:
    keys = METRICS[name][2]
    out = {k: str(v) for k, v in tags.items() if k in keys}
    if "namespace" in keys:
        out.setdefault("namespace", _namespace)
    return out


def inc(name: str, value: float = 1.0, **tags: str) -> None:
    obj = _metric(name)
    if obj is not None and value > 0:
        obj.inc(value, tags=_tags(name, tags))


def gauge(name: str, value: float, **tags: str) -> None:
    obj = _metric(name)
    if obj is not None:
        obj.set(value, tags=_tags(name, tags))


def observe(name: str, value: float, **tags: str) -> None:
    obj = _metric(name)
    if obj is not None:
        obj.observe(value, tags=_tags(name, tags))
