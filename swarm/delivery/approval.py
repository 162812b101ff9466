"""The approval gate: a fix waits in PEER state `AWAITING_APPROVAL` until an operator decides.

    gate = ApprovalGate(store, blood, key, investigation_id, timeout_s=3600, actor="orchestrator-0")
    decision = await gate.ask("push", target="swarm/fix/inv-1")   # waits; a timeout rejects
    await decide(store, names, "inv-1", approved=True, by="alice", reason="looks right")   # the operator

Per repository (`repositories.<service>.approval`): `auto` (no gate), `approve_push` (nothing leaves the
swarm before a decision), `approve_pr` (the branch is pushed, the pull request waits). The request and
the decision live in the investigation's latest PEER state (`metadata.extra.approval`), so `swarm
status` shows the investigation as AWAITING_APPROVAL and a redelivered investigation finds the decision
already taken. Every decision (approved, rejected, timed out) is audited on the bloodstream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from swarm.agent import Cancelled
from swarm.bloodstream.publisher import Bloodstream
from swarm.bus.names import Names
from swarm.errors import InvalidInput, StateNotFound
from swarm.models import utcnow
from swarm.state import PeerState, PeerStateStore
from swarm.state.model import Status

__all__ = ["ApprovalGate", "Decision", "decide", "latest_key", "GATES"]
log = logging.getLogger("swarm.delivery")

GATES = {"approve_push": "push", "approve_pr": "pr"}  # repository setting -> what waits for the decision
POLL_S = 0.25


@dataclass(frozen=True)
class Decision:
    approved: bool
    by: str
    reason: str = ""
    timed_out: bool = False

    def describe(self) -> str:
        if self.timed_out:
            return f"rejected: {self.reason}"
        verdict = "approved" if self.approved else "rejected"
        return f"{verdict} by {self.by}" + (f": {self.reason}" if self.reason else "")


async def latest_key(store: PeerStateStore, names: Names, investigation_id: str, kind: str = "error") -> str:
    """The PEER key of the investigation's latest cycle; StateNotFound if it has none."""
    cycle, found = 1, None
    while True:
        key = names.peer_key(kind, investigation_id, cycle)
        try:
            await store.read(key)
        except StateNotFound:
            break
        found, cycle = key, cycle + 1
    if found is None:
        raise StateNotFound(f"no PEER state for investigation {investigation_id!r}")
    return found


async def decide(store: PeerStateStore, names: Names, investigation_id: str, *, approved: bool, by: str,
                 reason: str = "") -> dict[str, Any]:
    """Record an operator's decision on an investigation that awaits approval (InvalidInput otherwise)."""
    key = await latest_key(store, names, investigation_id)
    state, _ = await store.read(key)
    if state.metadata.status != Status.AWAITING_APPROVAL:
        raise InvalidInput(f"{investigation_id} does not await approval (status {state.metadata.status.value})")

    def transform(s: PeerState) -> PeerState:
        approval = dict(s.metadata.extra.get("approval") or {})
        if s.metadata.status != Status.AWAITING_APPROVAL or approval.get("decision"):
            raise InvalidInput(f"{investigation_id} was decided already")
        approval["decision"] = {"approved": approved, "by": by, "reason": reason, "at": utcnow().isoformat()}
        s.metadata.extra = {**s.metadata.extra, "approval": approval}
        return s

    await store.update(key, transform, role="operator", actor=by)
    return {"investigation_id": investigation_id, "approved": approved, "by": by, "reason": reason,
            "gate": (state.metadata.extra.get("approval") or {}).get("gate")}


class ApprovalGate:
    """`cancelled()` says why an operator cancelled the investigation (None: not cancelled): a wait for the decision
    ends with `Cancelled` then, and a later approve finds nothing awaiting it."""

    def __init__(self, store: PeerStateStore, blood: Bloodstream, key: str, investigation_id: str, *,
                 timeout_s: float, actor: str, on_wait: Callable[[], Awaitable[Any]] | None = None,
                 cancelled: Callable[[], str | None] | None = None) -> None:
        self.store, self.blood, self.key, self.inv = store, blood, key, investigation_id
        self.timeout_s, self.actor, self.on_wait, self.cancelled = timeout_s, actor, on_wait, cancelled

    async def ask(self, gate: str, target: str, details: dict[str, Any] | None = None) -> Decision:
        """Put the investigation in AWAITING_APPROVAL for `gate` and wait for the decision (or the
        timeout, which rejects); the decision is audited."""
        approval = await self._request(gate, target, details or {})
        deadline = datetime.fromisoformat(approval["deadline"])
        if self.on_wait is not None:  # e.g. give back the swarm-wide budget slot: waiting costs nothing
            await self.on_wait()
        try:
            decision = await self._wait(gate, deadline)
        except Cancelled as exc:
            await self.blood.audit(actor="operator", action=f"approve_{gate}", target=target, outcome="cancelled",
                                   investigation_id=self.inv, details={"gate": gate, "reason": str(exc)})
            raise
        await self.blood.audit(
            actor=decision.by, action=f"approve_{gate}", target=target,
            outcome="timed_out" if decision.timed_out else ("approved" if decision.approved else "rejected"),
            investigation_id=self.inv, details={"gate": gate, "reason": decision.reason, **(details or {})},
        )
        await self.blood.event("approval_decided", {"gate": gate, "approved": decision.approved, "by": decision.by,
                                                    "timed_out": decision.timed_out}, investigation_id=self.inv)
        return decision

    async def _request(self, gate: str, target: str, details: dict[str, Any]) -> dict[str, Any]:
        now = utcnow()

        def transform(s: PeerState) -> PeerState:
            current = dict(s.metadata.extra.get("approval") or {})
            if current.get("gate") == gate:  # asked before this redelivery: keep its deadline and decision
                return s
            s.metadata.status = Status.AWAITING_APPROVAL
            s.metadata.extra = {**s.metadata.extra, "approval": {
                "gate": gate, "target": target, "requested_at": now.isoformat(),
                "deadline": (now + timedelta(seconds=self.timeout_s)).isoformat(), "decision": None, **details}}
            return s

        state, _ = await self.store.update(self.key, transform, role="orchestrator", actor=self.actor)
        approval = dict(state.metadata.extra["approval"])
        if approval.get("requested_at") == now.isoformat():
            # said where the operator looks (the driver's stderr, `ray job logs`): `swarm run --until-empty` waits
            log.warning("%s awaits approval to %s %s: swarm approve %s / swarm reject %s (swarm fixes show %s; "
                        "no decision by %s rejects it)", self.inv, gate, target, self.inv, self.inv, self.inv,
                        approval["deadline"])
            await self.blood.event("approval_requested", {"gate": gate, "target": target,
                                                          "deadline": approval["deadline"]}, investigation_id=self.inv)
        return approval

    async def _wait(self, gate: str, deadline: datetime) -> Decision:
        while True:
            state, _ = await self.store.read(self.key)
            decision = (state.metadata.extra.get("approval") or {}).get("decision")
            if decision:  # taken before a cancel came: the operator was told it is approved (or rejected)
                return Decision(bool(decision["approved"]), str(decision["by"]), str(decision.get("reason") or ""))
            if self.cancelled is not None and (why := self.cancelled()) is not None:
                raise Cancelled(why)
            if utcnow() >= deadline:
                return Decision(False, "swarm", f"no decision on the {gate} within {self.timeout_s:g}s", timed_out=True)
            await asyncio.sleep(POLL_S)
