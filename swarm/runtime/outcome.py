"""From PEER state to the published Result of an investigation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from swarm.models import Repro, Result, TestCounts
from swarm.state import PeerState
from swarm.state.model import Status

if TYPE_CHECKING:
    from swarm.runtime.orchestrator import InvestigationRequest

__all__ = ["build_result", "phase_output"]


def phase_output(state: PeerState, phase: str) -> dict[str, Any]:
    out = state.phase(phase).output
    return dict(out) if isinstance(out, dict) else {}


def _repro(value: Any) -> Repro | None:
    if not isinstance(value, dict):
        return None
    return Repro.model_validate({k: value[k] for k in ("kind", "command", "target", "detail", "flaky") if k in value})


def build_result(req: InvestigationRequest, state: PeerState, started: float) -> Result:
    """The Result of an investigation from its (last cycle's) PEER state."""
    m = state.metadata
    express, review = phase_output(state, "express"), phase_output(state, "review")
    impl = phase_output(state, "execute").get("implement") or {}
    if m.status == Status.FAILED:
        status = "failed"
    elif review.get("verdict") == "request_changes":
        status = "no_fix"
    else:
        status = express.get("status") or impl.get("status") or "no_fix"
    if status not in ("fixed", "no_fix", "failed", "rejected"):
        status = "no_fix"

    def counts(value: Any) -> TestCounts | None:
        return TestCounts.model_validate(value) if isinstance(value, dict) else None

    return Result(
        investigation_id=m.investigation_id,
        signature=req.signature,
        status=status,
        service=str(req.report.get("service", "unknown")),
        environment=req.report.get("environment", "default"),
        root_cause=str(express.get("root_cause", "")),
        suspect_commit=express.get("suspect_commit") or impl.get("suspect_commit"),
        suspect_method=express.get("suspect_method") or impl.get("suspect_method"),
        repro=_repro(express.get("repro") or impl.get("repro")),
        branch=express.get("branch") or impl.get("branch"),
        fix_commit=express.get("fix_commit") or impl.get("fix_commit"),
        summary=str(express.get("summary", "")),
        tests_before=counts(express.get("tests_before") or impl.get("tests_before")),
        tests_after=counts(review.get("tests") or express.get("tests_after") or impl.get("tests_after")),
        cycles=m.cycle,
        occurrences=req.occurrences,
        duration_s=round(time.monotonic() - started, 3),
        error=(m.extra or {}).get("error")
        if m.status == Status.FAILED
        else ("; ".join(map(str, review.get("reasons", []))) if status == "no_fix" and review else None),
    )
