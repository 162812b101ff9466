"""PEER state in JetStream KV: every write is validated, owned, and compare-and-set.

    store = PeerStateStore(bus)                       # or PeerStateStore(js, names)
    rev = await store.create(PeerState.new("inv-1", "error", 1))
    state, rev = await store.read("peer.error.inv-1.cycle.1")

    def start_plan(s: PeerState) -> None:             # gets a copy; mutate it, or return a new one
        s.phases.plan.status = PhaseStatus.RUNNING
        s.metadata.status = Status.PLANNING
    state, rev = await store.update(key, start_plan, role="orchestrator", actor="orch-1")

    async with store.watch() as changes:              # whole bucket, or watch(key); live once entered
        async for change in changes: ...

There is no public put: `create` writes only if the key is absent, `update` and `restore` only on
the revision they read. A value that is not a valid PeerState can therefore only appear if
someone writes behind the store's back; `read` then raises StateCorrupted(key, revision), and
`doctor`, `last_valid` and `restore` find and repair it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js import errors as js_errors
from nats.js.kv import KeyValue
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from swarm.bus.connect import Bus
from swarm.bus.names import Names
from swarm.errors import (
    ConfigError,
    ConflictRetriesExhausted,
    InvalidInput,
    StateError,
    StateExists,
    StateNotFound,
    TransientError,
    explain,
)
from swarm.state.history import StateHistory
from swarm.state.model import PeerState, check_ownership, parse_key, validate_stored
from swarm.state.records import DoctorReport, Finding, HistoryEntry, StoreStats
from swarm.state.watch import StateChange, StateWatch, entry_operation

__all__ = [
    "PeerStateStore",
    "Transform",
    "HistoryEntry",
    "Finding",
    "DoctorReport",
    "StateChange",
    "StateWatch",
    "StoreStats",
    "LOG_JSON_LIMIT",
]

log = logging.getLogger("swarm.state")
LOG_JSON_LIMIT = 512  # characters of the written JSON shown in the debug log
KNOWN_KEYS = 4096  # revisions remembered per store for optimistic updates

Transform = Callable[[PeerState], PeerState | None | Awaitable[PeerState | None]]


class _Stale(Exception):
    """An optimistic attempt on a remembered revision did not end in a write: redo it on a fresh read."""


def _cut(text: str, limit: int = LOG_JSON_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...(+{len(text) - limit} chars)"


class PeerStateStore(StateHistory):
    """Async store of PeerState values in the namespace's `{NS}_PEER_STATE` bucket."""

    def __init__(
        self,
        bus_or_js: Bus | JetStreamContext,
        names: Names | None = None,
        *,
        max_attempts: int = 64,
        backoff_base_s: float = 0.002,
        backoff_cap_s: float = 0.2,
    ) -> None:
        if isinstance(bus_or_js, Bus):
            self._js, self.names = bus_or_js.js, names or bus_or_js.names
        else:
            if names is None:
                raise TypeError("PeerStateStore(js, names): names is required with a JetStreamContext")
            self._js, self.names = bus_or_js, names
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts, self.backoff_base_s, self.backoff_cap_s = max_attempts, backoff_base_s, backoff_cap_s
        self.stats = StoreStats()
        self._kv: KeyValue | None = None
        # key -> (revision, value) this store last read or wrote: `update` first tries a CAS on it,
        # saving the read; a CAS success proves it was still the latest, a failure costs one re-read
        self._known: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._turns: dict[str, list[Any]] = {}  # key -> [lock, updates waiting or running] while any

    @property
    def bucket(self) -> str:
        return self.names.peer_bucket

    async def kv(self) -> KeyValue:
        """The bucket handle (for raw reads and tests; writes go through create/update/restore)."""
        if self._kv is None:
            try:
                self._kv = await self._js.key_value(self.bucket)
            except js_errors.BucketNotFoundError as exc:
                raise ConfigError(
                    f"KV bucket {self.bucket} does not exist: provision namespace {self.names.ns!r} "
                    "with `swarm streams provision`"
                ) from exc
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
                raise TransientError(f"JetStream did not answer for bucket {self.bucket}: {exc!r}") from exc
        return self._kv

    # reads -----------------------------------------------------------------------------------
    async def _entry(self, key: str, revision: int | None = None) -> KeyValue.Entry:
        parse_key(key)
        if revision is not None and revision < 1:  # 0 would read the latest, below 0 a raw server error
            raise InvalidInput(f"revision {revision} of {key!r}: revisions start at 1")
        kv = await self.kv()
        self.stats.reads += 1
        try:
            return await kv.get(key, revision=revision)
        except js_errors.KeyNotFoundError as exc:
            at = f" revision {revision}" if revision else ""
            if exc.entry is not None:
                raise StateNotFound(
                    f"PEER state {key!r}{at} was {'purged' if exc.op == 'PURGE' else 'deleted'} "
                    f"(tombstone at revision {exc.entry.revision})"
                ) from exc
            raise StateNotFound(f"no PEER state at key {key!r}{at} in bucket {self.bucket}") from exc
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise TransientError(f"reading {key!r} timed out: {exc!r}") from exc

    async def read(self, key: str, revision: int | None = None) -> tuple[PeerState, int]:
        """The state at `key` (latest, or the given revision) and its revision."""
        entry = await self._entry(key, revision)
        state, rev = validate_stored(key, entry.revision, entry.value), int(entry.revision or 0)
        if revision is None:
            self._remember(key, rev, entry.value or b"")
        return state, rev

    def remembered(self, key: str) -> tuple[int, bytes] | None:
        """(revision, value) this store last read, wrote or was told of `key` (None: nothing known)."""
        return self._known.get(key)

    def remember(self, key: str, revision: int, value: bytes) -> None:
        """Learn of a revision written elsewhere (another process's CAS write), unless a newer one is
        known: the next update tries on it without a read, and a read-free `remembered` sees it."""
        self._remember(key, revision, value)

    def _remember(self, key: str, revision: int, value: bytes) -> None:
        known = self._known.get(key)
        if known is not None and known[0] > revision:
            return  # a read that began before a newer write ended after it: keep the newer one
        self._known[key] = (revision, value)
        self._known.move_to_end(key)
        if len(self._known) > KNOWN_KEYS:
            self._known.popitem(last=False)

    async def keys(self, prefix: str = "peer.") -> list[str]:
        """Keys currently holding a value (deleted ones excluded), sorted."""
        latest = await self._scan(prefix)
        return sorted(k for k, e in latest.items() if entry_operation(e) == "PUT")

    async def _latest_revision(self, key: str, missing_ok: bool = True) -> int:
        """Revision of the latest entry of `key`, a delete tombstone included (0 if none)."""
        try:
            return (await self._entry(key)).revision or 0
        except StateNotFound as exc:
            cause = exc.__cause__
            if isinstance(cause, js_errors.KeyNotFoundError) and cause.entry is not None:
                return int(cause.entry.revision or 0)
            if missing_ok:
                return 0
            raise

    # writes ----------------------------------------------------------------------------------
    async def _write(self, key: str, state: PeerState, last: int, what: str, data: bytes | None = None) -> int:
        """The only write path: validated JSON, CAS on `last` (0 = key must be absent). `data` is the state's
        JSON when the caller has already read it back with `validate_stored`."""
        if data is None:
            data = state.to_bytes()
            validate_stored(key, None, data)  # what we write must read back: same parser as `read`
        kv = await self.kv()
        try:
            revision = await kv.update(key, data, last=last)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise TransientError(f"writing {key!r} timed out: {exc!r}") from exc
        except nats.errors.MaxPayloadError as exc:  # the same state would fail the same way: not transient
            raise StateError(f"PEER state {key!r} takes {len(data)} bytes, more than the NATS server's max payload: "
                             "it was not written") from exc
        self.stats.writes += 1
        self._remember(key, revision, data)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s key=%s revision=%d size=%d json=%s", what, key, revision, len(data), _cut(data.decode()))
        return revision

    async def create(self, state: PeerState) -> int:
        """Write a new state at `state.key`; StateExists if that key holds anything (even a tombstone)."""
        key = state.key
        try:
            return await self._write(key, state, 0, "create")
        except js_errors.KeyWrongLastSequenceError as exc:
            raise StateExists(
                f"PEER state {key!r} already exists (revision {await self._latest_revision(key)}); "
                "use update, or restore to repair it"
            ) from exc

    async def update(
        self, key: str, transform: Transform, role: str, *, actor: str | None = None
    ) -> tuple[PeerState, int]:
        """Read, transform a copy, validate, check `role`'s ownership, CAS-write; retry on conflict.

        `transform` receives a deep copy of the current state and either mutates it (returning
        None) or returns a new PeerState; it may be async. It must be safe to call more than once:
        on a revision conflict the latest state is re-read and the transform applied again.
        When this store read or wrote `key` last, it first tries on that revision without a read;
        only a successful CAS is kept from such a try, anything else is redone on a fresh read.
        metadata.updated_at is stamped; metadata.updated_by becomes `actor`, else what the
        transform set, else `role`.
        Raises StateNotFound, StateCorrupted, OwnershipViolation, InvalidInput (the transform made
        an invalid state) or ConflictRetriesExhausted after `max_attempts` lost races.
        """
        # this process's writers of one key take turns: the second tries on the first's revision (no
        # read, no lost compare-and-set) instead of racing it
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = [asyncio.Lock(), 0]
        turn[1] += 1
        try:
            async with turn[0]:
                return await self._update(key, transform, role, actor)
        finally:
            turn[1] -= 1
            if not turn[1]:
                del self._turns[key]

    async def _update(
        self, key: str, transform: Transform, role: str, actor: str | None
    ) -> tuple[PeerState, int]:
        lost = 0
        while True:
            known = self._known.pop(key, None)
            if known is None:
                entry = await self._entry(key)
                revision, raw = int(entry.revision or 0), entry.value or b""
            else:
                revision, raw = known
            try:
                return await self._attempt(key, revision, raw, transform, role, actor, optimistic=known is not None)
            except _Stale:
                self.stats.stale += 1  # decided on a remembered value: decide again on a fresh read
            except js_errors.KeyWrongLastSequenceError:
                lost += 1
                self.stats.conflicts += 1
                if lost >= self.max_attempts:
                    raise ConflictRetriesExhausted(
                        f"update of {key!r} by role {role!r} lost the compare-and-set {lost} times in a row "
                        "(too many concurrent writers); retry later"
                    ) from None
                await asyncio.sleep(self._backoff(lost))

    async def _attempt(
        self, key: str, revision: int, raw: bytes, transform: Transform, role: str, actor: str | None, optimistic: bool
    ) -> tuple[PeerState, int]:
        """One read-transform-check-write on `raw` at `revision`; raises _Stale instead of any
        other outcome than a successful write when `raw` was only remembered, not read now."""
        try:
            current = validate_stored(key, revision, raw)
            # the transform's copy is parsed from the same bytes: cheaper than a deep copy
            new = await self._apply(key, PeerState.model_validate_json(raw), transform)
            if not check_ownership(role, current, new):
                if optimistic:
                    raise _Stale
                return current, revision  # nothing to write: do not add a revision
            # `new` was read back from its JSON (`_apply`); the stamp's two fields are validated as assigned
            new.metadata.updated_at = max(datetime.now(UTC), new.metadata.created_at)
            if actor or new.metadata.updated_by == current.metadata.updated_by:  # a transform may name the actor
                new.metadata.updated_by = actor or role
            data = self._serialised(key, new)
        except Exception as exc:
            if optimistic and not isinstance(exc, _Stale):
                raise _Stale from exc
            raise
        try:
            return new, await self._write(key, new, revision, f"update[{role}]", data)
        except js_errors.KeyWrongLastSequenceError:
            if optimistic:
                raise _Stale from None
            raise

    def _backoff(self, attempt: int) -> float:
        # full jitter: writers that collided spread out instead of colliding again in lockstep
        return random.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(attempt, 16)))

    async def _apply(self, key: str, copy: PeerState, transform: Transform) -> PeerState:
        try:
            result = transform(copy)
            if inspect.isawaitable(result):
                result = await result
            new = copy if result is None else result
            if not isinstance(new, PeerState):
                raise InvalidInput(f"transform of {key!r} returned {type(new).__name__}, expected PeerState or None")
            # revalidate from JSON: in-place edits of nested dicts/lists bypass assignment validation
            new = PeerState.model_validate_json(self._serialised(key, new))
        except ValidationError as exc:
            raise InvalidInput(f"update of {key!r} would write an invalid PeerState: {explain(exc, 'value')}") from exc
        if new.key != key:
            raise InvalidInput(f"update of {key!r} changed the state's identity to {new.key!r}")
        return new

    @staticmethod
    def _serialised(key: str, state: PeerState) -> bytes:
        try:
            return state.model_dump_json(warnings=False).encode("utf-8")
        except PydanticSerializationError as exc:
            raise InvalidInput(f"update of {key!r} would write an invalid PeerState: {exc}") from exc

    # history and recovery --------------------------------------------------------------------
    async def restore(self, key: str, revision: int) -> int:
        """Write revision `revision`'s value again as the newest revision (CAS); returns the new revision."""
        state, _ = await self.read(key, revision)
        latest = await self._latest_revision(key)
        if latest == revision:
            raise InvalidInput(f"revision {revision} is already the latest revision of {key!r}")
        try:
            return await self._write(key, state, latest, f"restore[{revision}]")
        except js_errors.KeyWrongLastSequenceError as exc:
            self.stats.conflicts += 1
            raise ConflictRetriesExhausted(
                f"{key!r} changed while restoring revision {revision}; check `swarm state history` and retry"
            ) from exc

    def watch(self, key: str | None = None, *, initial: bool = True) -> StateWatch:
        """Changes of one key or the whole bucket (see StateWatch); `initial`: current values first."""
        if key is not None:
            parse_key(key)
        return StateWatch(self.kv, key, initial=initial)
