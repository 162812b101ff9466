"""The PEER cycle in-process: the same table (swarm.runtime.cycle) as the runtime, without NATS or Ray.

    events, messages = RecordingEvents(), RecordingMessages()
    out = await run_in_process(report, repository, config, events=events, messages=messages)
    out["express"]["status"], out["review"]["verdict"], out["cycles"]

For tests and `swarm bench fixes`. The agents are the ones `config["roles"]` names (or, for a config
without roles, configs/swarm.yaml's). The recorders implement the EventPublisher and
MessagePublisher protocols of swarm.agent by keeping what they are given; they are not stand-ins for
NATS. Nothing is stored: resuming, leases and results are the runtime's (OrchestratorActor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from swarm.agent import AgentContext, Budget
from swarm.bus.settings import DEFAULT_CONFIG_DIR
from swarm.config import ROLES, SwarmConfig, load_object
from swarm.models import ErrorReport, new_id
from swarm.runtime.cycle import CycleOutputs, PhaseInputs, Step, merge_output, run_cycles

__all__ = ["RecordingEvents", "RecordingMessages", "LocalCycle", "run_in_process", "context"]


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


def context(report: ErrorReport, repository: dict[str, Any] | None, config: dict[str, Any], *, role: str,
            phase: str, investigation_id: str, cycle: int = 1, **fields: Any) -> AgentContext:
    """An AgentContext as the runtime would build it."""
    return AgentContext(investigation_id=investigation_id, role=role, phase=phase, cycle=cycle,  # type: ignore[arg-type]
                        report=report, signature=report.signature, repository=repository, config=config, **fields)


def _agents(config: dict[str, Any]) -> dict[str, tuple[Any, dict[str, Any]]]:
    roles = config.get("roles") or SwarmConfig.load(DEFAULT_CONFIG_DIR / "swarm.yaml").model_dump()["roles"]
    return {role: (load_object(roles[role]["agent"]), dict(roles[role].get("options") or {})) for role in ROLES}


class LocalCycle:
    """The CycleHost in-process: agents called directly, outputs kept in memory in the PEER shape."""

    def __init__(self, report: ErrorReport, repository: dict[str, Any] | None, config: dict[str, Any], *,
                 investigation_id: str, options: dict[str, Any] | None = None, **handles: Any) -> None:
        self.report, self.repository, self.config, self.inv = report, repository, config, investigation_id
        self.agents, self.options, self.handles = _agents(config), options, handles  # events, messages, budget
        self.cycle, self.stored, self.done, self.feedback = 1, {}, set(), None  # type: ignore[var-annotated]
        self.trail: list[tuple[str, Any]] = []  # the runtime's status updates and events, in order

    async def history(self) -> list[dict[str, Any]]:
        return []

    async def outputs(self) -> CycleOutputs:
        return CycleOutputs.of(self.cycle, self.stored, frozenset(self.done), self.feedback)

    async def call(self, step: Step, inputs: PhaseInputs) -> dict[str, Any]:
        cls, role_options = self.agents[step.role]
        agent = cls(self.options if self.options is not None else role_options)
        fields = {k: v for k, v in vars(inputs).items() if k != "phase"}
        ctx = context(self.report, self.repository, self.config, role=step.role, phase=step.phase,
                      investigation_id=self.inv, cycle=self.cycle, **fields, **self.handles)
        output = step.output.parse(await agent.handle(ctx))
        self.stored[step.phase] = merge_output(step.role, inputs.hypothesis, self.stored.get(step.phase), output)
        if step.closes_phase:
            self.done.add(step.phase)
        return output

    async def skip(self, step: Step, output: dict[str, Any]) -> None:
        self.stored[step.phase] = output
        self.done.add(step.phase)

    async def status(self, detail: str) -> None:
        self.trail.append(("status", detail))

    async def event(self, event_type: str, data: dict[str, Any]) -> None:
        self.trail.append((event_type, data))

    async def next_cycle(self, feedback: str) -> None:
        self.cycle, self.stored, self.done, self.feedback = self.cycle + 1, {}, set(), feedback


async def run_in_process(
    report: ErrorReport,
    repository: dict[str, Any] | None,
    config: dict[str, Any],
    *,
    events: RecordingEvents | None = None,
    messages: RecordingMessages | None = None,
    investigation_id: str | None = None,
    options: dict[str, Any] | None = None,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """The cycles of CYCLE until the stop rule says done; the last cycle's outputs by phase and role."""
    inv = investigation_id or new_id("inv-")
    host = LocalCycle(report, repository, config, investigation_id=inv, options=options, events=events,
                      messages=messages, budget=budget or Budget())
    max_cycles = int((config.get("orchestration") or {}).get("max_cycles", 3))
    out = await run_cycles(host, max_cycles)
    return {"investigation_id": inv, "plan": out.plan.dump(), "research": out.findings,
            "implement": out.implement.dump(), "express": out.express.dump(), "review": out.review.dump(),
            "cycles": out.cycle, "trail": host.trail}
