"""Grouping by signature: one investigation per distinct error, occurrences counted in KV.

The `{NS}_SIGNATURES` bucket maps a signature to its investigation. `kv.create` is atomic, so when
two intake actors see a new signature at once exactly one opens the investigation; the others count
an occurrence with a compare-and-set update.

    index = SignatureIndex(bus.js, bus.names)
    await index.open()
    claim = await index.claim(report, source=("T_ERROR_REPORTS", 42))
    claim.kind  # "new" | "own" (a redelivery of the message that opened it, or the occurrence that
                #         takes over a signature whose opening report was dead-lettered) | "duplicate"
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from swarm.bus.names import Names
from swarm.errors import ConflictRetriesExhausted
from swarm.models import ErrorReport, utcnow

__all__ = ["SignatureIndex", "Claim", "investigation_id_for"]


def investigation_id_for(signature: str) -> str:
    """Deterministic: a signature has one investigation, so its Result Msg-Id is stable too."""
    return f"inv-{signature[:16]}"


@dataclass
class Claim:
    kind: Literal["new", "own", "duplicate"]
    entry: dict[str, Any]

    @property
    def investigation_id(self) -> str:
        return str(self.entry["investigation_id"])


class SignatureIndex:
    def __init__(self, js: JetStreamContext, names: Names, max_retries: int = 50) -> None:
        self.js, self.names, self.max_retries = js, names, max_retries
        self.kv: KeyValue | None = None

    async def open(self) -> SignatureIndex:
        self.kv = await self.js.key_value(self.names.signature_bucket)
        return self

    async def get(self, signature: str) -> dict[str, Any] | None:
        assert self.kv is not None
        try:
            entry = await self.kv.get(signature)
        except KeyNotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    async def claim(self, report: ErrorReport, source: tuple[str, int]) -> Claim:
        assert self.kv is not None
        sig = report.signature
        entry = {
            "investigation_id": investigation_id_for(sig),
            "signature": sig,
            "service": report.service,
            "environment": report.environment,
            "occurrences": 1,
            "status": "open",
            "source_stream": source[0],
            "source_seq": source[1],
            "opened_at": utcnow().isoformat(),
        }
        try:
            await self.kv.create(sig, json.dumps(entry).encode())
            return Claim("new", entry)
        except KeyWrongLastSequenceError:
            pass
        for attempt in range(self.max_retries):
            current = await self.kv.get(sig)
            data = json.loads(current.value)
            if _source(data) == source:
                return Claim("own", data)
            data["occurrences"] = int(data.get("occurrences", 1)) + 1
            data["last_seen_at"] = utcnow().isoformat()
            reopen = data.get("status") == "dead_lettered"
            if reopen:  # its opening report could not be processed: this occurrence takes the investigation over
                data.update(status="open", source_stream=source[0], source_seq=source[1])
            try:
                await self.kv.update(sig, json.dumps(data).encode(), last=current.revision)
                return Claim("own" if reopen else "duplicate", data)
            except KeyWrongLastSequenceError:
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise ConflictRetriesExhausted(f"signature {sig[:12]}: occurrence count lost {self.max_retries} races")

    async def _change(self, signature: str, change: Callable[[dict[str, Any]], bool], what: str) -> None:
        """Compare-and-set an entry: `change` edits it in place and says whether to write at all."""
        assert self.kv is not None
        for attempt in range(self.max_retries):
            try:
                current = await self.kv.get(signature)
            except KeyNotFoundError:
                return  # no entry: nothing to change
            data = json.loads(current.value)
            if not change(data):
                return
            try:
                await self.kv.update(signature, json.dumps(data).encode(), last=current.revision)
                return
            except KeyWrongLastSequenceError:
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise ConflictRetriesExhausted(f"signature {signature[:12]}: {what} lost {self.max_retries} races")

    async def transfer(self, signature: str, old: tuple[str, int], new: tuple[str, int]) -> None:
        """A re-published copy of the holding report takes over its claim (only from the holder)."""

        def change(data: dict[str, Any]) -> bool:
            if _source(data) != tuple(old):
                return False
            data.update(source_stream=new[0], source_seq=new[1])
            return True

        await self._change(signature, change, "transfer")

    async def mark_dead_lettered(self, signature: str, source: tuple[str, int]) -> None:
        """The report that holds this signature's investigation was dead-lettered: let the next
        occurrence reopen it. Only the holder (same stream and sequence) may do so."""

        def change(data: dict[str, Any]) -> bool:
            if _source(data) != tuple(source) or data.get("status") != "open":
                return False
            data["status"] = "dead_lettered"
            return True

        await self._change(signature, change, "dead-letter mark")

    async def set_status(self, signature: str, status: str) -> None:
        """Mark a signature's investigation (no entry yet: nothing to mark)."""

        def change(data: dict[str, Any]) -> bool:
            data["status"] = status
            return True

        await self._change(signature, change, "status update")


def _source(entry: dict[str, Any]) -> tuple[Any, Any]:
    """The report (stream, sequence) that holds the signature's investigation."""
    return entry.get("source_stream"), entry.get("source_seq")
