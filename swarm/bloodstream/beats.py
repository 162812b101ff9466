"""One heartbeat measurement: the process's CPU and memory plus what the service's probe adds.

    hb = measure(psutil.Process(), "research-0", "research", 5.0, probe=lambda: {"active_investigations": 2})

A probe that raises or returns invalid fields never makes a live service look dead: the beat says "degraded".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psutil
from pydantic import ValidationError

from swarm.models import Heartbeat

__all__ = ["measure"]

log = logging.getLogger("swarm.bloodstream")


def measure(process: psutil.Process, service: str, role: str, interval_s: float,
            probe: Callable[[], dict[str, Any]] | None) -> Heartbeat:
    fields: dict[str, Any] = {
        "cpu_percent": process.cpu_percent(None),
        "memory_mb": round(process.memory_info().rss / 1e6, 1),
    }
    if probe is not None:
        try:
            fields |= probe()
        except Exception as exc:  # a broken probe must not look like a dead service: report degraded
            log.warning("heartbeat probe of %s failed: %r", service, exc)
            fields["status"] = "degraded"
    try:
        return Heartbeat(service=service, role=role, interval_s=interval_s, **fields)
    except ValidationError as exc:
        log.warning("heartbeat probe of %s returned invalid fields: %s", service, exc)
        return Heartbeat(service=service, role=role, interval_s=interval_s, status="degraded")
