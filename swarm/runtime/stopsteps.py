"""The steps of a swarm's stop, each bounded: a stop always ends.

    await stop_step("the NATS connection", bus.close())   # returns, or warns and goes on after 30 s

A step that hangs (a task that swallows its cancellation, a close that never returns) is named in a
warning and left behind; the steps after it still run. A step that fails raises, as awaiting it would.

    late = await close_actors([("orchestrator-0", handle), ...])   # each actor's close(), side by side

An actor closes its NATS connection and stops its heartbeat before it is killed; one killed before that
exits with its client's tasks pending (tracebacks in `ray job logs`, a missing last beat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

__all__ = ["ACTOR_CLOSE_TIMEOUT_S", "STOP_STEP_TIMEOUT_S", "close_actors", "stop_step"]

log = logging.getLogger("swarm.runtime")
STOP_STEP_TIMEOUT_S = 30.0  # a stop step (control service, monitor, a task, the outbox, NATS) given up after this
# an actor's close: its last publishes (2 s), a last beat, NATS flush (2 s), spans; on a loaded 2-core node
# 5 s was not always enough (CI: an orchestrator killed mid-close). Within the job's stop margin (60 s).
ACTOR_CLOSE_TIMEOUT_S = 20.0


async def stop_step(what: str, step: Awaitable[Any]) -> None:
    """Await `step` for at most STOP_STEP_TIMEOUT_S; past that, cancel it, warn naming `what`, and return."""
    fut = asyncio.ensure_future(step)
    # not wait_for: it waits for the cancellation too, and a task that swallows it would hang the stop
    done, _ = await asyncio.wait({fut}, timeout=STOP_STEP_TIMEOUT_S)
    if not done:
        fut.cancel()
        log.warning("stop: %s did not end within %.0f s; going on without it", what, STOP_STEP_TIMEOUT_S)
        return
    fut.result()


async def close_actors(actors: Iterable[tuple[str, Any]], timeout_s: float = ACTOR_CLOSE_TIMEOUT_S) -> list[str]:
    """Call every actor's `close()` at once and wait up to `timeout_s`; the names of those that did not
    close in time (or failed to) are warned about and returned. A dead actor's failure counts as closed."""

    async def one(handle: Any) -> bool:
        try:
            await asyncio.wait_for(handle.close.remote(), timeout_s)
        except TimeoutError:
            return False
        except Exception:  # dead already (killed, node lost): nothing left to close
            return True
        return True

    named = list(actors)
    closed = await asyncio.gather(*(one(handle) for _, handle in named))
    late = [name for (name, _), ok in zip(named, closed, strict=True) if not ok]
    if late:
        log.warning("stop: %s did not close within %.0f s; killed with connections open", ", ".join(late), timeout_s)
    return late
