"""Orchestrator actors (`orchestrator-<i>`): run the PEER cycle of an investigation to a Result.

    plan (orchestrator) -> execute (research hypotheses in parallel, then implement)
        -> express (orchestrator) -> review; "request_changes" starts cycle n+1 with the feedback.

Every phase is recorded in PEER state before the next starts, so a redelivered report resumes
where the last attempt stopped and never does a finished phase twice. The Result is published
with Nats-Msg-Id = investigation id before the state is marked COMPLETED: a crash between the two
republishes the same Result, which JetStream drops as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import ray

from swarm.errors import AgentFailed, StateExists, StateNotFound, SwarmError, TransientError
from swarm.models import InvestigationStatus, Result, utcnow
from swarm.runtime.lease import TERMINAL, Lease
from swarm.runtime.outcome import build_result, phase_output
from swarm.runtime.registry import PoolClient
from swarm.runtime.roles import AgentHost, PhaseRequest, record_phase, run_phase
from swarm.runtime.services import ActorSpec
from swarm.state import PeerState
from swarm.state.model import PhaseStatus, Status
from swarm.telemetry import metrics
from swarm.telemetry.tracing import span_from_carrier

__all__ = ["InvestigationRequest", "OrchestratorActor"]

log = logging.getLogger("swarm.runtime.orchestrator")


@dataclass
class InvestigationRequest:
    investigation_id: str
    signature: str
    report: dict[str, Any]
    kind: str = "error"
    trace: dict[str, str] = field(default_factory=dict)
    occurrences: int = 1
    repository: dict[str, Any] | None = None


def _cycle_record(state: PeerState) -> dict[str, Any]:
    """What a later cycle sees of an earlier one (the agents skip suspects already tried)."""
    return {
        "cycle": state.metadata.cycle,
        "execute": phase_output(state, "execute"),
        "express": phase_output(state, "express"),
        "review": phase_output(state, "review"),
    }


def _done(state: PeerState, phase: str) -> bool:
    return state.phase(phase).status in (PhaseStatus.DONE, PhaseStatus.SKIPPED)


class OrchestratorActor(AgentHost):
    def __init__(self, spec: ActorSpec, index: int) -> None:
        super().__init__(spec, "orchestrator", index)
        self.owner = f"{self.name}/{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.pools = {r: PoolClient(r, spec.ray_namespace) for r in ("research", "implement", "review")}
        self.lease_s = max(30.0, self.services.config.intake.in_progress_interval_s * 3)
        self.running: dict[str, asyncio.Task[Any]] = {}  # investigation id -> the call working on it

    async def close(self) -> None:
        """Stop: cancel running investigations (each releases its lease, so the report's redelivery
        is taken up at once elsewhere instead of waiting for the lease to lapse), then disconnect."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        await super().close()

    # -- the cycle -----------------------------------------------------------------------
    async def _current_cycle(self, req: InvestigationRequest) -> PeerState:
        assert self.services.store is not None
        store, names = self.services.store, self.services.bus.names  # type: ignore[union-attr]
        cycle, latest = 1, None
        while True:
            try:
                latest, _ = await store.read(names.peer_key(req.kind, req.investigation_id, cycle))
            except StateNotFound:
                break
            cycle += 1
        if latest is not None:
            return latest
        report = req.report
        state = PeerState.new(
            req.investigation_id,
            req.kind,
            1,
            status=Status.NEW,
            updated_by=self.name,
            signature=req.signature,
            service=report.get("service"),
            environment=report.get("environment"),
            occurrences=req.occurrences,
        )
        with contextlib.suppress(SwarmError):  # StateExists: another attempt created it first
            await store.create(state)
        latest, _ = await store.read(state.key)
        return latest

    async def investigate(self, req: InvestigationRequest) -> dict[str, Any]:
        await self.services.start()
        assert self.services.store is not None
        if req.investigation_id in self.running:  # a redelivery while this actor still works on it
            return {"outcome": "busy", "owner": self.name}
        task = asyncio.current_task()
        assert task is not None
        self.running[req.investigation_id] = task
        assert self.services.store is not None
        lease = Lease(self.services.store, self.name, f"{self.owner}/{uuid.uuid4().hex[:8]}", self.lease_s)
        started = time.monotonic()
        self.services.active += 1
        metrics.gauge("investigations_active", self.services.active, actor=self.name)
        renew: asyncio.Task[None] | None = None
        keys: list[str] = []
        try:
            state = await self._current_cycle(req)
            keys.append(state.key)
            with span_from_carrier("investigate", req.trace, investigation=req.investigation_id) as carrier:
                req.trace = carrier
                if state.metadata.status in TERMINAL:
                    return await self._publish_result(req, state, started, stored=True)
                if not await lease.take(state.key):
                    fresh, _ = await self.services.store.read(state.key)
                    if fresh.metadata.status in TERMINAL:
                        return await self._publish_result(req, fresh, started, stored=True)
                    return {"outcome": "busy", "owner": fresh.metadata.owner}
                renew = asyncio.create_task(lease.keep(keys))
                try:
                    state = await self._run_cycles(req, state, keys, lease)
                except AgentFailed as exc:
                    state = await self._fail(keys[-1], str(exc))
                return await self._publish_result(req, state, started)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            raise TransientError(f"a specialist actor died during {req.investigation_id}: {exc}") from exc
        finally:
            if renew is not None:
                renew.cancel()
            if keys:  # whatever happened, the next attempt must not wait for this lease to lapse
                await lease.release(keys[-1])
            self.running.pop(req.investigation_id, None)
            self.services.active -= 1
            metrics.gauge("investigations_active", self.services.active, actor=self.name)

    async def _status(self, req: InvestigationRequest, state: PeerState, detail: str = "") -> None:
        bus = self.services.bus
        assert bus is not None
        m = state.metadata
        status = InvestigationStatus(
            investigation_id=m.investigation_id,
            signature=req.signature,
            status=m.status.value,
            cycle=m.cycle,
            phase=m.current_phase.value if m.current_phase else None,
            detail=detail,
            occurrences=req.occurrences,
        )
        with contextlib.suppress(Exception):  # status updates are informative; the Result is what counts
            await bus.publish(bus.names.investigation_status(m.investigation_id), status, headers=req.trace)

    async def _event(self, req: InvestigationRequest, event_type: str, **data: Any) -> None:
        assert self.services.blood is not None  # best effort by the bloodstream's policy: never raises
        await self.services.blood.event(event_type, data, investigation_id=req.investigation_id)

    def _phase_request(self, req: InvestigationRequest, state: PeerState, phase: str, **extra: Any) -> PhaseRequest:
        cfg = self.services.config
        return PhaseRequest(
            investigation_id=req.investigation_id,
            key=state.key,
            phase=phase,
            cycle=state.metadata.cycle,
            report=req.report,
            signature=req.signature,
            kind=req.kind,
            repository=req.repository,
            trace=req.trace,
            budget_usd=cfg.brain.budget_usd_per_investigation,
            **extra,
        )

    async def _run_cycles(
        self, req: InvestigationRequest, state: PeerState, keys: list[str], lease: Lease
    ) -> PeerState:
        store = self.services.store
        assert store is not None
        max_cycles = self.services.config.orchestration.max_cycles
        history = [_cycle_record((await store.read(self._key(req, n)))[0]) for n in range(1, state.metadata.cycle)]
        while True:
            state = await self._run_one_cycle(req, state, history, lease)
            review, express = phase_output(state, "review"), phase_output(state, "express")
            # another cycle when review asks for changes, or when express found untried suspects
            again = review.get("verdict") == "request_changes" or bool(express.get("needs_another_cycle"))
            if not again or state.metadata.cycle >= max_cycles:
                return state
            history.append(_cycle_record(state))
            feedback = review.get("feedback") or express.get("root_cause") or "try the next suspect"
            nxt = PeerState.new(
                req.investigation_id,
                req.kind,
                state.metadata.cycle + 1,
                status=Status.NEW,
                updated_by=self.name,
                signature=req.signature,
                service=state.metadata.service,
                environment=state.metadata.environment,
                occurrences=req.occurrences,
                owner=lease.token,
                lease_expires_at=lease.expiry(),
                extra={"feedback": str(feedback)},
            )
            with contextlib.suppress(StateExists):  # an earlier attempt created it
                await store.create(nxt)
            if not await lease.take(nxt.key):
                raise TransientError(f"cycle {nxt.metadata.cycle} of {req.investigation_id} is held by another worker")
            await lease.release(keys[-1])
            keys.append(nxt.key)
            state, _ = await store.read(nxt.key)

    async def _run_one_cycle(
        self, req: InvestigationRequest, state: PeerState, history: list[dict[str, Any]], lease: Lease
    ) -> PeerState:
        store = self.services.store
        assert store is not None
        feedback = state.metadata.extra.get("feedback") if state.metadata.extra else None
        common = {"history": history, "feedback": str(feedback) if feedback else None}
        if not _done(state, "plan"):
            await self._status(req, state, "planning")
            await run_phase(
                self.services,
                self.agent,
                "orchestrator",
                self._phase_request(req, state, "plan", **common),
                self.cancels,
            )
            state = await lease.read_holding(state.key)
        plan = phase_output(state, "plan")
        if not _done(state, "execute"):
            await self._status(req, state, "executing")
            done = phase_output(state, "execute").get("research") or {}
            todo = [h for h in plan.get("hypotheses", []) if str(h.get("id")) not in done]
            outcomes = await asyncio.gather(
                *(
                    self.pools["research"].call(
                        "handle", self._phase_request(req, state, "execute", plan=plan, hypothesis=h, **common)
                    )
                    for h in todo
                ),
                return_exceptions=True,  # read-only siblings finish before a failure settles the investigation
            )
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:
                raise failure
            state = await lease.read_holding(state.key)
            findings = list((phase_output(state, "execute").get("research") or {}).values())
            await self.pools["implement"].call(
                "handle", self._phase_request(req, state, "execute", plan=plan, findings=findings, **common)
            )
            state = await lease.read_holding(state.key)
            impl = phase_output(state, "execute").get("implement") or {}
            if impl.get("fix_commit"):
                await self._event(req, "fix_committed", branch=impl.get("branch"), fix_commit=impl.get("fix_commit"))
        execute = phase_output(state, "execute")
        findings = list((execute.get("research") or {}).values())
        implementation = execute.get("implement") or {}
        if not _done(state, "express"):
            await self._status(req, state, "expressing")
            await run_phase(
                self.services,
                self.agent,
                "orchestrator",
                self._phase_request(
                    req, state, "express", plan=plan, findings=findings, implementation=implementation, **common
                ),
                self.cancels,
            )
            state = await lease.read_holding(state.key)
        if not _done(state, "review"):
            await self._status(req, state, "reviewing")
            if implementation.get("branch") or implementation.get("status") == "fixed":
                review = await self.pools["review"].call(
                    "handle",
                    self._phase_request(
                        req, state, "review", plan=plan, findings=findings, implementation=implementation, **common
                    ),
                )
                approved = review.get("verdict") == "approve"
                await self._event(
                    req,
                    "review_approved" if approved else "review_rejected",
                    cycle=state.metadata.cycle,
                    reasons=review.get("reasons", []),
                )
            else:
                await record_phase(
                    store,
                    state.key,
                    "review",
                    "review",
                    self.name,
                    status=PhaseStatus.SKIPPED,
                    output={"verdict": "skipped", "reasons": ["no fix to review"]},
                )
            state = await lease.read_holding(state.key)
        return state

    async def _fail(self, key: str, reason: str) -> PeerState:
        assert self.services.store is not None

        def transform(state: PeerState) -> PeerState:
            state.metadata.status = Status.FAILED
            state.metadata.extra = {**state.metadata.extra, "error": reason}
            state.metadata.updated_at, state.metadata.updated_by = utcnow(), self.name
            return state

        state, _ = await self.services.store.update(key, transform, role="orchestrator")
        return state

    async def _publish_result(
        self, req: InvestigationRequest, state: PeerState, started: float, stored: bool = False
    ) -> dict[str, Any]:
        bus, store = self.services.bus, self.services.store
        assert bus is not None and store is not None
        extra = state.metadata.extra or {}
        result = (
            Result.model_validate(extra["result"])
            if stored and "result" in extra
            else build_result(req, state, started)
        )
        ack = await bus.publish(
            bus.names.result(result.status, result.investigation_id),
            result,
            msg_id=result.investigation_id,
            headers=req.trace,
        )
        if state.metadata.status not in TERMINAL or "result" not in extra:

            def transform(s: PeerState) -> PeerState:
                if s.metadata.status not in TERMINAL:
                    s.metadata.status = Status.COMPLETED
                s.metadata.extra = {**s.metadata.extra, "result": result.model_dump(mode="json")}
                s.metadata.owner, s.metadata.lease_expires_at = None, None
                s.metadata.updated_at, s.metadata.updated_by = utcnow(), self.name
                return s

            state, _ = await store.update(state.key, transform, role="orchestrator")
        await self._status(req, state, f"result: {result.status}")
        if not ack.duplicate:
            kind = "investigation_failed" if result.status == "failed" else "investigation_completed"
            await self._event(req, kind, status=result.status, cycles=result.cycles, error=result.error)
            metrics.inc("results_published", status=result.status)
            metrics.observe("investigation_duration_s", result.duration_s, status=result.status)
        return {
            "outcome": "result",
            "status": result.status,
            "duplicate": bool(ack.duplicate),
            "result": result.model_dump(mode="json"),
        }
