"""PEER state in JetStream KV: compare-and-set updates, validation, ownership, recovery.

from swarm.state import PeerState, PeerStateStore, Status
store = PeerStateStore(bus)
rev = await store.create(PeerState.new("inv-1", "error", 1, status=Status.PLANNING))
"""

from swarm.state.model import (
    ROLE_AREAS,
    ROLES,
    Metadata,
    PeerState,
    Phase,
    PhaseName,
    Phases,
    PhaseStatus,
    Status,
    changed_areas,
    check_ownership,
    parse_key,
)
from swarm.state.store import DoctorReport, Finding, HistoryEntry, PeerStateStore, Transform
from swarm.state.watch import StateChange, StateWatch

__all__ = [
    "PeerState",
    "Metadata",
    "Phases",
    "Phase",
    "PhaseName",
    "PhaseStatus",
    "Status",
    "ROLES",
    "ROLE_AREAS",
    "changed_areas",
    "check_ownership",
    "parse_key",
    "PeerStateStore",
    "Transform",
    "HistoryEntry",
    "Finding",
    "DoctorReport",
    "StateChange",
    "StateWatch",
]
