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
import functools
import logging
import os
import time
import uuid
from typing import Any

import ray

from swarm.agent import Cancelled
from swarm.bus.names import HDR_TRACEPARENT
from swarm.delivery.approval import ApprovalGate
from swarm.delivery.deliver import deliver, delivers, for_agents
from swarm.errors import AgentFailed, StateExists, StateNotFound, SwarmError, SwarmUnavailable, TransientError
from swarm.models import InvestigationStatus, Result, utcnow
from swarm.runtime.coalesce import Coalesced
from swarm.runtime.cycle import CycleOutputs, PhaseInputs, Step, run_cycles
from swarm.runtime.lease import TERMINAL, Lease
from swarm.runtime.outcome import build_result, outputs_of
from swarm.runtime.phasemark import Announcer
from swarm.runtime.registry import BUDGET_NAME, PoolClient
from swarm.runtime.requests import InvestigationRequest, PhaseRequest
from swarm.runtime.roles import AgentHost, record_phase, run_phase
from swarm.runtime.services import ActorSpec, CommsPublisher
from swarm.state import PeerState
from swarm.state.model import PhaseStatus, Status, parse_key, validate_stored
from swarm.telemetry import metrics
from swarm.telemetry.tracing import span_from_carrier
from swarm.workspaces import discard_settled

__all__ = ["OrchestratorActor", "PeerCycle"]

log = logging.getLogger("swarm.runtime.orchestrator")


class OrchestratorActor(AgentHost):
    def __init__(self, spec: ActorSpec, index: int) -> None:
        super().__init__(spec, "orchestrator", index)
        self.lineage = _lineage(self.name)
        self.owner = f"{self.lineage}/{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.pools = {r: PoolClient(r, spec.ray_namespace) for r in ("research", "implement", "review")}
        self.lease_s = max(30.0, self.services.config.intake.in_progress_interval_s * 3)
        self.running: dict[str, asyncio.Task[Any]] = {}  # investigation id -> the call working on it
        self.cancelled: dict[str, str] = {}  # investigation id -> why an operator cancelled it

    async def close(self) -> None:
        """Stop: cancel running investigations (each releases its lease, so the report's redelivery
        is taken up at once elsewhere instead of waiting for the lease to lapse), then disconnect."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        await super().close()

    async def cancel(self, investigation_id: str, reason: str = "cancelled") -> bool:  # type: ignore[override]
        """Stop an investigation this actor runs at its next step (and its own phase now); True if it runs here."""
        if investigation_id not in self.running:
            return False
        self.cancelled[investigation_id] = reason
        await super().cancel(investigation_id, reason)
        return True

    # -- the cycle -----------------------------------------------------------------------
    async def _current_cycle(self, req: InvestigationRequest, lease: Lease) -> tuple[PeerState, bool]:
        """The investigation's latest cycle, and whether this call created it. A new investigation's
        first cycle is created already held by `lease` (one write, no read: the usual case), an
        existing one's cycles are walked."""
        store, names = self.services.store, self.services.bus.names
        first = self._first_cycle(req, owner=lease.token, lease_expires_at=lease.expiry())
        with contextlib.suppress(StateExists):  # a redelivery, or a later cycle: walk them below
            await store.create(first)
            return first, True
        cycle, latest = 1, None
        while True:
            try:
                latest, _ = await store.read(names.peer_key(req.kind, req.investigation_id, cycle))
            except StateNotFound:
                break
            cycle += 1
        if latest is not None:
            return latest, False
        state = self._first_cycle(req)
        with contextlib.suppress(SwarmError):  # StateExists: another attempt created it first
            await store.create(state)
        latest, _ = await store.read(state.key)
        return latest, False

    def _first_cycle(self, req: InvestigationRequest, **held: Any) -> PeerState:
        report = req.report
        return PeerState.new(
            req.investigation_id,
            req.kind,
            1,
            status=Status.NEW,
            updated_by=self.name,
            signature=req.signature,
            service=report.get("service"),
            environment=report.get("environment"),
            occurrences=req.occurrences,
            **held,
        )

    async def investigate(self, req: InvestigationRequest) -> dict[str, Any]:
        await self.services.start()
        if req.investigation_id in self.running:  # a redelivery while this actor still works on it
            return {"outcome": "busy", "owner": self.name}
        task = asyncio.current_task()
        assert task is not None
        self.running[req.investigation_id] = task
        lease = Lease(self.services.store, self.name, f"{self.owner}/{uuid.uuid4().hex[:8]}", self.lease_s,
                      lineage=self.lineage)
        started = time.monotonic()
        self.services.active += 1
        metrics.gauge("investigations_active", self.services.active, actor=self.name)
        renew: asyncio.Task[None] | None = None
        keys: list[str] = []
        try:
            state, created = await self._current_cycle(req, lease)
            keys.append(state.key)
            with span_from_carrier("investigate", req.trace, investigation=req.investigation_id) as carrier:
                req.trace = carrier
                if state.metadata.status in TERMINAL:
                    return await self._publish_result(req, state, started, stored=True)
                if state.metadata.owner != lease.token and not await lease.take(state.key):
                    fresh, _ = await self.services.store.read(state.key)
                    if fresh.metadata.status in TERMINAL:
                        return await self._publish_result(req, fresh, started, stored=True)
                    return {"outcome": "busy", "owner": fresh.metadata.owner}
                renew = asyncio.create_task(lease.keep(keys))
                host = PeerCycle(self, req, keys, lease)
                try:
                    if created:  # no earlier attempt ran a phase (each runs on this state): nothing spent
                        host.spent_usd = 0.0
                    await run_cycles(host, self.services.config.orchestration.max_cycles)
                    state = host.state or state
                except AgentFailed as exc:
                    state = await self._fail(keys[-1], str(exc))
                except Cancelled as exc:  # an operator cancelled it (control plane): a failed Result says so
                    reason = self.cancelled.pop(req.investigation_id, None) or str(exc)
                    state = await self._fail(keys[-1], f"cancelled: {reason}")
                finally:
                    await host.announcer.settle()  # no phase status after the result's
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
            self.cancelled.pop(req.investigation_id, None)
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
        # informative (the Result is what counts): pipelined, in order with this actor's other publishes
        with contextlib.suppress(Exception):
            ack = await bus.publish_soon(bus.names.investigation_status(m.investigation_id), status,
                                         headers=req.trace)
            _bounded(ack)

    async def _event(self, req: InvestigationRequest, event_type: str, **data: Any) -> None:
        await self.services.blood.emit(event_type, data, investigation_id=req.investigation_id)

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
        fresh = not (stored and "result" in extra)
        result = build_result(req, state, started) if fresh else Result.model_validate(extra["result"])
        says = CommsPublisher(bus, req.investigation_id, self.name, req.trace.get(HDR_TRACEPARENT))
        if fresh and result.status == "fixed" and delivers(req.repository):  # gate, push, pull request
            budget = ray.get_actor(BUDGET_NAME, namespace=self.services.spec.ray_namespace)

            async def waiting() -> None:  # a wait holds no slot; the run's page says it waits, not `fixed`
                await budget.release.remote(req.investigation_id)
                await says.say("status", "awaiting_approval: the fix waits for `swarm approve` or `swarm reject`")

            gate = ApprovalGate(store, self.services.blood, state.key, req.investigation_id, actor=self.name,
                                timeout_s=float((req.repository or {}).get("approval_timeout_s") or 86400.0),
                                on_wait=waiting, cancelled=lambda: self.cancelled.get(req.investigation_id))
            # cancelled while a gate waits: a failed Result `cancelled: <reason>` (a branch pushed before stays said)
            result = await deliver(result, dict(req.repository or {}), gate, error=str(req.report.get("error", "")),
                                   workspace_root=self.services.config.workspace_root)
            state, _ = await store.read(state.key)
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
        if fresh:  # the run's outcome is the Result's, after review and any approval, not the express phase's
            await says.say("result", f"{result.status}: the Result published", {"branch": result.branch})
        await discard_settled(self.services.config.workspace_root, req.investigation_id, self.name,
                              self.services.config.fix_scope(self.services.bus.names.ns))
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


def _lineage(name: str) -> str:
    """The actor `name` across its incarnations: Ray keeps one live process per actor name in a namespace
    of one cluster (the GCS address tells two clusters sharing a NATS namespace apart)."""
    ctx = ray.get_runtime_context()
    return f"{ctx.gcs_address}/{ctx.namespace}/{name}"


def _investigation(req: PhaseRequest) -> str:
    return req.investigation_id


def _bounded(ack: asyncio.Future[Any], timeout_s: float = 5.0) -> None:
    """An informative publish's ack: given up after `timeout_s`, its failure retrieved and dropped."""
    timer = asyncio.get_running_loop().call_later(timeout_s, ack.cancel)

    def done(fut: asyncio.Future[Any]) -> None:
        timer.cancel()
        if not fut.cancelled():
            fut.exception()  # retrieved: a lost status update is not worth a log line per update

    ack.add_done_callback(done)


class PeerCycle:
    """The CycleHost of the runtime: one investigation's cycles on Ray pools, recorded in PEER state.

    Every phase write carries the lease token and is refused unless the token still holds the
    investigation at the revision written (`record_phase(lease=...)`), so a worker that lost the lease
    stops before writing a phase another worker now owns. Between steps the cycle is read from the
    newest revision known here (this actor's own writes, and the revision each specialist's last write
    returned), checked for the lease; KV is asked only when nothing is known.
    """

    def __init__(self, actor: OrchestratorActor, req: InvestigationRequest, keys: list[str], lease: Lease) -> None:
        self.actor, self.req, self.keys, self.lease = actor, req, keys, lease
        self.store = actor.services.store
        self.state: PeerState | None = None
        self.spent_usd: float | None = None  # the investigation's spend as far as this attempt knows
        # a phase's status is published once the phase has run running_mark_s (the first one at once)
        self.announcer = Announcer(self._publish_status, actor.services.config.orchestration.running_mark_s)
        self._phase_calls: dict[str, Coalesced[PhaseRequest, tuple[str, Any]]] = {}

    async def history(self) -> list[dict[str, Any]]:
        _, _, cycle = parse_key(self.keys[-1])
        names = self.actor.services.bus.names
        keys = [names.peer_key(self.req.kind, self.req.investigation_id, n) for n in range(1, cycle)]
        return [outputs_of((await self.store.read(key))[0]).record() for key in keys]

    async def outputs(self) -> CycleOutputs:
        key = self.keys[-1]
        known = self.store.remembered(key)
        if known is None:
            self.state = await self.lease.read_holding(key)
        else:
            state = validate_stored(key, *known)
            if state.metadata.owner != self.lease.token:
                raise TransientError(f"lease on {key} lost to {state.metadata.owner}")
            self.state = state
        return outputs_of(self.state)

    async def call(self, step: Step, inputs: PhaseInputs) -> dict[str, Any]:
        assert self.state is not None
        if (reason := self.actor.cancelled.get(self.req.investigation_id)) is not None:
            raise Cancelled(reason)
        budget = self.actor.services.config.brain.budget_usd_per_investigation
        key = self.state.key
        if self.spent_usd is None:  # once per attempt: earlier attempts and cycles may have spent
            self.spent_usd = await self.actor.services.spent(self.req.investigation_id)
        request = PhaseRequest.of(self.req, key, self.state.metadata.cycle, inputs, budget, lease=self.lease.token,
                                  state=self.store.remembered(key), spent_usd=self.spent_usd)
        request.repository = for_agents(request.repository)  # the swarm pushes when it delivers (gate, PR)
        if step.role == "orchestrator":
            output = await run_phase(self.actor.services, self.actor.agent, step.role, request, self.actor.cancels,
                                   self.actor.tools)
            spent = request.spent_usd
        else:
            kind, answer = await self._phase_call(step.role)(request)
            if kind == "error":
                raise answer
            output, written, spent = answer
            if written is not None:  # the newest revision wins: it was built on every earlier one
                self.store.remember(key, *written)
        self.spent_usd = max(self.spent_usd, spent or 0.0)  # each charge also learns the budget's total
        return dict(output)

    def _phase_call(self, role: str) -> Coalesced[PhaseRequest, tuple[str, Any]]:
        """This investigation's calls to `role` made in one turn (a fan-out) go to one replica as one call
        (its writes take turns on one store: no lost CAS). Not across investigations: one actor call
        answers when its last phase does, and one investigation's quick phase must not wait for another's
        slow one."""
        if role not in self._phase_calls:
            spread = functools.partial(self.actor.pools[role].spread, "handle_phases", together=_investigation)
            self._phase_calls[role] = Coalesced(spread)
        return self._phase_calls[role]

    async def skip(self, step: Step, output: dict[str, Any]) -> None:
        await record_phase(self.store, self.keys[-1], step.role, step.phase, self.actor.name,
                           status=PhaseStatus.SKIPPED, output=output, lease=self.lease.token)

    async def status(self, detail: str) -> None:
        await self.announcer.announce(detail)

    async def _publish_status(self, detail: str) -> None:
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
