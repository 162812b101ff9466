"""Errors that come back: the lifecycle of a signature's entry in the `{NS}_SIGNATURES` index.

    open ──Result──> fixed | no_fix | failed ──recurrence that counts──> open again (a new investigation)
      └──Result fixed, pull request opened──> proposed ──merged──> fixed
                                                      └─closed without merge──> no_fix

An entry is closed by its investigation's Result (`close`). A fix delivered as a pull request is
`proposed` until a reviewer settles it: the swarm follows the pull request (`settle_pull`, from
swarm.runtime.follow) and the entry is `fixed` once it is merged, `no_fix` once it is closed unmerged.
While proposed, an occurrence is one more duplicate (the fix is not deployed yet). An occurrence of a
closed signature is one more duplicate unless `reopen_reason` says it counts as the error coming back:

- `deploy`: a deploy marker of the service (`swarm deploy mark --service S --version V`, or CI putting
  a DeployMarker into the `{NS}_DEPLOYS` bucket) is newer than the close: the code changed and the
  error is back, so it is a new error;
- `quiet`: the error had not been seen for `quiet_period_s` (lifecycle config; None: never);
- `new_evidence` (no_fix and failed only): the occurrence brings a fact no occurrence counted for this
  signature had: a stack line or a context field never seen (`swarm.runtime.evidence`). Less evidence
  (no stack where one had one) or the same facts again is one more duplicate.

A reopened entry gets a new investigation id (`inv-<sig16>-<generation>`) and links the one it
reopens (`previous`); a recurrence of a `fixed` error is a `regression`.

A `rejected` entry (the injection filter refused its report) takes every later occurrence as a duplicate,
until an operator releases it (`swarm fixes release`, `release_entry`): the release names the investigation
it allows, the next generation, so it reopens once (`released`) and the filter's verdict on that
investigation is recorded instead of enforced. A later rejection of the same error needs a release of its own.

    markers = await DeployMarkers(bus.js, bus.names).open()
    await markers.mark(DeployMarker(service="shop", version="1.4.2"))
    reason = reopen_reason(entry, evidence_of(report), await markers.latest("shop", "production"), policy, utcnow())
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from swarm.bus.names import Names
from swarm.models import DeployMarker, ErrorReport, utcnow
from swarm.runtime.evidence import add_evidence, evidence_of, new_facts
from swarm.security.rejection import text_digest

__all__ = [
    "CLOSED",
    "DeployMarkers",
    "LifecyclePolicy",
    "evidence_of",
    "generation_id",
    "reopen",
    "reopen_reason",
    "close_entry",
    "settle_pull",
    "pull_number",
    "add_evidence",
    "reopened_event",
    "report_digest",
    "release_entry",
    "released_for",
]

CLOSED = ("fixed", "no_fix", "failed")  # a Result closed the entry; a recurrence may reopen it
MAX_HISTORY = 16  # earlier investigations kept per entry


@dataclass(frozen=True)
class LifecyclePolicy:
    quiet_period_s: float | None = None  # an error back after this long unseen is a new error (None: never)


def generation_id(signature: str, generation: int) -> str:
    """The investigation id of a signature's n-th investigation (the first keeps the historic form)."""
    base = f"inv-{signature[:16]}"
    return base if generation <= 1 else f"{base}-{generation}"


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def reopen_reason(
    entry: dict[str, Any], evidence: Sequence[str] | None, deploy: DeployMarker | None, policy: LifecyclePolicy,
    now: datetime, digest: str | None = None,
) -> str | None:
    """Why this occurrence of a closed (or released) signature is a new error (None: it is one more duplicate);
    `digest`: the occurrence's `report_digest`, for a release bound to one report."""
    status = entry.get("status")
    if status == "rejected":  # only an operator's release reopens it, once; one bound to a report, only by it
        bound = ((entry.get("released") or {}).get("finding") or {}).get("report_sha256")
        return "released" if released_for(entry) == next_id(entry) and bound in (None, digest) else None
    if status not in CLOSED:
        return None
    if entry.get("reset"):  # `streams purge --reset-index`: the operator asked for each error to count as new
        return "reset"
    closed_at = _when(entry.get("closed_at"))
    if deploy is not None and closed_at is not None and deploy.timestamp > closed_at and (
        deploy.environment in (None, entry.get("environment"))
    ):
        return "deploy"
    last_seen = _when(entry.get("last_seen_at")) or closed_at
    if policy.quiet_period_s is not None and last_seen is not None and (
        (now - last_seen).total_seconds() > policy.quiet_period_s
    ):
        return "quiet"
    if status in ("no_fix", "failed") and new_facts(entry.get("evidence", []), evidence):
        return "new_evidence"
    return None


def report_digest(report: ErrorReport) -> str:
    """SHA-256 of every text field of a report (`ErrorReport.texts()`): a release handed the report is bound to it."""
    return text_digest("\x00".join(f"{k}\x00{v}" for k, v in sorted(report.texts().items())))


def next_id(entry: dict[str, Any]) -> str:
    """The id the entry's next investigation gets if it reopens."""
    return generation_id(str(entry["signature"]), int(entry.get("generation", 1)) + 1)


def released_for(entry: dict[str, Any]) -> str | None:
    """The investigation an operator's release lets past the injection filter's rejection (None: none)."""
    released = entry.get("released")
    return str(released["investigation_id"]) if isinstance(released, dict) and released.get("investigation_id") \
        else None


def release_entry(entry: dict[str, Any], by: str, reason: str, now: datetime,
                  finding: dict[str, Any] | None = None) -> bool:
    """An operator releases a rejected entry: its next occurrence (or the resubmitted report) opens the next
    generation, which the filter's rejection does not stop when it is the `finding` the operator read (the
    rejection's `field`, `rule_ids`, `fired`; None: any). False when the entry is not `rejected`."""
    if entry.get("status") != "rejected":
        return False
    entry["released"] = {"investigation_id": next_id(entry), "rejected_investigation_id": entry.get("investigation_id"),
                         "by": by, "reason": reason, "at": now.isoformat(), "finding": finding}
    return True


def reopen(entry: dict[str, Any], source: tuple[str, int], reason: str, evidence: Sequence[str] | None,
           deploy: DeployMarker | None, now: datetime) -> None:
    """Turn a closed entry into a new open investigation held by `source`, linking the closed one."""
    previous = {
        "investigation_id": entry.get("investigation_id"),
        "status": entry.get("status"),
        "closed_at": entry.get("closed_at"),
        "release": entry.get("release"),
    }
    generation = int(entry.get("generation", 1)) + 1
    entry.update(
        investigation_id=generation_id(str(entry["signature"]), generation),
        generation=generation,
        status="open",
        source_stream=source[0],
        source_seq=source[1],
        opened_at=now.isoformat(),
        reopen_reason=reason,
        regression=previous["status"] == "fixed" and reason != "reset",
        previous=previous,
        deploy={"version": deploy.version, "at": deploy.timestamp.isoformat()} if deploy and reason == "deploy"
        else None,
        history=(list(entry.get("history", [])) + [previous])[-MAX_HISTORY:],
    )
    entry.pop("closed_at", None)
    entry.pop("reset", None)
    add_evidence(entry, evidence)  # the facts of every investigation so far: what is new is new to all of them


def reopened_event(entry: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The domain event of an entry that was just reopened: `regression` (it had been fixed) or
    `investigation_reopened`; None for a first investigation."""
    previous = entry.get("previous")
    if not previous:
        return None
    data = {"signature": entry.get("signature"), "service": entry.get("service"),
            "environment": entry.get("environment"), "reason": entry.get("reopen_reason"),
            "previous_investigation_id": previous.get("investigation_id"),
            "previous_status": previous.get("status"), "deploy": entry.get("deploy")}
    return ("regression" if entry.get("regression") else "investigation_reopened"), data


def close_entry(entry: dict[str, Any], investigation_id: str, status: str, release: str | None,
                pr_url: str | None = None, approval: str | None = None, pushed_to: str | None = None) -> bool:
    """The Result of `investigation_id` closes the entry (only if it still holds that investigation); a
    fix delivered as a pull request makes it `proposed` until the pull request is settled. `approval`, the
    Result's decision ("rejected by lead: …"), is kept: a fix a human turned down is no engine's `no_fix`."""
    if entry.get("investigation_id") != investigation_id or entry.get("status") not in ("open", *CLOSED):
        return False
    if approval:
        entry["approval"] = approval
    if pushed_to:  # a fix branch pushed with no pull request: `fixed` says a fix exists, not that it is merged
        entry["pushed_to"] = pushed_to
    if status == "fixed" and pr_url:
        entry.update(status="proposed", proposed_at=utcnow().isoformat(), release=release or entry.get("release"),
                     pull_request={"url": pr_url, "number": pull_number(pr_url)})
        return True
    if entry.get("status") == status and entry.get("closed_at"):
        return False
    entry.update(status=status, closed_at=utcnow().isoformat(), release=release or entry.get("release"))
    return True


def pull_number(url: str) -> int | None:
    """The number in a pull / merge request's web URL (GitHub `/pull/7`, GitLab `/-/merge_requests/7`)."""
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def settle_pull(entry: dict[str, Any], investigation_id: str, state: str) -> bool:
    """A reviewer settled the proposed fix's pull request: merged -> fixed, closed unmerged -> no_fix
    (still open: nothing changes). Only for the investigation that proposed it."""
    if entry.get("status") != "proposed" or entry.get("investigation_id") != investigation_id or state == "open":
        return False
    now = utcnow().isoformat()
    pull = {**entry.get("pull_request", {}), "state": state, "settled_at": now}
    entry.update(status="fixed" if state == "merged" else "no_fix", closed_at=now, pull_request=pull)
    return True


class DeployMarkers:
    """The `{NS}_DEPLOYS` bucket: a service's last deploy marker per environment (key
    `<service>.<environment>`) and its last one for every environment (`<service>.all`), so a staging
    deploy never hides a production one."""

    def __init__(self, js: JetStreamContext, names: Names) -> None:
        self.js, self.names = js, names
        self.kv: KeyValue | None = None
        self._reads: dict[tuple[str, str | None], tuple[float, asyncio.Future[DeployMarker | None]]] = {}

    async def open(self) -> DeployMarkers:
        self.kv = await self.js.key_value(self.names.deploy_bucket)
        return self

    async def mark(self, marker: DeployMarker) -> int:
        assert self.kv is not None
        return int(await self.kv.put(self.names.deploy_key(marker.service, marker.environment), marker.to_bytes()))

    async def latest(
        self, service: str, environment: str | None, fresh_since: float | None = None
    ) -> DeployMarker | None:
        """The newest marker that applies to `environment`: its own or the service-wide one.

        `fresh_since` (time.monotonic()): a read that started at or after it may answer, so the
        signatures of one fetched batch share one read (both keys at once) instead of two round trips
        each; a marker stored before the batch was fetched is always seen."""
        if fresh_since is None:
            return await self._read(service, environment)
        key = (service, environment)
        shared = self._reads.get(key)
        if shared is None or shared[0] < fresh_since or (shared[1].done() and shared[1].exception()):
            shared = (time.monotonic(), asyncio.ensure_future(self._read(service, environment)))
            self._reads[key] = shared
            if len(self._reads) > 256:  # a bound: services x environments seen lately
                self._reads.pop(next(iter(self._reads)))
        return await asyncio.shield(shared[1])

    async def _read(self, service: str, environment: str | None) -> DeployMarker | None:
        assert self.kv is not None
        kv = self.kv

        async def one(env: str | None) -> DeployMarker | None:
            try:
                entry = await kv.get(self.names.deploy_key(service, env))
            except KeyNotFoundError:
                return None
            return DeployMarker.model_validate_json(entry.value) if entry.value else None

        found = [m for m in await asyncio.gather(*(one(env) for env in {environment, None})) if m is not None]
        return max(found, key=lambda m: m.timestamp, default=None)
