"""Releasing an error the injection filter rejected: an operator read the rejection and has it investigated.

    out = await release_rejected(bus, index, "3f2a9c1e", by="ana", reason="a CI log, not an attack", blood=blood)
    out["investigation_id"]   # the investigation the release allows: the signature's next generation
    out["resubmitted"]        # the report handed in (`report=`) went onto {ns}.tasks.investigation

A `rejected` signature takes every later occurrence as a duplicate: a false positive of the filter would keep
that error from ever being investigated. The release (`lifecycle.release_entry`) names the next generation's
investigation and the finding the operator read (the last `SecurityRejection` of the signature: its field, its
rules, whether the model fired, the field's text: its SHA-256 when the report is handed in, else the rejection's
excerpt, its first 100 characters). The next occurrence, or the report handed in, reopens the signature
(`released`); intake records the filter's verdict as `injection_released` instead of rejecting, unless the
verdict is another finding (an attack in another field, another rule, another text): that is rejected as usual.
Everything else stays: the report reaches Claude only as delimited untrusted data, tools stay in the worktree,
review and approval gates hold. The decision is audited (`security_release`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from swarm.bus.connect import Bus
from swarm.bus.streamread import read_stream
from swarm.errors import ConfigError, InvalidInput
from swarm.models import EXCERPT_LIMIT, ErrorReport, SecurityRejection
from swarm.runtime.fixview import find_entry
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.lifecycle import release_covers
from swarm.runtime.tasks import submit_investigation

__all__ = ["finding_of", "latest_rejection", "release_rejected", "still_rejected"]


def still_rejected(filter_: Any, report: ErrorReport, verdict: Any, released: dict[str, Any]) -> Any | None:
    """The verdict to reject a released investigation's report with, None when the release covers it: the finding
    the operator read (its field and text, no other rule, the model only if it fired then) and nothing besides: the
    very report when it was handed in, else no rule match outside that field, no clause the model objects to
    outside it, and no other field of three words or more that the filter rejects by itself. A report of the same
    signature with an attack planted elsewhere is rejected."""
    if not release_covers(released, verdict.field, verdict.rule_ids, verdict.model_fired):
        return verdict
    finding = released.get("finding")
    if not isinstance(finding, dict):  # no rejection was on record: any finding, once
        return None
    if not _same_text(finding, verdict.text):
        return verdict
    if finding.get("report_sha256"):
        return None if _report_digest(report) == finding["report_sha256"] else verdict
    field_text = report.texts().get(str(finding.get("field")), "")
    if any(m.field != finding.get("field") for m in verdict.matches) or (
            verdict.model_clause and verdict.model_clause not in field_text):
        return verdict
    for name, text in report.texts().items():  # the model's whole-text head does not say where: each field alone
        if name == finding.get("field") or len(text.split()) < 3:
            continue
        if (alone := filter_.check_text(text, name)).rejected:
            return alone
    return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _report_digest(report: ErrorReport) -> str:
    return _digest("\x00".join(f"{k}\x00{v}" for k, v in sorted(report.texts().items())))


def _same_text(finding: dict[str, Any], text: str) -> bool:
    """The rejected field's text is the one the operator read: the same digest (the report was handed in), else
    the same start (the rejection's excerpt)."""
    if finding.get("sha256"):
        return _digest(text) == finding["sha256"]
    return not finding.get("excerpt") or text[:EXCERPT_LIMIT] == finding["excerpt"]


def finding_of(rejection: SecurityRejection, report: ErrorReport | None = None) -> dict[str, Any]:
    """What a release binds to: the rejection's field, rules, firing part and excerpt; with the rejected report
    handed in, the digests of that field's text and of the whole report too. InvalidInput when the report is not
    the one rejected (its field does not start as the excerpt)."""
    finding: dict[str, Any] = {"field": rejection.field, "rule_ids": list(rejection.rule_ids),
                               "fired": rejection.fired, "excerpt": rejection.excerpt}
    if report is not None:
        text = report.texts().get(rejection.field, "")
        if text[:EXCERPT_LIMIT] != rejection.excerpt:
            raise InvalidInput(f"the report handed in is not the one rejected: its {rejection.field or 'text'} does "
                               f"not start as the rejection's excerpt {rejection.excerpt!r}")
        finding |= {"sha256": _digest(text), "report_sha256": _report_digest(report)}
    return finding


async def latest_rejection(bus: Bus, signature: str) -> SecurityRejection | None:
    """The last `SecurityRejection` of `signature` kept in the SECURITY stream (None: none, or aged out)."""
    found = None
    for raw in await read_stream(bus, bus.names.stream("SECURITY"), bus.names.security_rejected):
        try:
            rejection = SecurityRejection.model_validate_json(raw.data)
        except ValueError:
            continue
        if rejection.signature == signature:
            found = rejection
    return found


async def release_rejected(
    bus: Bus, index: SignatureIndex, wanted: str, *, by: str, reason: str, blood: Any,
    report: ErrorReport | None = None,
) -> dict[str, Any]:
    """Release the rejected signature `wanted` (a signature, a prefix of 8+ characters, or its investigation id).

    ConfigError when nothing in the index is `wanted` or it is not `rejected`; InvalidInput when `report` is of
    another signature."""
    entry = find_entry(await index.entries(), wanted)
    if entry is None:
        short = " (a signature prefix needs 8 characters or more)" if len(wanted) < 8 else ""
        raise ConfigError(f"no error {wanted} in {bus.names.signature_bucket}{short}: `swarm fixes list --status "
                          f"rejected` lists the rejected ones")
    signature = str(entry["signature"])
    if report is not None and report.signature != signature:
        raise InvalidInput(f"the report handed in has signature {report.signature[:16]}, not {signature[:16]}: it is "
                           f"another error")
    rejection = await latest_rejection(bus, signature)
    finding = None if rejection is None else finding_of(rejection, report)
    written = await index.release(signature, by, reason, finding)
    if written is None or written.get("status") != "rejected":
        status = "gone" if written is None else written.get("status")
        raise ConfigError(f"error {signature[:16]} is {status}, not rejected: only an error the injection filter "
                          f"rejected can be released")
    released = written["released"]
    out: dict[str, Any] = {
        "signature": signature, "service": written.get("service"), "environment": written.get("environment"),
        "rejected_investigation_id": released["rejected_investigation_id"],
        "investigation_id": released["investigation_id"], "by": by, "reason": reason, "finding": finding,
        "rejection": None if rejection is None else rejection.reason, "resubmitted": None,
    }
    if report is not None:
        out["resubmitted"] = await submit_investigation(bus, report, by=by)
    await blood.audit(actor=by, action="security_release", target=signature, outcome="released",
                      investigation_id=released["investigation_id"],
                      details={"reason": reason, "finding": finding,
                               "rejected_investigation_id": released["rejected_investigation_id"]})
    return out
