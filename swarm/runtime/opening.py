"""Opening an investigation for a report (the intake actor's half that runs per new or resumed signature).

    class IntakeActor(InvestigationOpener): ...      # swarm.runtime.intake
    await actor._open(stream, msg, report, tally, new)   # raises from the error tree; the settler decides

`_open`: the signature was rejected before -> `Rejected`; the injection filter -> `Rejected` with the
verdict (unless an operator released this investigation: `injection_released`, swarm.runtime.release), or
`FilterFailed` when it raises; a new investigation is counted and announced (`investigation_started`, and
`regression_detected` / `error_reopened` when the error came back).
`_investigate`: budget admission (wait, never drop: in-progress acks keep the report), the orchestrator
call (a dead orchestrator is retried, never the report's fault), the budget released, and the
signature's entry closed by a closing Result. The Result is counted once per investigation by the
caller, once the report's ack is confirmed (`_open` returns the investigation to count).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import ray
from nats.aio.msg import Msg

from swarm.bus.names import HDR_MSG_ID
from swarm.comms.publisher import notice
from swarm.config import IntakeConfig
from swarm.errors import FilterFailed, OverBudget, Rejected
from swarm.models import ErrorReport
from swarm.reporting.fit import fit_report
from swarm.runtime.batch import CatchUp
from swarm.runtime.coalesce import BudgetCalls
from swarm.runtime.faults import retry_unavailable
from swarm.runtime.grouping import SignatureIndex, Tally
from swarm.runtime.lifecycle import CLOSED, released_for, reopened_event
from swarm.runtime.registry import BUDGET_NAME, PoolClient
from swarm.runtime.release import still_rejected
from swarm.runtime.requests import InvestigationRequest
from swarm.runtime.services import ActorServices, ActorSpec
from swarm.runtime.settle import Settler, wait_out
from swarm.security.rejection import rejection_for
from swarm.telemetry.tracing import SpanKind, messaging, span_from_headers

__all__ = ["InvestigationOpener"]

_log = logging.getLogger("swarm.runtime.intake")


def _headers(msg: Msg) -> dict[str, str]:
    return dict(msg.headers or {})


REPORT_SHARE = 8  # an investigation's report takes at most this share of the server's max payload


def carried(report: ErrorReport, room: int) -> ErrorReport:
    """The report an investigation carries: cut down in the middle of its long texts (`fit_report`) to an eighth
    of the server's max payload. Its PEER state is one KV value that holds the report beside the phases' outputs,
    which quote it, and the Result: a valid 900 KB report would make a state the server refuses. The signature
    stays the whole report's; the context's `truncated` field says what was cut."""
    return fit_report(report, room // REPORT_SHARE) or report


class InvestigationOpener:
    """Mixin of `IntakeActor`: the attributes below are set by its `__init__` / `start`."""

    name: str
    spec: ActorSpec
    services: ActorServices
    cfg: IntakeConfig
    filter: Any
    orchestrators: PoolClient
    counters: Counter[str]
    waiting: set[str]
    catch_up: CatchUp
    counted: dict[tuple[str, str], None]
    index: SignatureIndex | None
    settler: Settler | None
    budget: BudgetCalls | None

    # -- a report that opens (or resumes) an investigation: raises what went wrong --------
    async def _open(self, stream: str, msg: Msg, report: ErrorReport, tally: Tally, new: bool) -> str | None:
        with span_from_headers(f"process {msg.subject}", _headers(msg), SpanKind.CONSUMER, stream=stream,
                               **messaging(msg.subject, "process", _headers(msg).get(HDR_MSG_ID))) as carrier:
            inv = tally.investigation_id
            if tally.entry.get("status") == "rejected":
                raise Rejected(f"signature {report.signature} was rejected before")
            try:
                verdict = self.filter.check_report(report)
            except Exception as exc:  # not transient: the same text fails the same way on every delivery
                _log.exception("%s: the injection filter failed on %s", self.name, report.signature)
                raise FilterFailed(f"the injection filter failed on this report: {type(exc).__name__}: {exc}") from exc
            if verdict.rejected:
                released = tally.entry.get("released") or {}
                if released_for(tally.entry) != inv:
                    raise Rejected("rejected by the prompt-injection filter", verdict, report, inv)
                if (other := still_rejected(self.filter, report, verdict, released)) is not None:
                    raise Rejected("rejected by the prompt-injection filter (not the finding released)", other,
                                   report, inv)
                # an operator read the rejection and released it (`swarm fixes release`): recorded, not enforced
                await self.services.blood.event("injection_released", {
                    "signature": report.signature, "by": released.get("by"), "reason": released.get("reason"),
                    "verdict": rejection_for(report, verdict).reason}, investigation_id=inv)
            if new:
                self.counters["investigations"] += 1  # opened here (a resumed one was counted where it opened)
                await self.services.blood.emit(
                    "investigation_started",
                    {"signature": report.signature, "service": report.service, "environment": report.environment},
                    investigation_id=inv,
                )
                if (reopened := reopened_event(tally.entry)) is not None:  # the error came back
                    await self.services.blood.event(*reopened, investigation_id=inv)
            return await self._investigate(msg, report, inv, carrier, tally.entry, new)

    async def _investigate(
        self, msg: Msg, report: ErrorReport, inv: str, carrier: dict[str, str], entry: dict[str, Any],
        new: bool = True,
    ) -> str | None:
        """The investigation's id when its Result is to be counted, once the report's ack is confirmed."""
        budget = self._budget()
        keepalive = asyncio.create_task(self._keep_alive(msg, budget, inv))
        ack_wait_s = self.settler.ack_wait_s.get(msg.metadata.stream, 30.0) if self.settler else 30.0

        told: list[str] = []
        asked: list[str] = []  # the no-wait admission is asked once, with the batch

        async def admit() -> None:  # over budget, the investigation waits (in-progress acks), never dropped
            # first with the rest of its batch (one call); then the budget actor holds the call until a
            # slot frees (or retry_delay_s): no polling
            admitted, reason = (False, "") if asked else await budget.admit_now(inv)
            asked.append(inv)
            if not admitted:
                admitted, reason = await budget.wait_admit(inv, self.services.config.budget.retry_delay_s)
            if not admitted:
                if not told:  # once per investigation: the general channel tells the humans watching
                    told.append(str(reason))
                    await notice(self.services.bus, "budget_wait", f"`{inv}` waits for the swarm-wide budget: "
                                 f"{reason}", {"investigation_id": inv, "reason": str(reason)},
                                 sender=self.services.service, role="intake")
                raise OverBudget(str(reason), retry_delay_s=0.0)  # waited in wait_admit already

        self.waiting.add(inv)  # distinct work waiting for a slot: the autoscaler's load
        try:
            try:
                # a storm's backlog is grouped first (swarm.runtime.batch.CatchUp): the report is kept alive
                held_s, why = await self.catch_up.wait(self.cfg.open_hold_s)
                if why:
                    await self.services.blood.event(
                        "opening_held", {"signature": report.signature, "held_s": round(held_s, 3), "released": why,
                                         "backlog": self.catch_up.pending()}, investigation_id=inv)
                await wait_out(admit)
            finally:
                self.waiting.discard(inv)
            self.services.active += 1
            req = InvestigationRequest(
                investigation_id=inv,
                signature=report.signature,
                report=carried(report, self.services.bus.payload_room()).model_dump(mode="json"),
                trace=carrier,
                occurrences=int(entry.get("occurrences", 1)),
                repository=self._repository(report.service),
                previous_investigation_id=(entry.get("previous") or {}).get("investigation_id"),
                regression=bool(entry.get("regression")),
            )
            try:
                while True:
                    # a dead or restarting orchestrator is the swarm's fault: retried here (in-progress acks
                    # keep the report), then requeued by the settler, never dead-lettered
                    outcome = await retry_unavailable(
                        lambda: self.orchestrators.call("investigate", req), first_delay_s=self.cfg.nak_delay_s,
                        max_delay_s=max(self.cfg.nak_delay_s, self.cfg.in_progress_interval_s),
                        give_up_after_s=ack_wait_s, what=f"{self.name}: orchestrator call for {inv}")
                    if outcome.get("outcome") != "busy":
                        break
                    await asyncio.sleep(self.cfg.in_progress_interval_s)  # a live owner works on it: wait
            finally:
                self.services.active -= 1
                await budget.release(inv)  # with the others released in this turn: one call
            if outcome.get("status") in CLOSED:  # the Result closes the signature's entry
                assert self.index is not None
                result = outcome.get("result") or {}
                await self.index.close(report.signature, inv, str(outcome["status"]), report.release,
                                       result.get("pr_url"), result.get("approval"), result.get("pushed_to"))
            # a Result published before this delivery (the previous holder died before its ack) is still
            # this run's outcome of the report. Counted by the caller once the ack is confirmed: an actor
            # that dies before that has not counted it, and whoever settles the redelivery does
            return inv if not outcome.get("duplicate") or not new else None
        finally:
            keepalive.cancel()

    def _budget(self) -> BudgetCalls:
        """The swarm-wide budget actor (a named, restartable actor: its handle outlives restarts)."""
        if self.budget is None:
            self.budget = BudgetCalls(ray.get_actor(BUDGET_NAME, namespace=self.spec.ray_namespace))
        return self.budget

    def _count_once(self, counter: str, inv: str) -> None:
        """One count per investigation and counter in this actor's life (redeliveries are not new work)."""
        if (counter, inv) in self.counted:
            return
        self.counted[(counter, inv)] = None
        if len(self.counted) > 20_000:
            self.counted.pop(next(iter(self.counted)))
        self.counters[counter] += 1

    def _repository(self, service: str) -> dict[str, Any] | None:
        repos = self.services.config.repositories
        repo = repos.get(service) or (next(iter(repos.values())) if len(repos) == 1 else None)
        return repo.model_dump() if repo else None

    async def _keep_alive(self, msg: Msg, budget: BudgetCalls, inv: str) -> None:
        """In-progress acks (ack wait never expires under live work) and a live admission in the budget."""
        while True:
            await asyncio.sleep(self.cfg.in_progress_interval_s)
            with contextlib.suppress(Exception):
                await msg.in_progress()
            with contextlib.suppress(Exception):
                await budget.touch(inv)
