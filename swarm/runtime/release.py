"""Releasing an error the injection filter rejected: an operator read the rejection and has it investigated.

    out = await release_rejected(bus, index, "3f2a9c1e", by="ana", reason="a CI log, not an attack", blood=blood)
    out["investigation_id"]   # the investigation the release allows: the signature's next generation
    out["resubmitted"]        # the report handed in (`report=`) went onto {ns}.tasks.investigation

A `rejected` signature takes every later occurrence as a duplicate: a false positive of the filter would keep
that error from ever being investigated. The release (`lifecycle.release_entry`) names the next generation's
investigation and what the operator vouches for: the rejected report handed in (`--error-file`: the digest of all
its texts; it is resubmitted on {ns}.tasks.investigation, and only a report with that digest reopens the
signature), else the finding of the last `SecurityRejection` kept (its field, rules, firing part and the digest
of that whole field; without one, no release). Intake records the filter's verdict as `injection_released`
instead of rejecting, unless the verdict is another finding (`still_rejected`): that is rejected as usual.
Everything else stays: the report reaches Claude only as delimited untrusted data, tools stay in the worktree,
review and approval gates hold. The decision is audited (`security_release`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swarm.bus.connect import Bus
from swarm.bus.streamread import read_stream
from swarm.errors import ConfigError, InvalidInput
from swarm.models import ErrorReport, SecurityRejection
from swarm.runtime.fixview import find_entry
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.lifecycle import report_digest
from swarm.runtime.tasks import submit_investigation
from swarm.security.rejection import text_digest

__all__ = ["finding_of", "latest_rejection", "release_covers", "release_rejected", "still_rejected"]


def release_covers(released: dict[str, Any], field: str, rule_ids: Sequence[str], model_fired: bool) -> bool:
    """Whether a rejection is the one the operator released: the same field, no rule the released one did not
    hit, and the model firing only if it fired then. A report of the same signature with an attack elsewhere is
    rejected as usual."""
    finding = released.get("finding")
    if not isinstance(finding, dict):
        return True
    return field == finding.get("field") and set(rule_ids) <= set(finding.get("rule_ids") or ()) and (
        not model_fired or finding.get("fired") in ("model", "both"))


def still_rejected(filter_: Any, report: ErrorReport, verdict: Any, released: dict[str, Any]) -> Any | None:
    """The verdict to reject a released investigation's report with, None when the release covers it.

    Bound to a report (handed in): that very report, every text of it. Bound to a rejection: its finding (the
    same field with the same whole text, no other rule, the model only if it fired then) and nothing besides:
    no rule match and no clause the model objects to outside that field, and no other field of three words or
    more that the filter rejects by itself. A report of the signature with an attack planted anywhere else, or
    added to the released field, is rejected."""
    finding = released.get("finding")
    if not isinstance(finding, dict):
        return verdict
    if finding.get("report_sha256"):
        return None if report_digest(report) == finding["report_sha256"] else verdict
    if not release_covers(released, verdict.field, verdict.rule_ids, verdict.model_fired):
        return verdict
    if not finding.get("sha256") or text_digest(verdict.text) != finding["sha256"]:
        return verdict
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


def finding_of(rejection: SecurityRejection | None, report: ErrorReport | None = None) -> dict[str, Any]:
    """What a release binds to: with the rejected report handed in, that report (the digest of all its texts);
    else the rejection's finding: field, rules, firing part, and the digest of the whole rejected field.
    ConfigError when neither can be had (no rejection kept: the SECURITY stream keeps 30 days; one of an older
    version, with no digest); InvalidInput when the report handed in is not the one rejected."""
    if report is not None:
        if rejection is not None and rejection.text_sha256 and \
                text_digest(report.texts().get(rejection.field, "")) != rejection.text_sha256:
            raise InvalidInput(f"the report handed in is not the one rejected: its {rejection.field or 'text'} is not "
                               f"the text the filter rejected (which starts {rejection.excerpt!r})")
        return {"report_sha256": report_digest(report),
                **({"field": rejection.field, "rule_ids": list(rejection.rule_ids), "fired": rejection.fired}
                   if rejection is not None else {})}
    if rejection is None or not rejection.text_sha256:
        why = "no rejection of it is kept (the SECURITY stream keeps 30 days)" if rejection is None else \
            "its rejection predates the digests a release is bound to"
        raise ConfigError(f"cannot release it without the report: {why}; hand the rejected report in with "
                          "--error-file (the release is then bound to that very report)")
    return {"field": rejection.field, "rule_ids": list(rejection.rule_ids), "fired": rejection.fired,
            "excerpt": rejection.excerpt, "sha256": rejection.text_sha256}


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
    finding = finding_of(rejection, report)
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
