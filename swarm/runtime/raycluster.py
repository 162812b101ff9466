"""What the driver asks of Ray itself: to start (keeping the process's signal handlers), and for CPUs.

    dashboard_url = init_ray(None, "swarm-payments")   # a local Ray; `swarm run`'s SIGTERM handler stays
    standing = request_cpus(6.5, standing=None)        # asks Ray's autoscaler for 7 CPUs: 7
    standing = request_cpus(0, standing)               # withdraws the request: 0

A local Ray has no autoscaler to ask: `request_cpus` then leaves the standing request as it was.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
from collections.abc import Iterator
from typing import Any

import ray

__all__ = ["init_ray", "request_cpus", "signal_handlers_kept"]

log = logging.getLogger("swarm.runtime")


def init_ray(address: str | None, namespace: str) -> str | None:
    """ray.init in `namespace` (a local Ray unless `address`); the dashboard's URL, if there is one."""
    with signal_handlers_kept():  # ray.init's SIGTERM handler exits at once; a draining driver keeps its own
        context = ray.init(address=address, namespace=namespace, logging_level="WARNING")
    return getattr(context, "dashboard_url", None) or None


def request_cpus(cpus: float, standing: int | None) -> int | None:
    """A standing request to Ray's autoscaler for `cpus`, rounded up (it replaces the previous one; 0
    withdraws it). Returns the request that stands now: `standing` if it already asked for that, or if
    Ray did not honour the new one."""
    want = math.ceil(cpus - 1e-9) if cpus > 0 else 0
    if want == standing:
        return standing
    try:
        from ray.autoscaler.sdk import request_resources

        request_resources(num_cpus=want)
        log.info("asked Ray's autoscaler for %d CPUs (was %s)", want, standing)
        return want
    except Exception as exc:  # a local Ray has no autoscaler to ask
        log.debug("request_resources(%s) not honoured: %s", want, exc)
        return standing


@contextlib.contextmanager
def signal_handlers_kept() -> Iterator[None]:
    """SIGTERM / SIGINT handlers the process installed before (`swarm run` drains on them) stay installed
    through the block: a signal during the rest of start-up (intake already at work) drains, not exits."""
    kept: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if handler not in (signal.SIG_DFL, signal.default_int_handler, None):
            kept[sig] = handler
    try:
        yield
    finally:
        for sig, handler in kept.items():
            with contextlib.suppress(ValueError):  # not the main thread: nothing was installed there either
                signal.signal(sig, handler)
