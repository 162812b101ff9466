"""The healer: acts on injuries marked auto_heal, and audits every action (guaranteed delivery).

    healer = Healer(bloodstream, restarter=runtime_restarter, state=PeerStateStore(bus))
    await healer.heal(injury)       # True when the action succeeded

- `service_down`: `restarter.restart(service)` (the runtime implements ActorRestarter for its roles)
- `state_corrupted`: `state.restore(key, last_valid_revision)` (swarm.state.PeerStateStore)

Each attempt, successful or not, becomes an Audit (actor "healer", action restart_actor or
restore_state, outcome ok / failed / skipped) with the injury id in its details.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol, runtime_checkable

from swarm.models import Injury

from .publisher import Bloodstream

__all__ = ["Healer", "ActorRestarter", "StateRestorer", "SERVICE_DOWN", "STATE_CORRUPTED"]

log = logging.getLogger("swarm.bloodstream.healer")

SERVICE_DOWN = "service_down"
STATE_CORRUPTED = "state_corrupted"


@runtime_checkable
class ActorRestarter(Protocol):
    """Implemented by the runtime: recreate the actor behind `service`; True when it is back."""

    async def restart(self, service: str) -> bool: ...


@runtime_checkable
class StateRestorer(Protocol):
    """swarm.state.PeerStateStore: write `revision`'s value again as the latest; returns the new revision."""

    async def restore(self, key: str, revision: int) -> int: ...


class Healer:
    def __init__(
        self,
        bloodstream: Bloodstream,
        *,
        restarter: ActorRestarter | None = None,
        state: StateRestorer | None = None,
        actor: str = "healer",
        action_timeout_s: float = 60.0,
    ) -> None:
        self.bloodstream, self.restarter, self.state = bloodstream, restarter, state
        self.actor, self.action_timeout_s = actor, action_timeout_s
        self.healed = 0
        self.failed = 0

    async def heal(self, injury: Injury) -> bool:
        """Act on one injury if it is marked auto_heal; every action (or refusal to act) is audited."""
        if not injury.auto_heal:
            return False
        if injury.injury_type == SERVICE_DOWN:
            ok = await self._restart(injury)
        elif injury.injury_type == STATE_CORRUPTED:
            ok = await self._restore(injury)
        else:
            await self._audit("heal", injury.affected_service, "skipped", injury, reason="no remedy for this type")
            return False
        if ok:
            self.healed += 1
        else:
            self.failed += 1
        return ok

    async def _restart(self, injury: Injury) -> bool:
        service = injury.affected_service
        if self.restarter is None:
            await self._audit("restart_actor", service, "skipped", injury, reason="no actor restarter configured")
            return False
        try:
            ok = bool(await asyncio.wait_for(self.restarter.restart(service), self.action_timeout_s))
        except Exception as exc:  # a failing restarter is an outcome to audit, not a crash of the monitor
            log.warning("restarting %s failed: %r", service, exc)
            await self._audit("restart_actor", service, "failed", injury, error=repr(exc))
            return False
        await self._audit("restart_actor", service, "ok" if ok else "failed", injury)
        return ok

    async def _restore(self, injury: Injury) -> bool:
        key = injury.details.get("key")
        revision = injury.details.get("last_valid_revision")
        target = str(key or injury.affected_service)
        if self.state is None or not key or revision is None:
            reason = "no state store configured" if self.state is None else "no valid revision to restore"
            await self._audit("restore_state", target, "skipped", injury, reason=reason)
            return False
        try:
            new_revision = await asyncio.wait_for(self.state.restore(key, int(revision)), self.action_timeout_s)
        except Exception as exc:  # e.g. the key changed meanwhile: audited, retried on the next doctor run
            log.warning("restoring %s to revision %s failed: %r", key, revision, exc)
            await self._audit("restore_state", target, "failed", injury, restored_revision=revision, error=repr(exc))
            return False
        await self._audit(
            "restore_state", target, "ok", injury, restored_revision=revision, new_revision=int(new_revision)
        )
        return True

    async def _audit(self, action: str, target: str, outcome: str, injury: Injury, **details: Any) -> None:
        await self.bloodstream.audit(
            actor=self.actor,
            action=action,
            target=target,
            outcome=outcome,
            details={"injury_id": injury.injury_id, "injury_type": injury.injury_type, **details},
        )
