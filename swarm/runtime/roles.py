"""Role actors: `research-<i>`, `implement-<i>`, `review-<i>` host one agent each.

The actor builds the agent's context (state access through its own role, agent messages, events,
cancellation, budget), runs the agent, and writes the phase output to PEER state with its role.

    actor = RoleActor.options(name="research-0", namespace=ns, max_concurrency=4).remote(spec, "research", 0)
    output = await actor.handle.remote(request)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pickle
import sys
import time
from datetime import datetime
from typing import Any

from swarm.agent import AgentContext, Budget, Cancelled, CancelToken
from swarm.bus.names import HDR_TRACEPARENT
from swarm.config import load_object
from swarm.errors import AgentFailed, BudgetExhausted, SwarmError, TransientError
from swarm.models import ErrorReport, utcnow
from swarm.runtime.cycle import merge_output, step_for
from swarm.runtime.phasemark import lease_known_held, marked, running_alongside
from swarm.runtime.requests import PhaseRequest
from swarm.runtime.services import ActorServices, ActorSpec, CommsPublisher
from swarm.runtime.tooltask import tool_runner
from swarm.state import PeerState, PeerStateStore
from swarm.state.model import PhaseStatus, Status
from swarm.telemetry import metrics
from swarm.telemetry.tracing import span_from_carrier
from swarm.toolrunner import ToolRunner, current_runner, use_runner

__all__ = ["AgentHost", "RoleActor", "PhaseStateAccess", "record_phase", "run_phase"]

log = logging.getLogger("swarm.runtime.roles")
_CANCELLED_KEPT = 1000  # investigation ids a role actor remembers as cancelled

_STATUS_OF_PHASE = {
    "plan": Status.PLANNING,
    "execute": Status.EXECUTING,
    "express": Status.EXPRESSING,
    "review": Status.REVIEWING,
}
# an investigation's status a late phase write never overwrites
_SETTLED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.AWAITING_APPROVAL)


async def record_phase(
    store: PeerStateStore,
    key: str,
    role: str,
    phase: str,
    actor: str,
    *,
    output: dict[str, Any] | None = None,
    status: PhaseStatus,
    hypothesis: dict[str, Any] | None = None,
    lease: str | None = None,
    started_at: datetime | None = None,
) -> PeerState:
    """Write a phase's status (and output) through the store, as `role`. With `lease` (a token), the
    write is refused (TransientError) unless that token holds the investigation at the very revision
    written: a worker that lost its lease can never write a phase another worker now owns.
    `started_at`: when the call began (a phase that finished before its RUNNING record was due is
    written once, DONE, with it; see swarm.runtime.phasemark)."""

    def transform(state: PeerState) -> PeerState:
        if lease is not None and state.metadata.owner != lease:
            raise TransientError(f"lease on {key} lost to {state.metadata.owner}")
        now = utcnow()
        ph = state.phase(phase)
        ph.status = status
        ph.owner = actor
        if status != PhaseStatus.SKIPPED and ph.started_at is None:
            ph.started_at = min(started_at or now, now)
        if status in (PhaseStatus.DONE, PhaseStatus.FAILED):
            ph.completed_at = now
        if output is not None:
            ph.output = merge_output(role, hypothesis, ph.output, output)
        state.metadata.current_phase = phase  # type: ignore[assignment]
        if status != PhaseStatus.SKIPPED and state.metadata.status not in _SETTLED:
            state.metadata.status = _STATUS_OF_PHASE[phase]  # also when its RUNNING record was never due
        state.metadata.updated_at = now
        state.metadata.updated_by = actor
        return state

    state, _ = await store.update(key, transform, role=role)
    return state


class PhaseStateAccess:
    """StateAccess for agents: read the whole state, write only the role's own phase output."""

    def __init__(self, store: PeerStateStore, key: str, role: str, phase: str) -> None:
        self.store, self.key, self.role, self.phase = store, key, role, phase

    async def read(self) -> dict[str, Any]:
        state, _ = await self.store.read(self.key)
        return state.model_dump(mode="json")

    async def update_output(self, transform: Any) -> dict[str, Any]:
        def apply(state: PeerState) -> PeerState:
            ph = state.phase(self.phase)
            ph.output = transform(dict(ph.output) if isinstance(ph.output, dict) else {})
            return state

        state, _ = await self.store.update(self.key, apply, role=self.role)
        out = state.phase(self.phase).output
        return dict(out) if isinstance(out, dict) else {}


def build_context(
    services: ActorServices, role: str, req: PhaseRequest, cancel: CancelToken, spent_usd: float = 0.0
) -> AgentContext:
    return AgentContext(
        investigation_id=req.investigation_id,
        role=role,
        phase=req.phase,  # type: ignore[arg-type]
        cycle=req.cycle,
        report=ErrorReport.model_validate(req.report),
        signature=req.signature,
        kind=req.kind,
        plan=req.plan,
        hypothesis=req.hypothesis,
        findings=req.findings,
        implementation=req.implementation,
        feedback=req.feedback,
        history=req.history,
        repository=req.repository,
        config=services.spec.config,
        messages=CommsPublisher(services.bus, req.investigation_id, services.service, req.trace.get(HDR_TRACEPARENT)),
        events=services.blood.for_investigation(req.investigation_id, services.service),
        state=PhaseStateAccess(services.store, req.key, role, req.phase),
        cancel=cancel,
        budget=Budget(
            limit_usd=req.budget_usd,
            spent_usd=spent_usd,
            on_charge=functools.partial(services.charge, req.investigation_id),
        ),
        namespace=services.config.fix_scope(services.bus.names.ns),
    )


class AgentHost:
    """What every agent-hosting actor has: its services, its agent (by dotted path), cancellation."""

    def __init__(self, spec: ActorSpec, role: str, index: int) -> None:
        self.role, self.name = role, f"{role}-{index}"
        self.services = ActorServices(spec, service=self.name, role=role)
        role_cfg = self.services.config.roles[role]
        self.agent = load_object(role_cfg.agent)(role_cfg.options)
        self.cancels: dict[str, CancelToken] = {}
        self.cancelled_ids: dict[str, str] = {}  # investigation -> why: a phase still waiting for a slot never starts
        self.tools = tool_runner(self.services.config.tools, role)  # heavy tool work: Ray tasks

    async def ready(self) -> str:
        await self.services.start()
        return self.name

    async def active(self) -> int:
        return self.services.active

    async def ops(self) -> dict[str, int]:
        """Operation counts of this actor's process (swarm.telemetry.ops)."""
        return self.services.ops()

    async def pid(self) -> int:
        """The worker process (benchmarks sum the actors' RSS)."""
        return os.getpid()

    async def close(self) -> None:
        """Kill the tool runs of abandoned phases, close NATS and stop the heartbeat (a last 'stopping' beat)
        before the actor is killed."""
        stop = getattr(getattr(self, "tools", None), "stop", None)
        if stop is not None:
            with contextlib.suppress(Exception):
                stop()
        await self.services.close()

    async def cancel(self, investigation_id: str, reason: str = "cancelled") -> None:
        self.cancelled_ids[investigation_id] = reason
        while len(self.cancelled_ids) > _CANCELLED_KEPT:
            del self.cancelled_ids[next(iter(self.cancelled_ids))]
        for key, token in self.cancels.items():
            if key.startswith(investigation_id):
                token.cancel(reason)


class RoleActor(AgentHost):
    """A Ray async actor hosting one agent of one role (research, implement, review)."""

    def __init__(self, spec: ActorSpec, role: str, index: int) -> None:
        super().__init__(spec, role, index)
        # phases at once: Ray's max_concurrency counts calls, and a handle_phases call carries several
        self._slots = asyncio.Semaphore(max(1, self.services.config.roles[role].max_concurrency))

    async def handle(self, req: PhaseRequest) -> dict[str, Any]:
        await self.services.start()
        return await run_phase(self.services, self.agent, self.role, req, self.cancels, self.tools)

    async def handle_phase(
        self, req: PhaseRequest
    ) -> tuple[dict[str, Any], tuple[int, bytes] | None, float | None]:
        """`handle`, the (revision, value) of the state this phase wrote last (the caller reads the
        cycle on from there instead of asking KV again) and the investigation's spend after it."""
        async with self._slots:
            if (why := self.cancelled_ids.get(req.investigation_id)) is not None:  # cancelled while it waited
                raise Cancelled(why)
            output = await self.handle(req)
        return output, self.services.store.remembered(req.key), req.spent_usd

    async def handle_phases(self, reqs: list[PhaseRequest]) -> list[tuple[str, Any]]:
        """`handle_phase` for several calls at once (one investigation's fan-out: one actor call, and its
        writes on one store, instead of racing ones): ("ok", answer) or ("error", exception) each, in
        order; every call finishes before the answer (read-only siblings finish before a failure
        settles the investigation). At most the role's max_concurrency phases run at once."""
        done = await asyncio.gather(*(self.handle_phase(r) for r in reqs), return_exceptions=True)
        return [("error", _portable(r)) if isinstance(r, BaseException) else ("ok", r) for r in done]


async def run_phase(
    services: ActorServices,
    agent: Any,
    role: str,
    req: PhaseRequest,
    cancels: dict[str, CancelToken],
    tools: ToolRunner | None = None,
) -> dict[str, Any]:
    """Run one agent call for one phase; record RUNNING, then the output (or the failure) in PEER state.
    The agent's `run_tool` calls go to `tools` (the actor's Ray task runner) during the call.

    Raises AgentFailed when the agent raises or times out (the failure is recorded first).
    """
    store, name = services.store, services.service
    step = step_for(role, req.phase)
    if req.state is not None:  # the caller's view: the first write tries on it without a read
        store.remember(req.key, *req.state)
    token = CancelToken()
    call_id = f"{req.investigation_id}:{req.phase}:{(req.hypothesis or {}).get('id', '')}"
    cancels[call_id] = token
    services.active += 1
    started = time.monotonic()
    began = utcnow()
    mark_s = services.config.orchestration.running_mark_s

    async def running() -> None:
        await record_phase(store, req.key, role, req.phase, name, status=PhaseStatus.RUNNING,
                           hypothesis=req.hypothesis, lease=req.lease, started_at=began)

    try:
        with span_from_carrier(f"{role}.{req.phase}", req.trace, investigation=req.investigation_id):
            later = lease_known_held(req, mark_s)  # RUNNING only if the phase lasts mark_s
            alongside = not later and running_alongside(req, mark_s)  # RUNNING as the agent starts
            if not (later or alongside):  # RUNNING first: it checks the lease in KV before the agent runs
                await running()
            spent = req.spent_usd if req.spent_usd is not None else await services.spent(req.investigation_id)
            ctx = build_context(services, role, req, token, spent)
            try:
                with use_runner(tools or current_runner()):  # the agent's task (and its threads) inherit it
                    call = asyncio.wait_for(agent.handle(ctx), timeout=services.config.orchestration.phase_timeout_s)
                    output = await marked(call, running if later or alongside else None, mark_s)
                if not isinstance(output, dict):
                    raise TypeError(f"agent returned {type(output).__name__}, expected a dict")
                output = step.output.parse(output)  # typed: what the cycle reads must be readable
                req.spent_usd = ctx.budget.spent_usd  # handed back: the next phase starts from it
            except BudgetExhausted as exc:  # the investigation's budget is spent: a failure, not a retry
                await record_phase(
                    store,
                    req.key,
                    role,
                    req.phase,
                    name,
                    output={"error": str(exc)},
                    status=PhaseStatus.FAILED,
                    hypothesis=req.hypothesis,
                    lease=req.lease,
                    started_at=began,
                )
                raise AgentFailed(f"{name} in phase {req.phase}: {exc}") from exc
            except (SwarmError, Cancelled):
                raise
            except Exception as exc:
                reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                await record_phase(
                    store,
                    req.key,
                    role,
                    req.phase,
                    name,
                    output={"error": reason},
                    status=PhaseStatus.FAILED,
                    hypothesis=req.hypothesis,
                    lease=req.lease,
                    started_at=began,
                )
                raise AgentFailed(f"{name} failed in phase {req.phase}: {reason}") from exc
            done = PhaseStatus.DONE if step.closes_phase else PhaseStatus.RUNNING  # research leaves execute open
            await record_phase(store, req.key, role, req.phase, name, output=output, status=done,
                               hypothesis=req.hypothesis, lease=req.lease, started_at=began)
            return output
    finally:
        services.active -= 1
        cancels.pop(call_id, None)
        metrics.observe("phase_duration_s", time.monotonic() - started, role=role, phase=req.phase,
                        outcome="ok" if sys.exc_info()[0] is None else "failed")


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it crosses Ray intact (the caller re-raises it: same type, same
    handling), else a TransientError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - whatever does not pickle is described instead
        return TransientError(f"{type(exc).__name__}: {exc}")
