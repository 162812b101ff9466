"""The event feed behind SSE: history from Postgres, then live from NATS, with no gap and no duplicate.

    async for record in message_feed(bus, store, run_id="inv-1", last_id=41):
        ...   # every message of run inv-1 with id (stream sequence) > 41, oldest first, then live

How "no gap, no duplicate" holds: the ingest consumer acks a message only after Postgres committed
it, so every message up to the consumer's ack floor F is in Postgres. The feed reads Postgres for
ids in (last_id, F], then follows an ordered JetStream consumer on the channel's subjects from
max(last_id, F) + 1. Ids are stream sequences, strictly increasing on both sides; anything at or
below the last id sent is skipped. With no ingest running (F = 0) NATS serves everything.

An event's data is strict JSON (`event_json`): an agent message may carry NaN or an infinity in `data`
(valid to pydantic, which reads Python's `NaN` / `Infinity`), which JSON has no literal for and the
browser's `JSON.parse` refuses; they are sent as null, as `JSON.stringify` does. The event's `html` is
rendered from the message as sent, so a person still reads `NaN` there. Such a message is live only:
Postgres refuses it (JSONB has no NaN) and the ingest dead-letters it, so history never serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator
from typing import Any

from nats.js import api as js_api

from swarm.bus.connect import Bus
from swarm.errors import InvalidInput

from .db import CommsStore
from .ingest import ingest_floor
from .records import message_record

__all__ = ["message_feed", "sse_frame", "parse_last_id", "event_json"]

PAGE = 500


def parse_last_id(value: str | None) -> int:
    """A `Last-Event-ID` (a stream sequence); InvalidInput for anything else."""
    if value is None or value == "":
        return 0
    if not value.isdigit():
        raise InvalidInput(f"Last-Event-ID must be a message id (a positive integer), got {value[:40]!r}")
    return int(value)


async def message_feed(
    bus: Bus, store: CommsStore, *, run_id: str | None, last_id: int = 0, queue_size: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Records of one run (or the general channel when `run_id` is None) after `last_id`, forever."""
    subject = bus.names.comms_run_all(run_id) if run_id is not None else bus.names.comms_general_all
    floor = await ingest_floor(bus)
    sent = last_id
    while sent < floor:  # history: what Postgres is known to hold
        page = await store.messages(run_id, after=sent, limit=PAGE, upto=floor)
        for record in page:
            yield record
            sent = record["id"]
        if len(page) < PAGE:
            break
    start = max(sent, floor) + 1
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)

    async def on_msg(msg: Any) -> None:
        await queue.put(msg)

    sub = await bus.js.subscribe(
        subject,
        cb=on_msg,
        ordered_consumer=True,
        config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start),
    )
    try:
        while True:
            msg = await queue.get()
            seq = msg.metadata.sequence.stream
            if seq <= sent:
                continue
            try:
                record = message_record(bus.names, msg.subject, seq, msg.data)
            except InvalidInput:
                continue  # dead-lettered by the ingest; not shown
            sent = seq
            yield record
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def event_json(value: Any) -> str:
    """`value` as JSON every parser reads: NaN, Infinity and -Infinity (which `json.dumps` would write as
    bare words) become null; anything JSON has no type for becomes its `str`."""
    try:
        return json.dumps(value, default=str, allow_nan=False)
    except ValueError:  # a non-finite float somewhere: rare, so the walk is paid only then
        return json.dumps(_finite(value), default=str, allow_nan=False)


def sse_frame(event_id: int | None, data: str, event: str | None = None) -> bytes:
    """One Server-Sent Events frame (multi-line data split as the spec requires)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()
