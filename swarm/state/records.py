"""What the store reports: history entries, doctor findings, counters. Plain data with `as_dict()`.

report = await store.doctor()
for f in report.findings:          # Finding(key, revision, problem, reason, last_valid_revision)
    print(f.key, f.problem, f.last_valid_revision)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from swarm.state.watch import Operation

__all__ = ["HistoryEntry", "Finding", "DoctorReport", "StoreStats"]


@dataclass
class HistoryEntry:
    revision: int
    time: datetime | None
    operation: Operation
    valid: bool
    size: int
    reason: str | None = None  # why the value is not a valid PeerState

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "time": self.time.isoformat() if self.time else None,
            "operation": self.operation,
            "valid": self.valid,
            "size": self.size,
            "reason": self.reason,
        }


@dataclass
class Finding:
    """A key whose latest revision is not a readable state."""

    key: str
    revision: int
    problem: Literal["corrupt", "deleted", "purged"]
    reason: str
    last_valid_revision: int | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DoctorReport:
    checked: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "healthy": self.healthy, "findings": [f.as_dict() for f in self.findings]}


@dataclass
class StoreStats:
    reads: int = 0
    writes: int = 0
    conflicts: int = 0  # CAS writes that lost to another writer and were retried
    stale: int = 0  # optimistic writes on a remembered revision that had moved on (then re-read)
