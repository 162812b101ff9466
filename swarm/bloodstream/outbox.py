"""A durable on-disk outbox (sqlite3 from the stdlib) for the guaranteed bloodstream kinds.

    box = Outbox(".swarm/outbox", "payments")         # file .swarm/outbox/outbox-payments.sqlite3
    seq = box.put("audit", "payments.hive.audit", "audit-1", b"{...}", {"traceparent": "..."})
    for item in box.peek(100):                         # oldest first
        ...publish item.data with Msg-Id item.msg_id...
        box.delete(item.seq)

Rows survive a crash or restart of the process (WAL journal, synchronous=FULL), and several
processes may share one file (sqlite locking): a row two replayers both send is dropped by
JetStream's duplicate window, since it carries the same Msg-Id. Methods are blocking and
thread-safe; the async publisher calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from swarm.errors import ConfigError

__all__ = ["Outbox", "OutboxItem"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    data BLOB NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
)
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    kind: str
    subject: str
    msg_id: str
    data: bytes
    headers: dict[str, str]
    created_at: float
    attempts: int
    last_error: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "subject": self.subject,
            "msg_id": self.msg_id,
            "bytes": len(self.data),
            "created_at": self.created_at,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


class Outbox:
    """One sqlite file per namespace under `directory`; opened lazily on first use."""

    def __init__(self, directory: str | Path, namespace: str) -> None:
        self.path = Path(directory) / f"outbox-{namespace}.sqlite3"
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a row the caller was told is stored must survive a crash
                db.execute(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise ConfigError(f"cannot open the bloodstream outbox {self.path}: {exc}") from exc
            self._db = db
        return self._db

    def put(self, kind: str, subject: str, msg_id: str, data: bytes, headers: dict[str, str]) -> int:
        """Store one message; returns its sequence (replay order)."""
        with self._lock:
            cur = self._conn().execute(
                "INSERT INTO outbox (kind, subject, msg_id, data, headers, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, subject, msg_id, data, json.dumps(headers), time.time()),
            )
            return int(cur.lastrowid or 0)

    def peek(self, limit: int = 100) -> list[OutboxItem]:
        """The oldest `limit` messages, in the order they were stored."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT seq, kind, subject, msg_id, data, headers, created_at, attempts, last_error "
                    "FROM outbox ORDER BY seq LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [
            OutboxItem(seq, kind, subject, msg_id, bytes(data), json.loads(headers), created, attempts, err)
            for seq, kind, subject, msg_id, data, headers, created, attempts, err in rows
        ]

    def delete(self, seq: int) -> None:
        with self._lock:
            self._conn().execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def failed_attempt(self, seq: int, error: str) -> None:
        with self._lock:
            self._conn().execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error[:500], seq)
            )

    def count(self) -> int:
        if self._db is None and not self.path.exists():
            return 0  # nothing was ever stored here: do not create the file just to count
        with self._lock:
            return int(self._conn().execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
