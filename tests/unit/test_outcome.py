"""The Result built from PEER state: what `error` says for each way an investigation ends."""

from __future__ import annotations

import time

from swarm.runtime.outcome import build_result
from swarm.runtime.requests import InvestigationRequest
from swarm.state import PeerState
from swarm.state.model import PhaseStatus, Status


def _state(express: dict, review: dict, review_status: PhaseStatus, **meta: object) -> PeerState:
    state = PeerState.new("inv-1", status=meta.pop("status", Status.COMPLETED), **meta)
    state.phases.express.status, state.phases.express.output = PhaseStatus.DONE, express
    state.phases.review.status, state.phases.review.output = review_status, review
    return state


REQ = InvestigationRequest(investigation_id="inv-1", signature="s" * 64,
                           report={"error": "KeyError: 'AB-1'", "service": "shop"})
NO_FIX = {"status": "no_fix", "root_cause": "commit 596bad5 most likely introduced the error"}


def test_an_ordinary_no_fix_is_not_an_error() -> None:
    skipped = _state(NO_FIX, {"verdict": "skipped", "reasons": ["no fix to review"]}, PhaseStatus.SKIPPED)
    result = build_result(REQ, skipped, time.monotonic())
    assert result.status == "no_fix" and result.error is None
    assert result.root_cause == NO_FIX["root_cause"]


def test_a_fix_the_reviewer_rejected_carries_the_reasons() -> None:
    rejected = _state({"status": "fixed"}, {"verdict": "request_changes", "reasons": ["tests fail: 2", "diff too big"]},
                      PhaseStatus.DONE)
    result = build_result(REQ, rejected, time.monotonic())
    assert result.status == "no_fix" and result.error == "tests fail: 2; diff too big"


def test_a_failed_investigation_carries_its_error() -> None:
    failed = _state({}, {}, PhaseStatus.PENDING, status=Status.FAILED, extra={"error": "cancelled: wrong service"})
    result = build_result(REQ, failed, time.monotonic())
    assert result.status == "failed" and result.error == "cancelled: wrong service"


def test_a_fix_carries_its_regression_test_and_a_rejected_one_does_not() -> None:
    fixed = {"status": "fixed", "branch": "swarm/fix/inv-1", "regression_test": "tests/test_swarm_bill_1.py"}
    approved = _state(fixed, {"verdict": "approve", "reasons": []}, PhaseStatus.DONE)
    result = build_result(REQ, approved, time.monotonic())
    assert result.status == "fixed" and result.regression_test == "tests/test_swarm_bill_1.py"
    assert "regression_test" in result.model_dump(mode="json")
    rejected = _state(fixed, {"verdict": "request_changes", "reasons": ["tests fail: 1"]}, PhaseStatus.DONE)
    assert build_result(REQ, rejected, time.monotonic()).regression_test is None


def test_a_repro_whose_values_never_passed_says_so_in_the_result() -> None:
    """README: with no caller to bisect, the commits are ranked and the repro is marked `never_passed` (review 20:
    the Result's repro had no such field)."""
    repro = {"kind": "built", "command": "python -c 'm.given_date(...)'", "target": "vet/recall.py:given_date",
             "detail": "built a repro", "flaky": False, "never_passed": True, "made_up": False}
    ranked = _state({**NO_FIX, "repro": repro}, {"verdict": "skipped", "reasons": []}, PhaseStatus.SKIPPED)
    result = build_result(REQ, ranked, time.monotonic())
    assert result.repro is not None and result.repro.never_passed is True
    assert result.model_dump(mode="json")["repro"]["never_passed"] is True
