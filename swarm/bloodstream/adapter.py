"""The agents' EventPublisher (swarm.agent), bound to one investigation and actor.

events = bloodstream.for_investigation("inv-1", actor="research-0")
ctx = AgentContext(..., events=events)
await ctx.events.audit("git_commit", "swarm/fix/inv-1", "ok", {"files": 2})   # guaranteed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .publisher import Bloodstream

__all__ = ["InvestigationEvents"]


@dataclass
class InvestigationEvents:
    """EventPublisher (swarm.agent) for one investigation: what the runtime hands an agent."""

    bloodstream: Bloodstream
    investigation_id: str
    actor: str

    async def event(self, event_type: str, data: dict[str, Any]) -> None:
        await self.bloodstream.event(event_type, data, investigation_id=self.investigation_id)

    async def audit(self, action: str, target: str, outcome: str, details: dict[str, Any]) -> None:
        await self.bloodstream.audit(
            actor=self.actor,
            action=action,
            target=target,
            outcome=outcome,
            details=details,
            investigation_id=self.investigation_id,
        )

    async def brain_dead(self, brain: str, reason: str, attempts: int, fallback: str | None) -> None:
        await self.bloodstream.brain_dead(
            brain=brain, reason=reason, attempts=attempts, fallback=fallback, investigation_id=self.investigation_id
        )
        from swarm.comms.publisher import notice  # the general channel tells the humans watching, too

        await notice(self.bloodstream.bus, "brain_dead",
                     f"**{brain}** is dead after {attempts} attempt(s): {reason}; "
                     f"{'falling back to ' + fallback if fallback else 'no fallback'} ({self.investigation_id})",
                     {"brain": brain, "attempts": attempts, "fallback": fallback,
                      "investigation_id": self.investigation_id}, sender=self.actor)
