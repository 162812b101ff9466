"""Ingest: the durable `comms-ingest` pull consumer on `{NS}_AGENT_COMMS` writes Postgres.

    ingest = CommsIngest(bus, database_url)
    await ingest.run(stop_event)          # until stop_event is set; or:
    stored = await ingest.step()          # one fetch: store the batch, then ack it

A batch is stored in one transaction and acked only after the commit; a row whose (namespace,
stream sequence) is stored already is skipped, so a redelivery (an ack lost, a crash between commit
and ack) stores nothing twice. Postgres down: nothing is acked, the batch is nak'ed with a delay, and
the consumer waits (backing off) until Postgres answers again; JetStream keeps every message (the
consumer's max_deliver is unlimited), so nothing is lost. A payload that is not an AgentMessage, or a
row Postgres refuses for its data (a NaN in `data`: JSONB has no NaN), is dead-lettered to
`{ns}.dead.comms` with the reason and acked; the rest of its batch is stored. NUL characters are stored
as U+FFFD (see `records.message_record`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from typing import Any

import nats.errors
import nats.js.errors
import psycopg
from nats.aio.msg import Msg

from swarm.bus.connect import Bus
from swarm.errors import ConfigError, InvalidInput
from swarm.models import DeadLetter

from .db import PG_ERRORS, ROW_ERRORS, CommsStore, connect
from .records import message_record

__all__ = ["CommsIngest", "IngestCounters", "ingest_floor"]

log = logging.getLogger("swarm.comms")


@dataclass
class IngestCounters:
    stored: int = 0
    duplicates: int = 0  # redeliveries of rows already stored
    dead_lettered: int = 0
    postgres_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def ingest_floor(bus: Bus) -> int:
    """The stream sequence up to which every comms message is stored in Postgres (the consumer's ack
    floor); 0 when the ingest consumer does not exist."""
    try:
        info = await bus.js.consumer_info(bus.names.comms_stream, bus.names.comms_consumer)
    except nats.js.errors.NotFoundError:
        return 0
    return int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0


def _pg_reason(exc: psycopg.Error) -> str:
    diag = exc.diag
    primary = diag.message_primary or str(exc).strip().splitlines()[0]
    return f"{primary} ({diag.message_detail})" if diag.message_detail else primary


class CommsIngest:
    """One ingest worker; several may share the durable consumer (each message goes to one)."""

    def __init__(self, bus: Bus, url: str, batch: int = 100, fetch_timeout_s: float = 1.0,
                 max_backoff_s: float = 5.0) -> None:
        self.bus, self.url, self.batch = bus, url, batch
        self.fetch_timeout_s, self.max_backoff_s = fetch_timeout_s, max_backoff_s
        self.counters = IngestCounters()
        self.postgres_up = True
        self._sub: Any = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._backoff = 0.2

    async def _subscription(self) -> Any:
        if self._sub is None:
            try:
                self._sub = await self.bus.js.pull_subscribe_bind(
                    durable=self.bus.names.comms_consumer, stream=self.bus.names.comms_stream
                )
            except nats.js.errors.NotFoundError as exc:
                raise ConfigError(
                    f"consumer {self.bus.names.comms_consumer} of {self.bus.names.comms_stream} is missing: "
                    "run `swarm streams provision`"
                ) from exc
        return self._sub

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await connect(self.url)
        return self._conn

    async def step(self) -> int:
        """Fetch one batch and store it; returns how many rows were new (0 on an empty fetch)."""
        sub = await self._subscription()
        try:
            msgs: list[Msg] = await sub.fetch(self.batch, timeout=self.fetch_timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            return 0
        records, bad = [], []
        for m in msgs:
            try:
                records.append((m, message_record(self.bus.names, m.subject, m.metadata.sequence.stream, m.data)))
            except InvalidInput as exc:
                bad.append((m, str(exc)))
        try:
            new, kept, refused = await self._store(await self._connection(), records)
        except (*PG_ERRORS, ConfigError) as exc:
            await self._postgres_down(msgs, exc)
            return 0
        if not self.postgres_up:
            log.warning("Postgres is back: ingest resumes")
        self.postgres_up, self._backoff = True, 0.2
        self.counters.stored += new
        self.counters.duplicates += len(kept) - new
        for m, reason in bad + refused:
            await self._dead_letter(m, reason)
        for m in kept:
            await m.ack()
        return new

    async def _store(self, conn: psycopg.AsyncConnection[Any], records: list[tuple[Msg, dict[str, Any]]]) -> tuple[
        int, list[Msg], list[tuple[Msg, str]]
    ]:
        """Insert the batch in one transaction; returns how many rows were new, the messages stored (or
        stored already), and those Postgres refused with the reason, to dead-letter."""
        new, kept, refused = 0, [], []
        async with conn.transaction():
            for m, record in records:
                try:
                    # a savepoint: a row Postgres refuses (its data, not the server) is rolled back alone,
                    # so one bad row can never hold back the batch behind it
                    async with conn.transaction():
                        new += await CommsStore.insert(conn, record)
                except ROW_ERRORS as exc:
                    refused.append((m, f"Postgres refused the message on {m.subject}: {_pg_reason(exc)}"))
                else:
                    kept.append(m)
        return new, kept, refused

    async def _postgres_down(self, msgs: list[Msg], exc: Exception) -> None:
        self.counters.postgres_errors += 1
        if self.postgres_up:
            log.warning("Postgres unavailable (%s): not acking; messages stay in JetStream", exc)
        self.postgres_up = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
        for m in msgs:  # redeliver soon after Postgres is back, rather than after ack_wait
            with contextlib.suppress(Exception):
                await m.nak(delay=self._backoff)
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, self.max_backoff_s)

    async def _dead_letter(self, m: Msg, reason: str) -> None:
        meta = m.metadata
        letter = DeadLetter.bounded(  # under the server's max payload, whatever the message's size
            m.data, max_bytes=self.bus.payload_room(), reason=reason, source_subject=m.subject,
            source_stream=meta.stream, source_sequence=meta.sequence.stream, deliveries=meta.num_delivered,
        )
        await self.bus.publish(
            self.bus.names.dead("comms"), letter,
            msg_id=self.bus.names.dead_letter_msg_id(meta.stream, meta.sequence.stream),
        )
        self.counters.dead_lettered += 1
        await m.ack()

    async def run(self, stop: asyncio.Event | None = None) -> IngestCounters:
        """Ingest until `stop` is set (or cancelled)."""
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError,
                        nats.errors.NoRespondersError) as exc:
                    log.warning("NATS unavailable for ingest: %s", exc)
                    await asyncio.sleep(0.5)
        finally:
            await self.close()
        return self.counters

    async def caught_up(self) -> bool:
        """True when every message of the stream is stored (nothing pending, nothing unacked)."""
        info = await self.bus.js.consumer_info(self.bus.names.comms_stream, self.bus.names.comms_consumer)
        return info.num_pending == 0 and info.num_ack_pending == 0

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
