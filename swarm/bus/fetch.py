"""A pull fetch that takes a backlog's batch off the subscription's queue in bulk.

    msgs = await fetch(sub, 256, timeout=1.0)   # sub: js.pull_subscribe_bind(...); same answers as sub.fetch

nats-py's `PullSubscription.fetch(n)` waits for each of the n messages on its own (`next_msg`: a uuid,
two tasks and a timer per message), which costs more than everything intake does with a storm's
report. Here a backlog is fetched with the same protocol (a `no_wait` pull request for the batch; the
server sends what it has, then a 404/408 status when that is fewer) but the subscription's queue is
drained as messages land, one wait per chunk the connection reads, not one per message. When the
consumer has nothing (the idle case, where speed does not matter) or the subscription is not the
kind this knows, it is nats-py's own fetch, lingering request and all.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext
from nats.js.errors import APIError

__all__ = ["fetch"]

_END = (api.StatusCode.NO_MESSAGES, api.StatusCode.REQUEST_TIMEOUT)  # the server has sent what it had


async def fetch(psub: Any, batch: int, timeout: float) -> list[Msg]:
    """Up to `batch` messages of a bound pull subscription within `timeout` seconds; raises as nats-py's
    fetch does (nats.errors.TimeoutError / FetchTimeoutError) when there are none."""
    inner = getattr(psub, "_sub", None)
    queue: asyncio.Queue[Msg] | None = getattr(inner, "_pending_queue", None)
    if batch <= 1 or queue is None or not all(hasattr(psub, a) for a in ("_nc", "_nms", "_deliver")):
        return list(await psub.fetch(batch, timeout=timeout))
    msgs: list[Msg] = []
    while not queue.empty():  # delivered for an earlier request that timed out here: status messages dropped
        if len(msgs) >= batch:
            return msgs
        _take(inner, queue.get_nowait(), msgs, stale=True)
    if len(msgs) >= batch:
        return msgs
    started = time.monotonic()
    request = {"batch": batch - len(msgs), "no_wait": True}
    await psub._nc.publish(psub._nms, json.dumps(request).encode(), psub._deliver)
    ended = False
    while not ended and len(msgs) < batch:
        if queue.empty():
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                break
            try:  # one wait per chunk the connection's reader puts on the queue, not one per message
                ended = _take(inner, await asyncio.wait_for(queue.get(), remaining), msgs, stale=False)
            except TimeoutError:
                break
        while not ended and len(msgs) < batch and not queue.empty():
            ended = _take(inner, queue.get_nowait(), msgs, stale=False)
    if msgs:
        return msgs
    remaining = timeout - (time.monotonic() - started)
    return list(await psub.fetch(batch, timeout=max(remaining, 0.001)))  # nothing now: nats-py's lingering wait


def _take(inner: Any, msg: Msg, msgs: list[Msg], stale: bool) -> bool:
    """A message off the queue: data goes to `msgs`; True once the server said it has no more. Status
    messages of earlier requests (`stale`) and heartbeats are dropped, as nats-py's fetch drops them."""
    inner._pending_queue.task_done()
    inner._pending_size -= len(msg.data)
    status = JetStreamContext.is_status_msg(msg)
    if not status:
        msgs.append(msg)
        return False
    if stale or status == api.StatusCode.CONTROL_MESSAGE:
        return False
    if status in _END or JetStreamContext._is_temporary_error(status):
        return True
    if not msgs:
        raise APIError.from_msg(msg)
    return True
