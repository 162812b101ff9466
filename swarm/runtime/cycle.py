"""One PEER cycle as a table: which phases run, who runs them, what each reads, when a cycle repeats.

    out = await run_cycles(host, max_cycles=3)   # host: where the calls go (see CycleHost)
    out.express.status, out.review.verdict, out.cycle

`CYCLE` is the whole cycle. Each `Step` names its phase, the role that runs it, what of the cycle
so far its agent reads (besides `history` and `feedback`), the typed output it writes, and the
optional rule that skips it. `another_cycle` is the stop rule. Two hosts run the same table:
`OrchestratorActor` (Ray pools, PEER state in KV, resumable) and `LocalCycle` (in-process, for
tests and `swarm bench fixes`). A host only runs calls and stores outputs; it decides nothing.

Phase outputs are JSON in PEER state, typed here (`PlanOutput`, `ResearchOutput`, ...): the fields
the runtime reads are declared, every other key an agent returns (`repro`, `bisect`, `search`,
`fix_kind`, ...) is kept as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "PhaseOutput",
    "PlanOutput",
    "ResearchOutput",
    "ImplementOutput",
    "ExecuteOutput",
    "ExpressOutput",
    "ReviewOutput",
    "CycleOutputs",
    "PhaseInputs",
    "Step",
    "CYCLE",
    "STATUS_DETAIL",
    "CycleHost",
    "another_cycle",
    "merge_output",
    "run_cycle",
    "run_cycles",
    "step_for",
]

Role = Literal["orchestrator", "research", "implement", "review"]
PhaseName = Literal["plan", "execute", "express", "review"]


# -- typed phase outputs -------------------------------------------------------------------------
class PhaseOutput(BaseModel):
    """A phase output: the declared fields are what the runtime reads; other keys are kept."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def parse(cls, value: Any) -> dict[str, Any]:
        """Check an agent's output and return it as JSON (tuples become lists), nothing dropped."""
        return cls.model_validate(value if isinstance(value, dict) else {}).dump()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class PlanOutput(PhaseOutput):
    hypotheses: list[dict[str, Any]] = Field(default_factory=list)  # [{"id", "title", "detail", ...}]


class ResearchOutput(PhaseOutput):
    hypothesis: Any = None
    findings: list[Any] = Field(default_factory=list)
    suspects: list[Any] = Field(default_factory=list)
    repro: Any = None
    suspect_method: Any = None


class ImplementOutput(PhaseOutput):
    status: Any = None  # "fixed" | "no_fix"
    branch: Any = None
    fix_commit: Any = None
    suspect_commit: Any = None
    suspect_method: Any = None
    repro: Any = None
    tests_before: Any = None
    tests_after: Any = None
    regression_test: Any = None  # the test file committed with the fix (agents/regtest.py)


class ExecuteOutput(PhaseOutput):
    """execute is shared: research outputs side by side by hypothesis id, then implement's."""

    research: dict[str, Any] = Field(default_factory=dict)
    implement: dict[str, Any] | None = None


class ExpressOutput(ImplementOutput):
    root_cause: Any = None
    summary: Any = None
    needs_another_cycle: bool = False


class ReviewOutput(PhaseOutput):
    verdict: Any = None  # "approve" | "request_changes" | "skipped"
    reasons: list[Any] = Field(default_factory=list)
    feedback: Any = None
    tests: Any = None


@dataclass
class CycleOutputs:
    """What one cycle has produced so far (from PEER state, or in memory)."""

    cycle: int
    plan: PlanOutput = field(default_factory=PlanOutput)
    execute: ExecuteOutput = field(default_factory=ExecuteOutput)
    express: ExpressOutput = field(default_factory=ExpressOutput)
    review: ReviewOutput = field(default_factory=ReviewOutput)
    done: frozenset[str] = frozenset()  # phases finished (or skipped): a resumed cycle skips them
    feedback: str | None = None  # what the previous cycle asked for

    @classmethod
    def of(cls, cycle: int, outputs: dict[str, Any], done: frozenset[str] = frozenset(),
           feedback: str | None = None) -> CycleOutputs:
        def typed(model: type[PhaseOutput], phase: str) -> Any:
            value = outputs.get(phase)
            return model.model_validate(value if isinstance(value, dict) else {})

        return cls(cycle, typed(PlanOutput, "plan"), typed(ExecuteOutput, "execute"), typed(ExpressOutput, "express"),
                   typed(ReviewOutput, "review"), done, feedback)

    @property
    def implement(self) -> ImplementOutput:
        return ImplementOutput.model_validate(self.execute.implement or {})

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Research outputs in the plan's order of hypotheses (then any others)."""
        research = dict(self.execute.research)
        ordered = [research.pop(str(h.get("id"))) for h in self.plan.hypotheses if str(h.get("id")) in research]
        return ordered + list(research.values())

    def record(self) -> dict[str, Any]:
        """What a later cycle sees of this one (the agents skip suspects already tried)."""
        return {"cycle": self.cycle, "execute": self.execute.dump(), "express": self.express.dump(),
                "review": self.review.dump()}


# -- the table -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseInputs:
    """What an agent call reads (besides the report): the `AgentContext` fields the cycle fills."""

    phase: PhaseName
    plan: dict[str, Any] = field(default_factory=dict)
    hypothesis: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    implementation: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    feedback: str | None = None


def _has_fix(out: CycleOutputs) -> bool:
    impl = out.implement
    return bool(impl.branch) or impl.status == "fixed"


def _fix_committed(out: CycleOutputs) -> tuple[str, dict[str, Any]] | None:
    impl = out.implement
    return ("fix_committed", {"branch": impl.branch, "fix_commit": impl.fix_commit}) if impl.fix_commit else None


def _review_verdict(out: CycleOutputs) -> tuple[str, dict[str, Any]] | None:
    approved = out.review.verdict == "approve"
    return ("review_approved" if approved else "review_rejected"), {"cycle": out.cycle, "reasons": out.review.reasons}


@dataclass(frozen=True)
class Step:
    phase: PhaseName
    role: Role
    reads: tuple[str, ...]  # of this cycle: "plan", "findings", "implementation"
    output: type[PhaseOutput]
    fan_out: bool = False  # one call per plan hypothesis not researched yet, side by side
    closes_phase: bool = True  # research leaves execute running: implement closes it
    runs_if: Callable[[CycleOutputs], bool] | None = None
    skipped: dict[str, Any] | None = None  # recorded (phase SKIPPED) when runs_if says no
    event: Callable[[CycleOutputs], tuple[str, dict[str, Any]] | None] | None = None  # after a call


CYCLE: tuple[Step, ...] = (
    Step("plan", "orchestrator", (), PlanOutput),
    Step("execute", "research", ("plan",), ResearchOutput, fan_out=True, closes_phase=False),
    Step("execute", "implement", ("plan", "findings"), ImplementOutput, event=_fix_committed),
    Step("express", "orchestrator", ("plan", "findings", "implementation"), ExpressOutput),
    Step("review", "review", ("plan", "findings", "implementation"), ReviewOutput, runs_if=_has_fix,
         skipped={"verdict": "skipped", "reasons": ["no fix to review"]}, event=_review_verdict),
)
_STEPS = {(s.role, s.phase): s for s in CYCLE}
STATUS_DETAIL = {"plan": "planning", "execute": "executing", "express": "expressing", "review": "reviewing"}


def step_for(role: str, phase: str) -> Step:
    """The step of CYCLE that `role` runs in `phase` (ConfigError-free: an unknown pair is a bug)."""
    return _STEPS[(role, phase)]  # type: ignore[index]


def another_cycle(out: CycleOutputs) -> str | None:
    """The stop rule: the feedback for cycle n+1 when review asks for changes or express found
    untried suspects; None when this cycle is the last."""
    if out.review.verdict != "request_changes" and not out.express.needs_another_cycle:
        return None
    return str(out.review.feedback or out.express.root_cause or "try the next suspect")


def merge_output(role: str, hypothesis: dict[str, Any] | None, current: Any, output: dict[str, Any]) -> Any:
    """A phase output as stored: research outputs side by side under execute.research[<hypothesis id>],
    implement's under execute.implement, every other role's as the phase output."""
    if role not in ("research", "implement"):
        return output
    merged = dict(current) if isinstance(current, dict) else {}
    if role == "research":
        research = dict(merged.get("research") or {})
        research[str((hypothesis or {}).get("id", len(research)))] = output
        merged["research"] = research
    else:
        merged["implement"] = output
    return merged


# -- running it ----------------------------------------------------------------------------------
class CycleHost(Protocol):
    """Where a cycle runs. Each method does one thing the table asks for."""

    async def history(self) -> list[dict[str, Any]]: ...  # records of earlier cycles (resume)
    async def outputs(self) -> CycleOutputs: ...  # the current cycle, re-read between steps
    async def call(self, step: Step, inputs: PhaseInputs) -> dict[str, Any]: ...  # one agent call, recorded
    async def skip(self, step: Step, output: dict[str, Any]) -> None: ...
    async def status(self, detail: str) -> None: ...
    async def event(self, event_type: str, data: dict[str, Any]) -> None: ...
    async def next_cycle(self, feedback: str) -> None: ...  # open cycle n+1


def _inputs(step: Step, out: CycleOutputs, history: list[dict[str, Any]]) -> PhaseInputs:
    reads = {
        "plan": lambda: out.plan.dump(),
        "findings": lambda: out.findings,
        "implementation": lambda: dict(out.execute.implement or {}),
    }
    given = {name: reads[name]() for name in step.reads}
    return PhaseInputs(phase=step.phase, history=list(history), feedback=out.feedback, **given)


async def run_cycle(host: CycleHost, history: list[dict[str, Any]]) -> CycleOutputs:
    """The steps of CYCLE not done yet, in order; a status update as each phase begins."""
    out = await host.outputs()
    previous: str | None = None
    for step in CYCLE:
        first_of_phase, previous = step.phase != previous, step.phase
        if step.phase in out.done:
            continue
        if first_of_phase:
            await host.status(STATUS_DETAIL[step.phase])
        inputs = _inputs(step, out, history)
        ran = step.runs_if is None or step.runs_if(out)
        if not ran:
            await host.skip(step, dict(step.skipped or {}))
        elif step.fan_out:
            todo = [h for h in out.plan.hypotheses if str(h.get("id")) not in out.execute.research]
            outcomes = await asyncio.gather(
                *(host.call(step, replace(inputs, hypothesis=h)) for h in todo),
                return_exceptions=True,  # read-only siblings finish before a failure settles the investigation
            )
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:
                raise failure
        else:
            await host.call(step, inputs)
        out = await host.outputs()
        if ran and step.event is not None:
            happened = step.event(out)
            if happened is not None:
                await host.event(*happened)
    return out


async def run_cycles(host: CycleHost, max_cycles: int) -> CycleOutputs:
    """Cycles until the stop rule says done or `max_cycles` is reached; the last cycle's outputs."""
    history = await host.history()
    while True:
        out = await run_cycle(host, history)
        feedback = another_cycle(out)
        if feedback is None or out.cycle >= max_cycles:
            return out
        history.append(out.record())
        await host.next_cycle(feedback)
