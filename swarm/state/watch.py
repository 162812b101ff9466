"""Watching PEER state: an async iterator over changes of one key or the whole bucket.

    async with store.watch("peer.error.inv-1.cycle.1") as changes:   # subscribed once entered
        async for change in changes:
            print(change.revision, change.state or change.error)

    async for change in store.watch(initial=False):   # starts on first iteration; only new writes
        ...

Corrupt values are yielded with `state=None` and `error` set, never raised: a watcher (the UI,
the health monitor) must see them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

from nats.js.kv import KeyValue

from swarm.errors import StateCorrupted
from swarm.state.model import PeerState, validate_stored

__all__ = ["StateChange", "StateWatch", "Operation", "entry_operation"]

Operation = Literal["PUT", "DEL", "PURGE"]


def entry_operation(entry: KeyValue.Entry) -> Operation:
    return "DEL" if entry.operation == "DEL" else "PURGE" if entry.operation == "PURGE" else "PUT"


@dataclass
class StateChange:
    """One change: a valid state, or the reason it is not one (deletes have neither)."""

    key: str
    revision: int
    operation: Operation
    time: datetime | None
    state: PeerState | None
    error: str | None = None

    @classmethod
    def from_entry(cls, entry: KeyValue.Entry) -> StateChange:
        op, state, error = entry_operation(entry), None, None
        if op == "PUT":
            try:
                state = validate_stored(entry.key, entry.revision, entry.value)
            except StateCorrupted as exc:
                error = exc.reason
        created = entry.created if isinstance(entry.created, datetime) else None
        return cls(entry.key, int(entry.revision or 0), op, created, state, error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "revision": self.revision,
            "operation": self.operation,
            "time": self.time.isoformat() if self.time else None,
            "state": self.state.model_dump(mode="json") if self.state else None,
            "error": self.error,
        }


class StateWatch:
    """Async iterator (and async context manager) of StateChange; `aclose()` unsubscribes."""

    def __init__(self, kv: Callable[[], Awaitable[KeyValue]], key: str | None, *, initial: bool = True) -> None:
        self._kv, self.key, self.initial = kv, key, initial
        self._watcher: KeyValue.KeyWatcher | None = None
        self._after = 0  # with initial=False: only revisions above the bucket's last one at start
        self._closed = False

    async def start(self) -> StateWatch:
        """Subscribe now; every write after this returns is seen."""
        if self._watcher is None and not self._closed:
            kv = await self._kv()
            if not self.initial:
                # read before subscribing: whatever the subscription delivers above it is new
                self._after = (await kv.status()).stream_info.state.last_seq
            self._watcher = await kv.watch(self.key or ">")
        return self

    def __aiter__(self) -> StateWatch:
        return self

    async def __anext__(self) -> StateChange:
        await self.start()
        if self._watcher is None:
            raise StopAsyncIteration
        async for entry in self._watcher:
            # None marks the end of the initial values; older revisions are skipped when not wanted
            if entry is not None and int(entry.revision or 0) > self._after:
                return StateChange.from_entry(entry)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._closed = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            await watcher.stop()

    async def __aenter__(self) -> StateWatch:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
