"""The PEER state of one investigation cycle, and who may change which part of it.

    >>> s = PeerState.new("inv-1", "error", 1, signature="ab12", service="api")
    >>> s.key
    'peer.error.inv-1.cycle.1'
    >>> s.metadata.status, s.phases.plan.status
    (<Status.NEW: 'NEW'>, <PhaseStatus.PENDING: 'PENDING'>)
    >>> changed_areas(s, s.model_copy(deep=True))
    set()

Values are stored as JSON in the `{NS}_PEER_STATE` bucket under `peer.<kind>.<id>.cycle.<n>`.
The model forbids unknown fields, so a typo in a path (`metadata.stauts`) is an error, not a new field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from swarm.bus.names import Names
from swarm.errors import InvalidInput, OwnershipViolation, StateCorrupted

__all__ = [
    "Status",
    "PhaseName",
    "PhaseStatus",
    "Phase",
    "Phases",
    "Metadata",
    "PeerState",
    "ROLE_AREAS",
    "ROLES",
    "AREAS",
    "changed_areas",
    "check_ownership",
    "parse_key",
    "validate_stored",
]

# A KV key token: what NATS KV accepts in a key, minus the '.' that separates tokens.
TOKEN_PATTERN = r"^[-/_=a-zA-Z0-9]+$"


class Status(StrEnum):
    NEW = "NEW"
    PLANNING = "PLANNING"
    EXECUTING = "EXECUTING"
    EXPRESSING = "EXPRESSING"
    REVIEWING = "REVIEWING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # a fix waits for an operator (swarm.delivery.approval)
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class PhaseName(StrEnum):
    PLAN = "plan"
    EXECUTE = "execute"
    EXPRESS = "express"
    REVIEW = "review"


class PhaseStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


def _now() -> datetime:
    return datetime.now(UTC)


class _Strict(BaseModel):
    # forbid: an unknown field in a stored value or an update is an error, never silently kept
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Phase(_Strict):
    status: PhaseStatus = PhaseStatus.PENDING
    started_at: datetime | None = None
    completed_at: datetime | None = None
    owner: str | None = None  # the actor that works on this phase
    output: JsonValue = Field(default_factory=dict)  # free JSON written by the phase's role


class Phases(_Strict):
    plan: Phase = Field(default_factory=Phase)
    execute: Phase = Field(default_factory=Phase)
    express: Phase = Field(default_factory=Phase)
    review: Phase = Field(default_factory=Phase)


class Metadata(_Strict):
    investigation_id: str = Field(pattern=TOKEN_PATTERN)
    kind: str = Field(pattern=TOKEN_PATTERN)
    cycle: int = Field(ge=1)
    status: Status = Status.NEW
    current_phase: PhaseName | None = None
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    updated_by: str = "operator"
    # what the runtime needs beside the PEER phases
    signature: str | None = None
    service: str | None = None
    environment: str | None = None
    occurrences: int = Field(default=1, ge=0)
    owner: str | None = None  # the actor holding the investigation
    lease_expires_at: datetime | None = None
    extra: dict[str, JsonValue] = Field(default_factory=dict)


class PeerState(_Strict):
    """One investigation cycle: metadata plus the four PEER phases."""

    schema_version: int = 1
    metadata: Metadata
    phases: Phases = Field(default_factory=Phases)

    @model_validator(mode="after")
    def _times(self) -> PeerState:
        if self.metadata.updated_at < self.metadata.created_at:
            raise ValueError("metadata.updated_at is before metadata.created_at")
        return self

    @classmethod
    def new(
        cls,
        investigation_id: str,
        kind: str = "error",
        cycle: int = 1,
        *,
        status: Status | str = Status.NEW,
        updated_by: str = "operator",
        **metadata: Any,
    ) -> PeerState:
        """A fresh state; extra keywords are Metadata fields (signature, service, owner, extra ...)."""
        now = _now()
        return cls(
            metadata=Metadata(
                investigation_id=investigation_id,
                kind=kind,
                cycle=cycle,
                status=Status(status),
                created_at=now,
                updated_at=now,
                updated_by=updated_by,
                **metadata,
            )
        )

    @property
    def key(self) -> str:
        m = self.metadata
        return Names.peer_key(m.kind, m.investigation_id, m.cycle)

    def phase(self, name: PhaseName | str) -> Phase:
        return getattr(self.phases, PhaseName(name).value)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def parse_key(key: str) -> tuple[str, str, int]:
    """`peer.<kind>.<id>.cycle.<n>` -> (kind, id, n), or InvalidInput naming what is wrong."""
    parts = key.split(".")
    if len(parts) != 5 or parts[0] != "peer" or parts[3] != "cycle" or not parts[4].isdigit():
        raise InvalidInput(f"invalid PEER key {key!r}: expected peer.<kind>.<investigation id>.cycle.<n>")
    try:
        Metadata(investigation_id=parts[2], kind=parts[1], cycle=int(parts[4]))
    except ValueError as exc:
        raise InvalidInput(f"invalid PEER key {key!r}: {exc}") from exc
    return parts[1], parts[2], int(parts[4])


def validate_stored(key: str, revision: int | None, data: bytes | None) -> PeerState:
    """Parse a stored value, or raise StateCorrupted naming key, revision and why it is not a state."""
    if not data:
        raise StateCorrupted(key, revision, "empty value")
    try:
        state = PeerState.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "value"
        kind = "not JSON" if first["type"] == "json_invalid" else "not a valid PeerState"
        raise StateCorrupted(key, revision, f"{kind}: {where}: {first['msg']} ({exc.error_count()} error(s))") from exc
    if state.key != key:
        raise StateCorrupted(key, revision, f"value belongs to key {state.key!r}")
    return state


# Ownership ----------------------------------------------------------------------------------
AREAS: tuple[str, ...] = ("schema_version", "metadata", *(f"phases.{p.value}" for p in PhaseName))
ROLE_AREAS: dict[str, frozenset[str]] = {
    "orchestrator": frozenset({"metadata", "phases.plan", "phases.express"}),
    "research": frozenset({"metadata", "phases.execute"}),
    "implement": frozenset({"metadata", "phases.execute"}),
    "review": frozenset({"metadata", "phases.review"}),
    "operator": frozenset(AREAS),
}
ROLES: tuple[str, ...] = tuple(ROLE_AREAS)


def changed_areas(before: PeerState, after: PeerState) -> set[str]:
    """The ownership areas (`metadata`, `phases.plan`, ...) whose content differs (models compare field by
    field, as their JSON would: no dump of either state)."""
    out = {area for area in ("schema_version", "metadata") if getattr(before, area) != getattr(after, area)}
    return out | {f"phases.{p.value}" for p in PhaseName
                  if getattr(before.phases, p.value) != getattr(after.phases, p.value)}


def check_ownership(role: str, before: PeerState, after: PeerState) -> set[str]:
    """Return the changed areas, or raise OwnershipViolation if `role` may not change one of them."""
    if role not in ROLE_AREAS:
        raise InvalidInput(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    changed = changed_areas(before, after)
    refused = sorted(changed - ROLE_AREAS[role])
    if refused:
        allowed = ", ".join(sorted(ROLE_AREAS[role]))
        raise OwnershipViolation(
            f"role {role!r} may not change {', '.join(refused)} of {before.key} (it may change: {allowed})"
        )
    return changed
