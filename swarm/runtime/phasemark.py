"""When a phase's RUNNING record is written: before the agent starts, or only if the phase lasts.

    first = lease_known_held(req, mark_s)            # True: the agent may start before any write
    output = await marked(agent_call, write_running if first else None, after_s=mark_s)
    alongside = running_alongside(req, mark_s)       # mark_s = 0: RUNNING written as the agent starts
    output = await marked(agent_call, write_running if alongside else None, after_s=0)

A phase is recorded twice, RUNNING as it starts and DONE (or FAILED) with its output. For a phase that
answers quickly (no-op agents, cached answers, a skipped step) the first write is pure cost: nobody
reads it before the second one lands. So a phase starts without it when the call's lease is known
to be held, and its RUNNING record is written only once the agent has worked `after_s` seconds
(while it works, off the critical path); the DONE record then carries the time it started.

Why this keeps the lease guarantee ("a worker that lost its lease never writes a phase another worker
owns"): the DONE/FAILED record and a late RUNNING record are compare-and-set writes that check the
lease token at the revision written, as before. What changes is only when a lost lease is noticed
by a phase that started without a write: at the latest `after_s` later, when its RUNNING record is
refused, which cancels the agent. And it starts without a write only when the caller's own view of
the state (`PhaseRequest.state`, the revision the lease holder last wrote or learned) shows the
call's token as owner and an expiry at least `after_s + LEASE_MARGIN_S` away: another worker can
take a lease only once its expiry has passed, and only the holder moves the expiry, so the view's
expiry is a lower bound of the real one. Otherwise RUNNING is written first, as before (it reads KV
when the view is stale and refuses a lost lease before the agent runs).

With `after_s` = 0 (the default: every phase gets its RUNNING record as it starts) the same view lets
the agent start alongside that write instead of after it (`running_alongside`): the record is sent at
once, the DONE record still follows it, and a refused one (the lease was lost) cancels the agent
within the write's round trip. A phase transition then waits for one KV write (DONE) instead of two:
when the investigations of one replica end a phase in the same instant, each next phase's RUNNING
writes no longer queue in front of its agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from swarm.errors import StateCorrupted
from swarm.models import utcnow
from swarm.runtime.requests import PhaseRequest
from swarm.state.model import validate_stored

__all__ = ["LEASE_MARGIN_S", "Announcer", "lease_known_held", "marked", "running_alongside"]

LEASE_MARGIN_S = 5.0  # clocks of the hosts may disagree by this much about a lease's expiry
T = TypeVar("T")


def lease_known_held(req: PhaseRequest, after_s: float) -> bool:
    """The caller's view shows `req.lease` holding the investigation for `after_s` + the margin or more."""
    return after_s > 0 and _held_for(req, after_s + LEASE_MARGIN_S)


def running_alongside(req: PhaseRequest, mark_s: float) -> bool:
    """With `mark_s` = 0 (RUNNING as the phase starts): whether the caller's view shows `req.lease` holding
    the investigation for the margin or more, so the agent may start while its RUNNING record is written."""
    return mark_s <= 0 and _held_for(req, LEASE_MARGIN_S)


def _held_for(req: PhaseRequest, seconds: float) -> bool:
    if req.lease is None or req.state is None:
        return False
    try:
        m = validate_stored(req.key, *req.state).metadata
    except StateCorrupted:
        return False
    left = m.lease_expires_at - utcnow() if m.lease_expires_at else timedelta(0)
    return m.owner == req.lease and left.total_seconds() >= seconds


class _Mark:
    def __init__(self, after_s: float, write: Callable[[], Awaitable[Any]]) -> None:
        # due at once (after_s <= 0): it is waited for from the start, written however quick the call
        self.after_s, self.write, self.begun = after_s, write, after_s <= 0

    async def run(self) -> None:
        if self.after_s > 0:
            await asyncio.sleep(self.after_s)
        self.begun = True  # from here on it is waited for, never cancelled mid-write
        await self.write()


async def marked(call: Awaitable[T], write_running: Callable[[], Awaitable[Any]] | None, after_s: float) -> T:
    """`call`'s result; with `write_running`, that write is made if the call is still running after
    `after_s` seconds (0: alongside the call from its start, however quick it is). A failed RUNNING write
    (the lease was lost) cancels the call and is raised. On return (or raise) no write of this phase is
    left in flight: the caller's next write follows it."""
    if write_running is None:
        return await call
    work = asyncio.ensure_future(call)  # the task copies the context: tool runner, tracing span
    mark = _Mark(after_s, write_running)
    marker = asyncio.ensure_future(mark.run())
    try:
        await asyncio.wait({work, marker}, return_when=asyncio.FIRST_COMPLETED)
        if marker.done() and marker.exception() is not None:
            raise marker.exception()  # type: ignore[misc]  # the lease is lost: stop the agent (finally)
        if not work.done():
            await asyncio.wait({work})
        if mark.begun and not marker.done():
            await asyncio.wait({marker})  # the RUNNING record lands before the DONE one is written
        if marker.done() and not marker.cancelled() and marker.exception() is not None:
            raise marker.exception()  # type: ignore[misc]
        return work.result()
    finally:
        for task in (work, marker):
            if not task.done():  # cancelled, not awaited: the caller's own cancellation stays its own
                task.cancel()
                task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: the outcome that matters was raised or returned already


class Announcer:
    """An investigation's phase statuses: the first is published at once (the investigation shows
    up), each later one only if its phase still runs `after_s` later; a quicker phase's status would
    be superseded before anyone could act on it. `settle()` before the final status: no phase status
    is published after it.

        announcer = Announcer(lambda detail: publish_status(detail), after_s=2.0)
        await announcer.announce("planning")      # published now
        await announcer.announce("executing")     # published in 2 s, unless superseded before
        await announcer.settle()
    """

    def __init__(self, publish: Callable[[str], Awaitable[Any]], after_s: float) -> None:
        self.publish, self.after_s = publish, after_s
        self.sent = 0
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Future[Any] | None = None

    async def announce(self, detail: str) -> None:
        await self.settle()
        if not self.sent or self.after_s <= 0:
            self.sent += 1
            await self.publish(detail)
            return
        self._timer = asyncio.get_running_loop().call_later(self.after_s, self._fire, detail)

    def _fire(self, detail: str) -> None:
        self._timer = None
        self.sent += 1
        self._task = asyncio.ensure_future(self.publish(detail))
        self._task.add_done_callback(_retrieve)

    async def settle(self) -> None:
        """Drop a status not yet due; wait for one being published (statuses stay in order)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task})
        self._task = None
