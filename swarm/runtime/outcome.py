"""From PEER state to the typed outputs of a cycle, and to the published Result of an investigation.

    out = outputs_of(state)                      # CycleOutputs: plan, execute, express, review, done
    result = build_result(req, state, started)   # the Result of the last cycle
"""

from __future__ import annotations

import time
from typing import Any

from swarm.models import Repro, Result, TestCounts
from swarm.runtime.cycle import CycleOutputs
from swarm.runtime.requests import InvestigationRequest
from swarm.state import PeerState
from swarm.state.model import PhaseStatus, Status

__all__ = ["build_result", "outputs_of"]

_PHASES = ("plan", "execute", "express", "review")


def outputs_of(state: PeerState) -> CycleOutputs:
    """The cycle stored at `state`: its phase outputs, the phases finished, the feedback it started with."""
    done = frozenset(p for p in _PHASES if state.phase(p).status in (PhaseStatus.DONE, PhaseStatus.SKIPPED))
    feedback = (state.metadata.extra or {}).get("feedback")
    return CycleOutputs.of(state.metadata.cycle, {p: state.phase(p).output for p in _PHASES}, done,
                           str(feedback) if feedback else None)


def _repro(value: Any) -> Repro | None:
    if not isinstance(value, dict):
        return None
    keys = ("kind", "command", "target", "detail", "flaky", "never_passed")
    return Repro.model_validate({k: value[k] for k in keys if k in value})


def _counts(value: Any) -> TestCounts | None:
    return TestCounts.model_validate(value) if isinstance(value, dict) else None


def build_result(req: InvestigationRequest, state: PeerState, started: float) -> Result:
    """The Result of an investigation from its (last cycle's) PEER state."""
    m, out = state.metadata, outputs_of(state)
    express, review, impl = out.express, out.review, out.implement
    if m.status == Status.FAILED:
        status = "failed"
    elif review.verdict == "request_changes":
        status = "no_fix"
    else:
        status = express.status or impl.status or "no_fix"
    if status not in ("fixed", "no_fix", "failed", "rejected"):
        status = "no_fix"
    return Result(
        investigation_id=m.investigation_id,
        signature=req.signature,
        status=status,
        service=str(req.report.get("service", "unknown")),
        environment=req.report.get("environment", "default"),
        root_cause=str(express.dump().get("root_cause", "")),
        suspect_commit=express.suspect_commit or impl.suspect_commit,
        suspect_method=express.suspect_method or impl.suspect_method,
        repro=_repro(express.repro or impl.repro),
        branch=express.branch or impl.branch,
        fix_commit=express.fix_commit or impl.fix_commit,
        summary=str(express.dump().get("summary", "")),
        tests_before=_counts(express.tests_before or impl.tests_before),
        tests_after=_counts(review.tests or express.tests_after or impl.tests_after),
        cycles=m.cycle,
        occurrences=req.occurrences,
        duration_s=round(time.monotonic() - started, 3),
        release=req.report.get("release"),
        previous_investigation_id=req.previous_investigation_id,
        regression=req.regression,
        pushed_to=impl.dump().get("pushed_to") if status == "fixed" else None,
        regression_test=(express.dump().get("regression_test") or impl.dump().get("regression_test"))
        if status == "fixed" else None,
        # a no_fix Result carries the reviewer's objections when a review rejected a fix; an ordinary no_fix
        # (nothing to review) is not an error: its reason is the root cause and the summary
        error=(m.extra or {}).get("error")
        if m.status == Status.FAILED
        else ("; ".join(map(str, review.reasons)) if review.verdict == "request_changes" else None),
    )
