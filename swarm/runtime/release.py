"""Releasing an error the injection filter rejected: an operator read the rejection and has it investigated.

    out = await release_rejected(bus, index, "3f2a9c1e", by="ana", reason="a CI log, not an attack", blood=blood)
    out["investigation_id"]   # the investigation the release allows: the signature's next generation
    out["resubmitted"]        # the report handed in (`report=`) went onto {ns}.tasks.investigation

A `rejected` signature takes every later occurrence as a duplicate: a false positive of the filter would keep
that error from ever being investigated. The release (`lifecycle.release_entry`) names the next generation's
investigation and the finding the operator read (the last `SecurityRejection` of the signature: its field, its
rules, whether the model fired). The next occurrence, or the report handed in, reopens the signature
(`released`); intake records the filter's verdict as `injection_released` instead of rejecting, unless the
verdict is another finding (an attack in another field, another rule): that is rejected as usual. Everything
else stays: the report reaches Claude only as delimited untrusted data, tools stay in the worktree, review and
approval gates hold. The decision is audited (`security_release`).
"""

from __future__ import annotations

from typing import Any

from swarm.bus.connect import Bus
from swarm.bus.streamread import read_stream
from swarm.errors import ConfigError, InvalidInput
from swarm.models import ErrorReport, SecurityRejection
from swarm.runtime.fixview import find_entry
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.lifecycle import release_covers
from swarm.runtime.tasks import submit_investigation

__all__ = ["latest_rejection", "release_rejected", "still_rejected"]


def _without(report: ErrorReport, field: str) -> ErrorReport:
    """`report` with one text field (a name of `ErrorReport.texts()`) left out."""
    data = report.model_dump(mode="json")
    if field == "error":
        data["error"] = "-"
    elif field in ("stack", "service"):
        data[field] = "" if field == "stack" else "unknown"
    elif field.startswith("context."):
        data["context"].pop(field.removeprefix("context."), None)
    return ErrorReport.model_validate(data)


def still_rejected(filter_: Any, report: ErrorReport, verdict: Any, released: dict[str, Any]) -> Any | None:
    """The verdict to reject a released investigation's report with, None when the release covers it: the finding
    the operator read (its field, no other rule, the model only if it fired then), and nothing the filter rejects
    in the report's other fields. A report of the same signature with an attack planted elsewhere is rejected."""
    if not release_covers(released, verdict.field, verdict.rule_ids, verdict.model_fired):
        return verdict
    finding = released.get("finding")
    if isinstance(finding, dict) and finding.get("field"):
        rest = filter_.check_report(_without(report, str(finding["field"])))
        if rest.rejected:
            return rest
    return None


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
    finding = None if rejection is None else {
        "field": rejection.field, "rule_ids": list(rejection.rule_ids), "fired": rejection.fired}
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
