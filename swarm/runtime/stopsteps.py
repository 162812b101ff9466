"""The steps of a swarm's stop, each bounded: a stop always ends.

    await stop_step("the NATS connection", bus.close())   # returns, or warns and goes on after 30 s

A step that hangs (a task that swallows its cancellation, a close that never returns) is named in a
warning and left behind; the steps after it still run. A step that fails raises, as awaiting it would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

__all__ = ["STOP_STEP_TIMEOUT_S", "stop_step"]

log = logging.getLogger("swarm.runtime")
STOP_STEP_TIMEOUT_S = 30.0  # a stop step (control service, monitor, a task, the outbox, NATS) given up after this


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
