"""Orchestrator actors (`orchestrator-<i>`): run an investigation's PEER cycles (swarm.runtime.cycle) to a Result.

    outcome = await orchestrators.call("investigate", InvestigationRequest(...))

`PeerCycle` is the table's host here: the orchestrator's own phases run on this actor, the others
on the research/implement/review pools, and every phase is recorded in PEER state before the next
starts, so a redelivered report resumes where the last attempt stopped and never does a finished
phase twice. The Result is published with Nats-Msg-Id = investigation id before the state is
marked COMPLETED: a crash between the two republishes the same Result, which JetStream drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from typing import Any

import ray

from swarm.errors import AgentFailed, StateExists, StateNotFound, SwarmError, SwarmUnavailable, TransientError
from swarm.models import InvestigationStatus, Result, utcnow
from swarm.runtime.cycle import CycleOutputs, PhaseInputs, Step, run_cycles
from swarm.runtime.lease import TERMINAL, Lease
from swarm.runtime.outcome import build_result, outputs_of
from swarm.runtime.registry import PoolClient
from swarm.runtime.requests import InvestigationRequest, PhaseRequest
from swarm.runtime.roles import AgentHost, record_phase, run_phase
from swarm.runtime.services import ActorSpec
from swarm.state import PeerState
from swarm.state.model import PhaseStatus, Status
from swarm.telemetry import metrics
from swarm.telemetry.tracing import span_from_carrier

__all__ = ["OrchestratorActor", "PeerCycle"]

log = logging.getLogger("swarm.runtime.orchestrator")


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
        store, names = self.services.store, self.services.bus.names
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
        if req.investigation_id in self.running:  # a redelivery while this actor still works on it
            return {"outcome": "busy", "owner": self.name}
        task = asyncio.current_task()
        assert task is not None
        self.running[req.investigation_id] = task
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
                    host = PeerCycle(self, req, keys, lease)
                    await run_cycles(host, self.services.config.orchestration.max_cycles)
                    state = host.state or state
                except AgentFailed as exc:
                    state = await self._fail(keys[-1], str(exc))
                return await self._publish_result(req, state, started)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            # the swarm's fault, not the report's: requeued (never dead-lettered), resumed from PEER state
            raise SwarmUnavailable(f"a specialist actor died during {req.investigation_id}: {exc}") from exc
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
        await self.services.blood.event(event_type, data, investigation_id=req.investigation_id)

    async def _fail(self, key: str, reason: str) -> PeerState:

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


class PeerCycle:
    """The CycleHost of the runtime: one investigation's cycles on Ray pools, recorded in PEER state.

    Between steps the state is re-read holding the lease (`Lease.read_holding`): a worker that lost
    it stops before writing a phase another worker now owns.
    """

    def __init__(self, actor: OrchestratorActor, req: InvestigationRequest, keys: list[str], lease: Lease) -> None:
        self.actor, self.req, self.keys, self.lease = actor, req, keys, lease
        self.store = actor.services.store
        self.state: PeerState | None = None

    async def history(self) -> list[dict[str, Any]]:
        state, _ = await self.store.read(self.keys[-1])
        names = self.actor.services.bus.names
        keys = [names.peer_key(self.req.kind, self.req.investigation_id, n) for n in range(1, state.metadata.cycle)]
        return [outputs_of((await self.store.read(key))[0]).record() for key in keys]

    async def outputs(self) -> CycleOutputs:
        self.state = await self.lease.read_holding(self.keys[-1])
        return outputs_of(self.state)

    async def call(self, step: Step, inputs: PhaseInputs) -> dict[str, Any]:
        assert self.state is not None
        budget = self.actor.services.config.brain.budget_usd_per_investigation
        request = PhaseRequest.of(self.req, self.state.key, self.state.metadata.cycle, inputs, budget)
        if step.role == "orchestrator":
            return await run_phase(self.actor.services, self.actor.agent, step.role, request, self.actor.cancels)
        return dict(await self.actor.pools[step.role].call("handle", request))

    async def skip(self, step: Step, output: dict[str, Any]) -> None:
        await record_phase(self.store, self.keys[-1], step.role, step.phase, self.actor.name,
                           status=PhaseStatus.SKIPPED, output=output)

    async def status(self, detail: str) -> None:
        assert self.state is not None
        await self.actor._status(self.req, self.state, detail)

    async def event(self, event_type: str, data: dict[str, Any]) -> None:
        await self.actor._event(self.req, event_type, **data)

    async def next_cycle(self, feedback: str) -> None:
        assert self.state is not None
        req, state, lease = self.req, self.state, self.lease
        nxt = PeerState.new(
            req.investigation_id,
            req.kind,
            state.metadata.cycle + 1,
            status=Status.NEW,
            updated_by=self.actor.name,
            signature=req.signature,
            service=state.metadata.service,
            environment=state.metadata.environment,
            occurrences=req.occurrences,
            owner=lease.token,
            lease_expires_at=lease.expiry(),
            extra={"feedback": feedback},
        )
        with contextlib.suppress(StateExists):  # an earlier attempt created it
            await self.store.create(nxt)
        if not await lease.take(nxt.key):
            raise TransientError(f"cycle {nxt.metadata.cycle} of {req.investigation_id} is held by another worker")
        await lease.release(self.keys[-1])
        self.keys.append(nxt.key)
