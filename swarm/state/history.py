"""The read-only side of PEER state repair: a key's kept history, its newest valid revision, a doctor's scan.

    entries = await store.history(key)        # every kept revision, each marked valid or not
    state, revision = await store.last_valid(key)
    report = await store.doctor()             # the keys whose latest revision is not a readable state

Mixed into `PeerStateStore` (`swarm.state.store`), which provides the bucket and its reads; `restore`,
a write, stays there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import nats.errors
from nats.js.kv import KeyValue

from swarm.errors import StateCorrupted, StateError, TransientError
from swarm.state.model import PeerState, validate_stored
from swarm.state.records import DoctorReport, Finding, HistoryEntry
from swarm.state.watch import entry_operation

__all__ = ["StateHistory"]


class StateHistory:
    """History, last valid revision and doctor over a store's bucket (see the module docstring)."""

    # provided by the store this is mixed into (declared here for the type checker only)
    bucket: str
    kv: Callable[[], Awaitable[KeyValue]]
    _latest_revision: Callable[..., Awaitable[int]]

    async def _history(self, key: str) -> list[KeyValue.Entry]:
        await self._latest_revision(key, missing_ok=False)  # StateNotFound when the key never existed
        kv = await self.kv()
        return await _drain(await kv.watch(key, include_history=True), key)

    async def history(self, key: str) -> list[HistoryEntry]:
        """Every kept revision of `key` (oldest first), each marked valid or not."""
        out = []
        for entry in await self._history(key):
            op, reason = entry_operation(entry), None
            if op == "PUT":
                try:
                    validate_stored(key, entry.revision, entry.value)
                except StateCorrupted as exc:
                    reason = exc.reason
            out.append(
                HistoryEntry(
                    revision=int(entry.revision or 0),
                    time=entry.created,  # type: ignore[arg-type]  # a datetime from the message metadata
                    operation=op,
                    valid=op == "PUT" and reason is None,
                    size=len(entry.value or b""),
                    reason=reason,
                )
            )
        return out

    async def last_valid(self, key: str) -> tuple[PeerState, int]:
        """The newest kept revision of `key` that is a valid state; StateCorrupted if there is none."""
        entries = await self._history(key)
        for entry in reversed(entries):
            if entry_operation(entry) == "PUT":
                try:
                    return validate_stored(key, entry.revision, entry.value), int(entry.revision or 0)
                except StateCorrupted:
                    continue
        raise StateCorrupted(key, entries[-1].revision, "no valid revision in the kept history")

    async def doctor(self, prefix: str = "peer.") -> DoctorReport:
        """Check the latest revision of every key (deleted ones included); list those not readable."""
        latest = await self._scan(prefix)
        report = DoctorReport(checked=len(latest))
        for key, entry in sorted(latest.items()):
            op = entry_operation(entry)
            if op == "PUT":
                try:
                    validate_stored(key, entry.revision, entry.value)
                    continue
                except StateCorrupted as exc:
                    problem, reason = "corrupt", exc.reason
            else:
                problem, reason = ("deleted", "deleted") if op == "DEL" else ("purged", "purged: history is gone")
            try:
                _, good = await self.last_valid(key)
            except StateError:
                good = None
            report.findings.append(Finding(key, int(entry.revision or 0), problem, reason, good))  # type: ignore[arg-type]
        return report

    async def _scan(self, prefix: str) -> dict[str, KeyValue.Entry]:
        """The latest entry of every key under `prefix`, tombstones included."""
        kv = await self.kv()
        if (await kv.status()).stream_info.state.messages == 0:
            return {}
        entries = await _drain(await kv.watchall(), self.bucket)
        return {e.key: e for e in entries if e.key.startswith(prefix)}  # in stream order: the last one wins



async def _drain(watcher: KeyValue.KeyWatcher, what: str, timeout_s: float = 10.0) -> list[KeyValue.Entry]:
    """The initial entries of a watch that has some. Ends at the entry with nothing pending after it;
    nats-py's None end marker can arrive before the entries (it races the first delivery)."""
    entries: list[KeyValue.Entry] = []
    try:
        while True:
            try:
                entry = await watcher.updates(timeout_s)
            except nats.errors.TimeoutError as exc:
                raise TransientError(f"reading {what} timed out after {timeout_s}s") from exc
            if entry is None:
                continue
            entries.append(entry)
            if not entry.delta:
                return entries
    finally:
        await watcher.stop()
