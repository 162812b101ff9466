"""Grouping by signature: one investigation per distinct error, occurrences counted in KV.

The `{NS}_SIGNATURES` bucket maps a signature to its investigation. `kv.create` is atomic, so when
two intake actors see a new signature at once exactly one opens the investigation; the others count
an occurrence with a compare-and-set update. Intake counts a fetched batch with one write per
signature (`count`), not one per report.

    index = await SignatureIndex(bus.js, bus.names).open()
    tally = await index.count(report, sources=[("T_ERROR_REPORTS", 42), ("T_ERROR_REPORTS", 43)])
    tally.kinds  # per report: "new" (it opened the investigation) | "own" (a redelivery of the report
                 # that holds it, or the occurrence that takes over a signature whose opening report
                 # was dead-lettered) | "duplicate" (one more occurrence) | "counted" (counted before)

Exact counts under redelivery: an occurrence is counted once per stream sequence. The entry keeps,
in the same compare-and-set as the count, the sequences it counted (`counted`: stream -> sequences);
a report that comes back (its ack was lost, a nak) finds its mark and is acked without counting. A
mark goes once the actor saw its ack confirmed (`forget` in its next write of the signature): an acked
report is gone from the WorkQueue stream and can never come back. At most `MAX_COUNTED` marks are
kept per signature (the oldest dropped first), so an entry stays small whatever happens. Every write
(a count, and a change: close, transfer, dead-letter mark...) is first tried on the entry this actor last
wrote, without a read; only a compare-and-set that succeeds on that revision is kept.

An entry has a lifecycle (swarm.runtime.lifecycle): the investigation's Result closes it (`close`:
fixed / no_fix / failed), and an occurrence of a closed signature after a deploy marker, after the
quiet period, or with new evidence for a no_fix reopens it as a new investigation ("new").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from swarm.bus.kvlist import bucket_keys
from swarm.bus.names import Names
from swarm.errors import ConflictRetriesExhausted
from swarm.models import DeployMarker, ErrorReport, utcnow
from swarm.runtime.lifecycle import (
    CLOSED,
    DeployMarkers,
    LifecyclePolicy,
    add_evidence,
    close_entry,
    evidence_of,
    generation_id,
    release_entry,
    reopen,
    reopen_reason,
    report_digest,
    settle_pull,
)

__all__ = ["SignatureIndex", "Tally", "Kind", "investigation_id_for", "MAX_COUNTED"]

MAX_COUNTED = 4096  # dedup marks kept per signature (oldest dropped first); see `count`
CACHE_SIZE = 4096  # entries this actor last wrote, so a hot signature costs one round trip per batch


def investigation_id_for(signature: str) -> str:
    """Deterministic: a signature has one investigation, so its Result Msg-Id is stable too."""
    return generation_id(signature, 1)


Kind = Literal["new", "own", "duplicate", "counted"]


@dataclass
class Tally:
    """One signature's share of a batch after its one write: the entry and, per report, its kind."""

    entry: dict[str, Any]
    kinds: list[Kind]

    @property
    def investigation_id(self) -> str:
        return str(self.entry["investigation_id"])


class SignatureIndex:
    def __init__(self, js: JetStreamContext, names: Names, max_retries: int = 50,
                 policy: LifecyclePolicy | None = None) -> None:
        self.js, self.names, self.max_retries = js, names, max_retries
        self.policy = policy or LifecyclePolicy()
        self.kv: KeyValue | None = None
        self.markers: DeployMarkers | None = None
        self._cache: dict[str, tuple[bytes, int]] = {}  # signature -> (entry, revision) of our last write
        # one count of a signature at a time in this actor: a second batch's count of it waits for the first
        # and then starts from its write (cached), instead of losing the compare-and-set to it
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    async def open(self) -> SignatureIndex:
        self.kv = await self.js.key_value(self.names.signature_bucket)
        with contextlib.suppress(Exception):  # a namespace provisioned before deploy markers: none to read
            self.markers = await DeployMarkers(self.js, self.names).open()
        return self

    async def get(self, signature: str) -> dict[str, Any] | None:
        assert self.kv is not None
        try:
            entry = await self.kv.get(signature)
        except KeyNotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    async def count(
        self, report: ErrorReport, sources: list[tuple[str, int]], forget: dict[str, set[int]] | None = None,
        reports: list[ErrorReport] | None = None, fresh_since: float | None = None,
    ) -> Tally:
        """Count a batch's occurrences of one signature with one write (`kv.create` or one CAS).

        `sources` are the reports' (stream, sequence), in fetch order; `forget` the sequences whose
        ack this actor has seen confirmed (they can never come back, so their dedup marks go). A
        sequence already counted (its ack was lost, or it is back after a nak) is not counted again.
        `reports` (per source) let a no_fix signature reopen on new evidence (`evidence.evidence_of`,
        computed only for a closed signature); `fresh_since` (time.monotonic(), when the batch was fetched)
        lets the signatures of a batch share one read of the service's deploy markers.
        """
        async with self._turn(report.signature):
            return await self._count(report, sources, forget, reports, fresh_since)

    @contextlib.asynccontextmanager
    async def _turn(self, sig: str) -> AsyncIterator[None]:
        """This actor's writers of one signature take turns (counts, and the changes of `_change`)."""
        lock, users = self._turns.get(sig) or (asyncio.Lock(), 0)
        self._turns[sig] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[sig]
            if users > 1:
                self._turns[sig] = (lock, users - 1)
            else:
                del self._turns[sig]

    async def _count(
        self, report: ErrorReport, sources: list[tuple[str, int]], forget: dict[str, set[int]] | None,
        reports: list[ErrorReport] | None, fresh_since: float | None,
    ) -> Tally:
        assert self.kv is not None
        sig, first = report.signature, sources[0]
        entry = {
            "investigation_id": investigation_id_for(sig),
            "signature": sig,
            "service": report.service,
            "environment": report.environment,
            "occurrences": len(sources),
            "status": "open",
            "source_stream": first[0],
            "source_seq": first[1],
            "opened_at": utcnow().isoformat(),
            "counted": _marks(sources[1:]),
            "generation": 1,
            "evidence": list(evidence_of(report)),
            "release": report.release,
        }
        if sig not in self._cache:
            try:
                revision = await self.kv.create(sig, json.dumps(entry).encode())
                self._remember(sig, entry, revision)
                return Tally(entry, ["new"] + ["duplicate"] * (len(sources) - 1))
            except KeyWrongLastSequenceError:
                pass
        for attempt in range(self.max_retries):
            cached = self._cache.pop(sig, None)
            if cached is None:
                try:
                    current = await self.kv.get(sig)
                except KeyNotFoundError:  # purged since we cached it: open it again
                    with contextlib.suppress(KeyWrongLastSequenceError):
                        revision = await self.kv.create(sig, json.dumps(entry).encode())
                        self._remember(sig, entry, revision)
                        return Tally(entry, ["new"] + ["duplicate"] * (len(sources) - 1))
                    continue
                cached = (current.value, int(current.revision or 0))
            data = json.loads(cached[0])
            reopening = _Reopen(self.policy)
            if data.get("status") in CLOSED:  # rare: the lifecycle's inputs are read only for a closed entry
                reopening.evidence = [evidence_of(r) for r in reports] if reports else None
                if self.markers is not None:
                    reopening.deploy = await self.markers.latest(report.service, data.get("environment"), fresh_since)
            elif data.get("status") == "rejected" and data.get("released"):  # rarer: a release may need the report
                reopening.digests = [report_digest(r) for r in reports] if reports else None
            kinds, changed = _tally(data, sources, forget or {}, reopening)
            if not changed:
                self._cache[sig] = cached
                return Tally(data, kinds)
            try:
                revision = await self.kv.update(sig, json.dumps(data).encode(), last=cached[1])
                self._remember(sig, data, revision)
                return Tally(data, kinds)
            except KeyWrongLastSequenceError:  # another actor (or a stale cache): read and try again
                if attempt:
                    await asyncio.sleep(random.uniform(0, 0.005 * attempt))
        raise ConflictRetriesExhausted(f"signature {sig[:12]}: occurrence count lost {self.max_retries} races")

    def _remember(self, sig: str, data: dict[str, Any], revision: int) -> None:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[sig] = (json.dumps(data).encode(), int(revision))

    async def _change(self, signature: str, change: Callable[[dict[str, Any]], bool], what: str) -> None:
        """Compare-and-set an entry: `change` edits it in place and says whether to write at all.

        It is first tried without a read on the entry this actor last wrote (cached), and only a write is
        kept from that try: a compare-and-set that succeeds on the cached revision proves it was the latest;
        a refused one, or a decision not to write, is made again on a fresh read."""
        assert self.kv is not None
        async with self._turn(signature):
            cached = self._cache.pop(signature, None)
            lost = 0
            while lost < self.max_retries:
                if cached is not None:
                    value, revision = cached
                else:
                    try:
                        current = await self.kv.get(signature)
                    except KeyNotFoundError:
                        return  # no entry: nothing to change
                    value, revision = current.value, int(current.revision or 0)
                data = json.loads(value)
                optimistic, cached = cached is not None, None
                if not change(data):
                    if optimistic:
                        continue  # decided on what this actor last wrote: decide again on the latest
                    return
                try:
                    written = await self.kv.update(signature, json.dumps(data).encode(), last=revision)
                except KeyWrongLastSequenceError:
                    if optimistic:
                        continue
                    lost += 1
                    await asyncio.sleep(random.uniform(0, 0.005 * lost))
                    continue
                self._remember(signature, data, written)
                return
        raise ConflictRetriesExhausted(f"signature {signature[:12]}: {what} lost {self.max_retries} races")

    async def transfer(self, signature: str, old: tuple[str, int], new: tuple[str, int]) -> None:
        """A re-published copy of the holding report takes over its claim (only from the holder)."""

        def change(data: dict[str, Any]) -> bool:
            if _source(data) != tuple(old):
                return False
            data.update(source_stream=new[0], source_seq=new[1])
            return True

        await self._change(signature, change, "transfer")

    async def mark_dead_lettered(self, signature: str, source: tuple[str, int]) -> str | None:
        """The report that holds this signature's investigation was dead-lettered: let the next
        occurrence reopen it. Only the holder (same stream and sequence) may do so. Returns the id of the
        investigation it gave up (None: the report held none)."""
        given_up: list[str] = []

        def change(data: dict[str, Any]) -> bool:
            given_up.clear()
            if _source(data) != tuple(source) or data.get("status") != "open":
                return False
            data["status"] = "dead_lettered"
            given_up.append(str(data.get("investigation_id") or ""))
            return True

        await self._change(signature, change, "dead-letter mark")
        return given_up[0] if given_up and given_up[0] else None

    async def close(self, signature: str, investigation_id: str, status: str, release: str | None = None,
                    pr_url: str | None = None, approval: str | None = None, pushed_to: str | None = None) -> None:
        """The Result of `investigation_id` closes the entry (fixed / no_fix / failed; `proposed` while its
        pull request is open), if it still holds it; `approval`: the Result's decision, if a gate asked one;
        `pushed_to`: where its fix branch was pushed."""
        await self._change(signature, lambda data: close_entry(data, investigation_id, status, release, pr_url,
                                                               approval, pushed_to), "close")

    async def settle_pull(self, signature: str, investigation_id: str, state: str) -> None:
        """The proposed fix's pull request was merged (-> fixed) or closed unmerged (-> no_fix)."""
        await self._change(signature, lambda data: settle_pull(data, investigation_id, state), "pull settlement")

    async def release(self, signature: str, by: str, reason: str,
                      finding: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """An operator releases a signature the injection filter rejected (`lifecycle.release_entry`): the entry
        as written, or as it is when it is not `rejected` (nothing written); None when there is no entry."""
        seen: list[dict[str, Any]] = []

        def change(data: dict[str, Any]) -> bool:
            seen[:] = [data]
            return release_entry(data, by, reason, utcnow(), finding)

        await self._change(signature, change, "release")
        return seen[0] if seen else None

    async def reset_environment(self, env: str) -> int:
        """Every entry of one environment counts as new at its next occurrence (`streams purge --env E
        --reset-index`): it is marked `reset` and the next occurrence reopens it as a new generation. Not
        deleted: a deleted entry would start again at generation 1 and reuse an investigation id whose
        PEER state and Result exist (the old outcome would come back instead of a new investigation).
        Returns the number of entries marked."""
        env = self.names.env(env)
        marked: set[str] = set()  # a set: `_change` calls `mark` again after a lost compare-and-set

        def mark(data: dict[str, Any]) -> bool:
            if data.get("environment") != env or data.get("reset"):
                return False
            data["reset"] = True
            marked.add(str(data["signature"]))
            return True

        for entry in await self.entries():
            await self._change(str(entry["signature"]), mark, "reset")
        return len(marked)

    async def entries(self) -> list[dict[str, Any]]:
        """Every entry of the index (for operators and the pull-request follower; not on the hot path).

        The keys come from `bucket_keys` (the bucket stream's subjects), not nats-py's `kv.keys()` read with
        every error taken for "no keys": `swarm fixes list` once read an index of one entry as empty. A
        server that does not answer raises; only an empty bucket is empty."""
        assert self.kv is not None
        out = []
        for key in await bucket_keys(self.js, self.names.signature_bucket):
            with contextlib.suppress(KeyNotFoundError):  # a deleted or purged key: its marker is its last message
                entry = await self.kv.get(key)
                if entry.value:
                    out.append(json.loads(entry.value))
        return out

    async def set_status(self, signature: str, status: str) -> None:
        """Mark a signature's investigation (no entry yet: nothing to mark)."""

        def change(data: dict[str, Any]) -> bool:
            data["status"] = status
            return True

        await self._change(signature, change, "status update")


def _source(entry: dict[str, Any]) -> tuple[Any, Any]:
    """The report (stream, sequence) that holds the signature's investigation."""
    return entry.get("source_stream"), entry.get("source_seq")


def _marks(sources: list[tuple[str, int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for stream, seq in sources:
        out.setdefault(stream, []).append(int(seq))
    return out


@dataclass
class _Reopen:
    """What `_tally` needs to decide whether an occurrence of a closed signature reopens it."""

    policy: LifecyclePolicy
    evidence: list[tuple[str, ...]] | None = None  # each source's facts (`swarm.runtime.evidence`)
    deploy: DeployMarker | None = None
    digests: list[str] | None = None  # each source's `report_digest`, for a release bound to one report


def _tally(
    data: dict[str, Any], sources: list[tuple[str, int]], forget: dict[str, set[int]],
    lifecycle: _Reopen | None = None,
) -> tuple[list[Kind], bool]:
    """Count `sources` into `data` in place: (a kind per source, whether anything changed)."""
    lifecycle = lifecycle or _Reopen(LifecyclePolicy())
    now = utcnow()
    counted: dict[str, list[int]] = data.setdefault("counted", {})
    changed = False
    for stream, seqs in forget.items():
        kept = [s for s in counted.get(stream, []) if s not in seqs]
        if len(kept) != len(counted.get(stream, [])):
            counted[stream], changed = kept, True
    seen = {stream: set(seqs) for stream, seqs in counted.items()}
    kinds: list[Kind] = []
    for i, (stream, seq) in enumerate(sources):
        evidence = lifecycle.evidence[i] if lifecycle.evidence and i < len(lifecycle.evidence) else None
        digest = lifecycle.digests[i] if lifecycle.digests and i < len(lifecycle.digests) else None
        if (stream, seq) == _source(data):
            kinds.append("own")  # a redelivery of the report that holds the investigation
        elif seq in seen.get(stream, ()):
            kinds.append("counted")  # counted before: its ack was lost or it came back
        elif data.get("status") == "dead_lettered":
            # its opening report could not be processed: this occurrence takes the investigation over
            data.update(status="open", source_stream=stream, source_seq=seq)
            data["occurrences"] = int(data.get("occurrences", 1)) + 1
            kinds.append("own")
            changed = True
        elif reason := reopen_reason(data, evidence, lifecycle.deploy, lifecycle.policy, now, digest):
            # the error came back: a new investigation, linked to the one that closed
            reopen(data, (stream, seq), reason, evidence, lifecycle.deploy, now)
            data["occurrences"] = int(data.get("occurrences", 1)) + 1
            kinds.append("new")
            changed = True
        else:
            if data.get("status") in CLOSED:
                add_evidence(data, evidence)
            counted.setdefault(stream, []).append(seq)
            seen.setdefault(stream, set()).add(seq)
            data["occurrences"] = int(data.get("occurrences", 1)) + 1
            kinds.append("duplicate")
            changed = True
    if changed:
        data["last_seen_at"] = utcnow().isoformat()
        excess = sum(map(len, counted.values())) - MAX_COUNTED
        for stream in list(counted):  # a bound, not a policy: marks normally leave once their ack is confirmed
            if excess <= 0:
                break
            drop = min(excess, len(counted[stream]))
            counted[stream], excess = counted[stream][drop:], excess - drop
    return kinds, changed
