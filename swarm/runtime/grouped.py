"""`duplicate_grouped` events of a storm, one per signature per moment rather than per fetched batch.

    events = GroupedEvents(lambda: services.blood, every_s=0.25)
    events.add(signature, investigation_id, occurrences=412, counted=255)   # a batch's duplicates
    ...                                     # further batches of the same signature add to the same event
    await events.flush()                    # on drain / close: nothing pending is lost

A storm's batches each count hundreds of duplicates of a handful of signatures. An event per signature
per batch costs as much as the batch's counting (a span, an encoding, a publish and its ack per event),
so the batches of the next `every_s` seconds are told in one event per signature: `counted` is their
sum, `occurrences` the latest count written, `batches` how many batches it covers. Events stay best
effort (swarm.bloodstream): a failed publish is counted and logged there, never raised here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

__all__ = ["GroupedEvents"]


class GroupedEvents:
    def __init__(self, blood: Callable[[], Any], every_s: float = 0.25) -> None:
        self.blood, self.every_s = blood, every_s
        self.pending: dict[str, dict[str, Any]] = {}  # signature -> the event being gathered
        self._flushing: asyncio.Task[None] | None = None
        self._sleeping = False  # the flush task has not taken `pending` yet (cancelling it loses nothing)

    def add(self, signature: str, investigation_id: str, occurrences: Any, counted: int) -> None:
        event = self.pending.get(signature)
        if event is None:
            self.pending[signature] = {"signature": signature, "investigation_id": investigation_id,
                                       "occurrences": occurrences, "counted": counted, "batches": 1}
        else:
            event.update(investigation_id=investigation_id, occurrences=occurrences)
            event["counted"] += counted
            event["batches"] += 1
        if self._flushing is None or self._flushing.done():
            self._sleeping = True
            self._flushing = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(self.every_s)
        finally:
            self._sleeping = False
        await self._emit()

    async def _emit(self) -> None:
        pending, self.pending = self.pending, {}
        blood = self.blood()
        for event in pending.values():
            inv = event.pop("investigation_id")
            await blood.emit("duplicate_grouped", event, investigation_id=inv)

    async def flush(self) -> None:
        """Emit what is pending now (drain, close)."""
        task, self._flushing = self._flushing, None
        if task is not None and not task.done():
            if self._sleeping:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.pending:
            await self._emit()
