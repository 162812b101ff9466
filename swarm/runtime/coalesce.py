"""Calls to one actor, coalesced: those made in the same event-loop turn go as one batch call.

    admit_now = Coalesced(lambda ids: budget.admit_many.remote(ids))
    admitted, reason = await admit_now("inv-1")   # with every other admit_now(...) of this turn: one Ray call

An actor call costs about a millisecond of CPU on each side whatever it carries. The intake opens a
fetched batch's investigations together (one task each, started in the same turn), so their calls to
the budget actor reach this point in the same turn: N calls become one. Each caller still gets its
own answer, in the order it asked; a failed batch call fails each of its callers with the same error.
A batch call whose callers were all cancelled is cancelled too, unless an `orphan` handler must see its
answer: a stopping actor's loop would otherwise close on it ("Task was destroyed but it is pending").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from swarm.telemetry import ops

__all__ = ["BudgetCalls", "Coalesced"]

K = TypeVar("K")
V = TypeVar("V")


class Coalesced(Generic[K, V]):
    """`await coalesced(item)` -> that item's answer of one `call(items)` made for the whole turn."""

    def __init__(
        self, call: Callable[[list[K]], Awaitable[Sequence[V]]], orphan: Callable[[K, V], object] | None = None
    ) -> None:
        """`orphan(item, answer)`: what to do with an answer whose caller was cancelled meanwhile
        (an admission nobody will use is released, not left to expire)."""
        self.call, self.orphan = call, orphan
        self.calls = 0  # batch calls made (items / calls = how much was saved)
        self.sending: set[asyncio.Task[None]] = set()  # batch calls in flight (the loop keeps weak references)
        self._pending: list[tuple[K, asyncio.Future[V]]] = []

    async def __call__(self, item: K) -> V:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[V] = loop.create_future()
        self._pending.append((item, answer))
        if len(self._pending) == 1:  # the first of this turn: the batch leaves once the turn is over
            loop.call_soon(self._flush)
        return await answer

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self.calls += 1
        sent = asyncio.ensure_future(self._send(batch))
        self.sending.add(sent)
        sent.add_done_callback(self._sent)
        if self.orphan is None:
            def abandoned(_: asyncio.Future[V]) -> None:
                if all(answer.cancelled() for _, answer in batch):
                    sent.cancel()

            for _, answer in batch:
                answer.add_done_callback(abandoned)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a batch call's failure reached its callers

    async def _send(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            answers = list(await self.call([item for item, _ in batch]))
            if len(answers) != len(batch):
                raise RuntimeError(f"a batch call answered {len(answers)} of {len(batch)} items")
        except BaseException as exc:  # noqa: BLE001 - every caller of the batch hears of it
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            return
        for (item, answer), value in zip(batch, answers, strict=True):
            if not answer.done():
                answer.set_result(value)
            elif self.orphan is not None:  # its caller was cancelled meanwhile
                self.orphan(item, value)


class BudgetCalls:
    """The intake's side of the swarm-wide budget actor: a fetched batch's first admissions and its
    releases coalesced (one call per turn), the waiting admission one call per waiting investigation.

        calls = BudgetCalls(ray.get_actor(BUDGET_NAME, namespace=ns))
        admitted, why = await calls.admit_now(inv)     # never waits; no while another investigation waits
        admitted, why = await calls.wait_admit(inv, timeout_s=1.0)
        await calls.release(inv)
    """

    def __init__(self, budget: Any) -> None:
        self.budget = budget

        def admit_many(ids: list[str]) -> Any:
            ops.count("ray_call")
            return budget.admit_many.remote(ids)

        def release_many(ids: list[str]) -> Any:
            ops.count("ray_call")
            return budget.release_many.remote(ids)

        def unused(inv: str, answer: tuple[bool, str]) -> None:  # admitted for a caller that is gone
            if answer[0]:
                budget.release.remote(inv)

        self.admit_now: Coalesced[str, tuple[bool, str]] = Coalesced(admit_many, orphan=unused)
        self.release: Coalesced[str, None] = Coalesced(release_many)

    async def wait_admit(self, investigation_id: str, timeout_s: float) -> tuple[bool, str]:
        ops.count("ray_call")
        admitted, reason = await self.budget.wait_admit.remote(investigation_id, timeout_s)
        return bool(admitted), str(reason)

    async def touch(self, investigation_id: str) -> None:
        ops.count("ray_call")
        await self.budget.touch.remote(investigation_id)
