"""Stopping background tasks for good.

    await stop_tasks(self._loop, *self._heals)      # returns once every task is done

One `task.cancel()` is not always enough on Python 3.11: `asyncio.wait_for` returns the inner result when
that completes in the same loop turn as the cancellation and drops the cancel (fixed in 3.12). nats-py's
request is such a `wait_for`, so a loop awaiting a JetStream API call can run on after its cancel and an
`await task` never returns (a health monitor's close hung on it). `stop_tasks` cancels again until each
task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["stop_tasks"]

RECANCEL_S = 0.5  # how long a cancelled task may take to end before it is cancelled again


async def stop_tasks(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel every task (None ignored) until it has ended; their results and errors are dropped."""
    live = [t for t in tasks if t is not None]
    while pending := [t for t in live if not t.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=RECANCEL_S)
    for task in live:
        if not task.cancelled():
            with contextlib.suppress(Exception):
                task.exception()  # retrieved: a stopped task's error is not worth a warning at exit
