"""The lifecycle rules of a signature entry: when an occurrence of a closed signature is a new error."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from swarm.models import DeployMarker, ErrorReport, utcnow
from swarm.runtime.grouping import _Reopen, _tally
from swarm.runtime.lifecycle import (
    LifecyclePolicy,
    close_entry,
    evidence_of,
    pull_number,
    release_entry,
    reopen_reason,
    reopened_event,
    settle_pull,
)
from swarm.runtime.release import release_covers


def entry(status: str = "fixed", closed_ago_s: float = 60, seen_ago_s: float | None = None, **kw: object) -> dict:
    now = utcnow()
    data = {"signature": "a" * 64, "investigation_id": "inv-" + "a" * 16, "status": status,
            "environment": "production", "service": "shop", "occurrences": 1,
            "source_stream": "S", "source_seq": 1, "closed_at": (now - timedelta(seconds=closed_ago_s)).isoformat(),
            "evidence": ["e1"]}
    if seen_ago_s is not None:
        data["last_seen_at"] = (now - timedelta(seconds=seen_ago_s)).isoformat()
    return {**data, **kw}


def test_a_deploy_after_the_close_reopens_one_before_it_does_not() -> None:
    now, policy = utcnow(), LifecyclePolicy()
    after = DeployMarker(service="shop", version="2", timestamp=now - timedelta(seconds=10))
    before = DeployMarker(service="shop", version="1", timestamp=now - timedelta(seconds=120))
    assert reopen_reason(entry(), ("e1",), after, policy, now) == "deploy"
    assert reopen_reason(entry(), ("e1",), before, policy, now) is None
    other_env = after.model_copy(update={"environment": "staging"})
    assert reopen_reason(entry(), ("e1",), other_env, policy, now) is None
    assert reopen_reason(entry(status="open"), ("e1",), after, policy, now) is None  # still being investigated


def test_the_quiet_period_counts_from_the_last_occurrence() -> None:
    now, policy = utcnow(), LifecyclePolicy(quiet_period_s=3600)
    assert reopen_reason(entry(closed_ago_s=7200, seen_ago_s=7000), ("e1",), None, policy, now) == "quiet"
    assert reopen_reason(entry(closed_ago_s=7200, seen_ago_s=60), ("e1",), None, policy, now) is None
    assert reopen_reason(entry(closed_ago_s=7200), ("e1",), None, LifecyclePolicy(), now) is None  # no quiet period


def test_new_evidence_reopens_a_no_fix_but_not_a_fix() -> None:
    now, policy = utcnow(), LifecyclePolicy()
    assert reopen_reason(entry(status="no_fix"), ("e1", "e2"), None, policy, now) == "new_evidence"
    assert reopen_reason(entry(status="no_fix"), ("e1",), None, policy, now) is None
    assert reopen_reason(entry(status="no_fix"), (), None, policy, now) is None  # less evidence: nothing new
    assert reopen_reason(entry(status="fixed"), ("e2",), None, policy, now) is None


def test_evidence_ignores_request_ids_and_ids_in_the_stack_but_not_its_frames() -> None:
    base = ErrorReport(error="E: x", stack="s1", context={"file": "a.py", "line": 1, "request_id": "r1"})
    assert evidence_of(base) == evidence_of(base.model_copy(update={"context": base.context.model_copy(
        update={"request_id": "r2"})}))
    assert set(evidence_of(base)) < set(evidence_of(base.model_copy(update={"stack": "s1\ns2"})))
    go = "goroutine 4711 [running]:\nmain.load(0xc000012345)\n\t/app/main.go:42 +0x1d"
    again = go.replace("4711", "90210").replace("0xc000012345", "0xc0000abcde")
    assert evidence_of(base.model_copy(update={"stack": go})) == evidence_of(base.model_copy(update={"stack": again}))
    moved = go.replace("main.go:42", "main.go:43")  # another line of the code: another frame
    assert evidence_of(base.model_copy(update={"stack": go})) != evidence_of(base.model_copy(update={"stack": moved}))


def test_a_reopen_in_a_batch_opens_a_new_generation_and_the_rest_are_its_duplicates() -> None:
    data = entry(status="no_fix")
    kinds, changed = _tally(data, [("S", 5), ("S", 6)], {}, _Reopen(LifecyclePolicy(), [("e9",), ("e9",)]))
    assert changed and kinds == ["new", "duplicate"]
    assert data["status"] == "open" and data["generation"] == 2 and data["investigation_id"].endswith("-2")
    assert data["previous"]["investigation_id"] == "inv-" + "a" * 16 and not data["regression"]
    assert (data["source_stream"], data["source_seq"]) == ("S", 5)
    kind, event = reopened_event(data)
    assert kind == "investigation_reopened" and event["reason"] == "new_evidence"
    assert event["previous_investigation_id"] == "inv-" + "a" * 16 and event["previous_status"] == "no_fix"
    assert close_entry(data, data["investigation_id"], "fixed", "3.0") and data["status"] == "fixed"
    assert not close_entry(data, "inv-other", "failed", None)  # only the holder's Result closes it


def test_a_rejected_error_reopens_only_once_released_and_only_for_the_generation_released() -> None:
    data = entry(status="rejected")
    kinds, _ = _tally(data, [("S", 5)], {}, _Reopen(LifecyclePolicy()))
    assert kinds == ["duplicate"] and data["status"] == "rejected"  # unreleased: every occurrence a duplicate
    assert not release_entry(entry(status="fixed"), "ana", "why", utcnow())  # only a rejected one
    finding = {"field": "error", "rule_ids": ["override.ignore_prior"], "fired": "rules"}
    assert release_entry(data, "ana", "a test quoting an attack", utcnow(), finding)
    assert data["released"]["investigation_id"] == "inv-" + "a" * 16 + "-2"
    kinds, _ = _tally(data, [("S", 6), ("S", 7)], {}, _Reopen(LifecyclePolicy()))
    assert kinds == ["new", "duplicate"] and data["status"] == "open" and data["reopen_reason"] == "released"
    assert data["investigation_id"] == data["released"]["investigation_id"] and not data["regression"]
    data["status"] = "rejected"  # the released investigation was rejected after all: a new release is needed
    kinds, _ = _tally(data, [("S", 8)], {}, _Reopen(LifecyclePolicy()))
    assert kinds == ["duplicate"] and data["generation"] == 2
    released = data["released"]
    # bound to a report handed in: only that report reopens it; another occurrence stays a duplicate, so it cannot
    # use up the release (a reviewer's race: the resubmitted report then found the signature rejected again)
    bound = entry(status="rejected")
    assert release_entry(bound, "ana", "why", utcnow(), {"report_sha256": "d" * 64})
    kinds, _ = _tally(bound, [("S", 9)], {}, _Reopen(LifecyclePolicy(), digests=["e" * 64]))
    assert kinds == ["duplicate"] and bound["status"] == "rejected"
    kinds, _ = _tally(bound, [("S", 10)], {}, _Reopen(LifecyclePolicy(), digests=["d" * 64]))
    assert kinds == ["new"] and bound["reopen_reason"] == "released"
    assert release_covers(released, "error", ["override.ignore_prior"], model_fired=False)
    assert not release_covers(released, "context.comment", ["override.ignore_prior"], model_fired=False)
    assert not release_covers(released, "error", ["override.ignore_prior", "exfil.send_secrets"], False)
    assert not release_covers(released, "error", ["override.ignore_prior"], model_fired=True)


def test_a_fix_with_a_pull_request_is_proposed_until_the_pull_request_is_settled() -> None:
    now = utcnow()
    data = entry("open")
    url = "https://gitlab.com/acme/shop/-/merge_requests/12"
    assert close_entry(data, data["investigation_id"], "fixed", "1.2", url)
    assert data["status"] == "proposed" and data["pull_request"] == {"url": url, "number": 12}
    # proposed is not closed: a deploy (without the fix merged) does not reopen it
    deploy = DeployMarker(service="shop", version="2", timestamp=now + timedelta(seconds=5))
    assert reopen_reason(data, ("e9",), deploy, LifecyclePolicy(quiet_period_s=1), now + timedelta(days=9)) is None
    assert not close_entry(data, data["investigation_id"], "fixed", "1.2", url)  # a redelivered Result: no change
    assert not settle_pull(data, "inv-other", "merged")  # only the investigation that proposed it
    assert not settle_pull(data, data["investigation_id"], "open")
    assert settle_pull(data, data["investigation_id"], "merged")
    assert data["status"] == "fixed" and data["pull_request"]["state"] == "merged" and data["closed_at"]
    assert not settle_pull(data, data["investigation_id"], "closed")  # settled once
    closed = entry("open")
    close_entry(closed, closed["investigation_id"], "fixed", None, "https://github.com/a/b/pull/3")
    assert settle_pull(closed, closed["investigation_id"], "closed") and closed["status"] == "no_fix"


def test_without_a_pull_request_a_fix_closes_as_fixed_at_once() -> None:
    data = entry("open")
    assert close_entry(data, data["investigation_id"], "fixed", None, None) and data["status"] == "fixed"
    assert pull_number("https://github.com/a/b/pull/41") == 41 and pull_number("https://x/y/") is None


def test_the_evidence_digest_is_the_same_memoised_or_not_and_ignores_request_ids() -> None:
    from swarm.runtime.evidence import evidence_of

    def _evidence(report: ErrorReport) -> tuple[str, ...]:  # computed afresh, not from the memo
        from swarm.runtime.evidence import _facts

        return _facts(report, {k: v for k, v in report.context.model_dump(exclude_none=True).items()
                               if k != "request_id"})

    def occurrence(request_id: str, stack: str = "Traceback\n  File app.py, line 3", **extra: object) -> ErrorReport:
        return ErrorReport(error="KeyError: 'user'", stack=stack,
                           context={"file": "app.py", "line": 3, "request_id": request_id, **extra})

    first, again = occurrence("r-1"), occurrence("r-2")
    assert evidence_of(first) == evidence_of(again) == _evidence(first)  # the second from the memo
    other = occurrence("r-3", tenant="acme")
    assert evidence_of(other) == _evidence(other) != evidence_of(first)  # new free context: new evidence
    big = occurrence("r-4", stack="x" * 10_000)  # too big to keep: computed each time, same answer
    assert evidence_of(big) == _evidence(big) != evidence_of(first)


_values = st.one_of(st.none(), st.integers(-3, 3), st.text("ab: 0x1f", max_size=6),
                    st.lists(st.one_of(st.none(), st.integers(0, 2)), max_size=2),
                    st.dictionaries(st.sampled_from(["k", "v"]), st.one_of(st.none(), st.integers(0, 2)), max_size=2))


@settings(max_examples=300, deadline=None)
@given(
    stack=st.sampled_from(["", "Traceback\n  File app.py, line 3", "at x (a.js:1:2)\nat y (b.js:9:9)"]),
    file=st.one_of(st.none(), st.sampled_from(["app.py", "b.js"])),
    line=st.one_of(st.none(), st.integers(0, 3)),
    function=st.one_of(st.none(), st.sampled_from(["run", "main"])),
    request_id=st.one_of(st.none(), st.sampled_from(["r-1", "r-2"])),
    extra=st.dictionaries(st.sampled_from(["tenant", "user", "attempt", "tags"]), _values, max_size=3),
)
def test_the_memoised_evidence_is_the_evidence_of_the_dumped_context(
    stack: str, file: str | None, line: int | None, function: str | None, request_id: str | None,
    extra: dict[str, object],
) -> None:
    """The memo is keyed by the context's fields as they are, the facts are made of its dump: whatever the
    fields (None, nested, free ones), an answer from the memo is the answer computed afresh."""
    from swarm.runtime.evidence import _facts, evidence_of

    report = ErrorReport(error="KeyError: 'user'", stack=stack, context={
        "file": file, "line": line, "function": function, "request_id": request_id, **extra})
    fresh = _facts(report, {k: v for k, v in report.context.model_dump(exclude_none=True).items() if k != "request_id"})
    assert evidence_of(report) == fresh
    assert evidence_of(report.model_copy(deep=True)) == fresh  # the second from the memo
