"""Drive the four agents through PEER cycles in-process (tests and `swarm bench fixes`; the runtime uses Ray).

    events, messages = RecordingEvents(), RecordingMessages()
    out = await run_investigation(case.report, case.repository, config, events=events, messages=messages)
    out["express"]["status"], out["review"]["verdict"], out["cycles"]

The recorders implement the EventPublisher and MessagePublisher protocols of swarm.agent by
keeping what they are given; they are not stand-ins for NATS.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from agents.implement import ImplementAgent
from agents.orchestrator import OrchestratorAgent
from agents.research import ResearchAgent
from agents.review import ReviewAgent
from swarm.agent import AgentContext, Budget
from swarm.models import ErrorReport, new_id

__all__ = ["RecordingEvents", "RecordingMessages", "run_investigation", "context"]


@dataclass
class RecordingEvents:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    brain_deads: list[dict[str, Any]] = field(default_factory=list)

    async def event(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))

    async def audit(self, action: str, target: str, outcome: str, details: dict[str, Any]) -> None:
        self.audits.append({"action": action, "target": target, "outcome": outcome, "details": details})

    async def brain_dead(self, brain: str, reason: str, attempts: int, fallback: str | None) -> None:
        self.brain_deads.append({"brain": brain, "reason": reason, "attempts": attempts, "fallback": fallback})


@dataclass
class RecordingMessages:
    said: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    async def say(self, kind: str, content: str, data: dict[str, Any] | None = None) -> None:
        self.said.append((kind, content, data))


def context(report: ErrorReport, repository: dict[str, Any], config: dict[str, Any], *, role: str, phase: str,
            investigation_id: str, cycle: int = 1, **fields: Any) -> AgentContext:
    """An AgentContext as the runtime would build it."""
    return AgentContext(investigation_id=investigation_id, role=role, phase=phase, cycle=cycle,  # type: ignore[arg-type]
                        report=report, signature=report.signature, repository=repository, config=config, **fields)


async def run_investigation(
    report: ErrorReport,
    repository: dict[str, Any],
    config: dict[str, Any],
    *,
    events: RecordingEvents | None = None,
    messages: RecordingMessages | None = None,
    investigation_id: str | None = None,
    options: dict[str, Any] | None = None,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """plan -> research (parallel) -> implement -> express -> review, repeated while review asks for changes."""
    inv = investigation_id or new_id("inv-")
    options = options or {}
    budget = budget or Budget()
    max_cycles = int((config.get("orchestration") or {}).get("max_cycles", 3))
    history: list[dict[str, Any]] = []
    feedback: str | None = None
    common = {"events": events, "messages": messages, "budget": budget}
    out: dict[str, Any] = {}
    for cycle in range(1, max_cycles + 1):
        base = {"investigation_id": inv, "cycle": cycle, "history": list(history), "feedback": feedback, **common}
        plan = await OrchestratorAgent(options).handle(
            context(report, repository, config, role="orchestrator", phase="plan", **base))
        research = await asyncio.gather(*(
            ResearchAgent(options).handle(context(report, repository, config, role="research", phase="execute",
                                                  plan=plan, hypothesis=h, **base))
            for h in plan["hypotheses"]))
        impl = await ImplementAgent(options).handle(
            context(report, repository, config, role="implement", phase="execute", plan=plan,
                    findings=list(research), **base))
        express = await OrchestratorAgent(options).handle(
            context(report, repository, config, role="orchestrator", phase="express", plan=plan,
                    findings=list(research), implementation=impl, **base))
        review = await ReviewAgent(options).handle(
            context(report, repository, config, role="review", phase="review", plan=plan,
                    findings=list(research), implementation=impl, **base))
        out = {"investigation_id": inv, "plan": plan, "research": list(research), "implement": impl,
               "express": express, "review": review, "cycles": cycle}
        if review["verdict"] == "approve" or not (express.get("needs_another_cycle") or impl["status"] == "fixed"):
            break
        history.append({"cycle": cycle, "plan": plan, "implement": impl, "review": review})
        feedback = review["feedback"]
    return out
