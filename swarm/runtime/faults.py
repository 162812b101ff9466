"""What counts as the swarm's own fault (not the report's): the boundary map to SwarmUnavailable.

    is_swarm_fault(exc)   # NATS unreachable / reconnecting / timed out, a Ray actor dead, missing or restarting

`settle.as_swarm_error` uses it, so such a report is requeued (never dead-lettered); intake retries
its orchestrator call in place on them first (`retry_unavailable`), with a backoff that grows towards the
ack wait while the report's in-progress acks keep it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import ray.exceptions

from swarm.errors import SwarmUnavailable

__all__ = ["is_swarm_fault", "retry_unavailable"]

log = logging.getLogger("swarm.runtime.faults")
T = TypeVar("T")

_NATS = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
)
_RAY = (
    ray.exceptions.RayActorError,  # ActorDiedError, ActorUnavailableError
    ray.exceptions.ActorUnavailableError,
)


def is_swarm_fault(exc: BaseException) -> bool:
    """True for NATS connection trouble and dead, missing or restarting actors."""
    if isinstance(exc, (SwarmUnavailable, *_NATS, *_RAY)):
        return True
    # ray.get_actor on a name being restarted: "Failed to look up actor with name 'orchestrator-0'"
    text = str(exc)
    return isinstance(exc, ValueError | RuntimeError) and (
        "Failed to look up actor" in text or "has no replicas" in text
    )


async def retry_unavailable(
    attempt: Callable[[], Awaitable[T]], *, first_delay_s: float, max_delay_s: float, give_up_after_s: float,
    what: str = "call",
) -> T:
    """Call `attempt` again while it fails with the swarm's own fault, the delay doubling from
    `first_delay_s` to `max_delay_s`; after `give_up_after_s`, raise SwarmUnavailable (requeue)."""
    deadline = time.monotonic() + give_up_after_s
    delay = max(0.05, first_delay_s)
    while True:
        try:
            return await attempt()
        except Exception as exc:
            # raised inside the callee (e.g. a specialist died under the orchestrator): the settler's to settle
            if isinstance(exc, ray.exceptions.RayTaskError) or not is_swarm_fault(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise SwarmUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
            log.warning("%s failed (%s: %s); again in %.1f s", what, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(max_delay_s, delay * 2)
