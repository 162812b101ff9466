"""The picklable calls between actors: an investigation for an orchestrator, a phase for an agent host.

    req = InvestigationRequest(investigation_id=inv, signature=report.signature, report=report.model_dump(mode="json"))
    outcome = await orchestrators.call("investigate", req)
    PhaseRequest.of(req, key, cycle=1, inputs=PhaseInputs(phase="plan"), budget_usd=2.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from swarm.runtime.cycle import PhaseInputs

__all__ = ["InvestigationRequest", "PhaseRequest"]


@dataclass
class InvestigationRequest:
    investigation_id: str
    signature: str
    report: dict[str, Any]
    kind: str = "error"
    trace: dict[str, str] = field(default_factory=dict)
    occurrences: int = 1
    repository: dict[str, Any] | None = None
    previous_investigation_id: str | None = None  # the closed investigation of this signature it reopens
    regression: bool = False  # that one had fixed it


@dataclass
class PhaseRequest:
    """One agent call for one phase (the AgentContext minus live handles)."""

    investigation_id: str
    key: str
    phase: str
    cycle: int
    report: dict[str, Any]
    signature: str
    kind: str = "error"
    plan: dict[str, Any] = field(default_factory=dict)
    hypothesis: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    implementation: dict[str, Any] = field(default_factory=dict)
    feedback: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    repository: dict[str, Any] | None = None
    trace: dict[str, str] = field(default_factory=dict)
    budget_usd: float = float("inf")
    lease: str | None = None  # the caller's lease token: a phase write is refused unless it still holds it
    state: tuple[int, bytes] | None = None  # (revision, value) of the state as the caller last saw it
    # the investigation's spend so far as the caller knows it (None: ask the budget); after the call,
    # `run_phase` leaves the spend the agent's Budget ended with here
    spent_usd: float | None = None

    @classmethod
    def of(
        cls, req: InvestigationRequest, key: str, cycle: int, inputs: PhaseInputs, budget_usd: float,
        lease: str | None = None, state: tuple[int, bytes] | None = None, spent_usd: float | None = None,
    ) -> PhaseRequest:
        return cls(
            investigation_id=req.investigation_id,
            key=key,
            phase=inputs.phase,
            cycle=cycle,
            report=req.report,
            signature=req.signature,
            kind=req.kind,
            plan=inputs.plan,
            hypothesis=inputs.hypothesis,
            findings=inputs.findings,
            implementation=inputs.implementation,
            feedback=inputs.feedback,
            history=inputs.history,
            repository=req.repository,
            trace=req.trace,
            budget_usd=budget_usd,
            lease=lease,
            state=state,
            spent_usd=spent_usd,
        )
