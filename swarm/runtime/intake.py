"""Intake actors (`intake-<i>`): the queue group on each error stream's `error-fixer` consumer.

For each fetched report: validate (malformed: dead-letter with the reason, term) -> group by
signature (a known signature counts one more occurrence, ack) -> injection filter (rejected:
SecurityRejection, term) -> budget admission (wait, never drop) -> hand to an orchestrator,
keeping the message alive with in-progress acks -> ack only after the Result is published.

Every step raises from the error tree (swarm.errors) and `Settler.settle` (swarm.runtime.settle)
decides: ack, nak with backoff (the last allowed delivery is dead-lettered instead), term,
dead-letter, reject. Reports that exhaust max deliver elsewhere (a crashed process) reach us as JetStream
MAX_DELIVERIES advisories, kept in the `{NS}_ADVISORIES` stream, and are dead-lettered from their
stream too. A drain hands unfinished reports back (nak; on the last delivery, a re-published copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any

import ray
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import FetchTimeoutError
from pydantic import ValidationError

from swarm.bus.names import ADVISORY_CONSUMER, ERROR_CONSUMER, HDR_MSG_ID
from swarm.config import load_object
from swarm.errors import InvalidInput, OverBudget, Rejected, SwarmError, TransientError
from swarm.models import ErrorReport
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.registry import BUDGET_NAME, PoolClient
from swarm.runtime.requests import InvestigationRequest
from swarm.runtime.services import ActorServices, ActorSpec
from swarm.runtime.settle import Settler, wait_out
from swarm.telemetry import metrics
from swarm.telemetry.tracing import SpanKind, messaging, span_from_headers

__all__ = ["IntakeActor", "COUNTER_KEYS"]

log = logging.getLogger("swarm.runtime.intake")
COUNTER_KEYS = ("received", "investigations", "duplicates", "dead_lettered", "rejected", "results")


def _headers(msg: Msg) -> dict[str, str]:
    return dict(msg.headers or {})


class IntakeActor:
    def __init__(self, spec: ActorSpec, index: int) -> None:
        self.name = f"intake-{index}"
        self.spec = spec
        self.services = ActorServices(spec, service=self.name, role="intake")
        cfg = self.services.config
        self.cfg = cfg.intake
        self.max_deliver: dict[str, int] = {}  # per error stream, from its consumer's config
        self.filter = load_object(self.cfg.filter)(cfg.security)
        self.orchestrators = PoolClient("orchestrator", spec.ray_namespace)
        self.counters: Counter[str] = Counter({k: 0 for k in COUNTER_KEYS})
        self.inflight: set[asyncio.Task[None]] = set()
        self._debt = 0  # tasks running beyond the slot cap (see _fetch_loop)
        self.slots = asyncio.Semaphore(max(4, cfg.budget.max_concurrent_investigations * 2))
        self.running = False
        self.fetchers: list[asyncio.Task[None]] = []
        self.index: SignatureIndex | None = None
        self.settler: Settler | None = None

    async def start(self) -> str:
        await self.services.start()
        bus = self.services.bus
        self.index = await SignatureIndex(bus.js, bus.names).open()
        self.settler = Settler(bus, self.services.blood, self.index, self.counters,
                               max_deliver=self.max_deliver, nak_delay_s=self.cfg.nak_delay_s, actor=self.name)
        self.running = True
        for env in self.cfg.envs:
            stream = bus.names.error_stream(env)
            info = await bus.js.consumer_info(stream, ERROR_CONSUMER)
            self.max_deliver[stream] = info.config.max_deliver or 3
            sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=stream)
            self.fetchers.append(asyncio.create_task(self._fetch_loop(stream, sub), name=f"fetch-{stream}"))
        advisories = await bus.js.pull_subscribe_bind(ADVISORY_CONSUMER, stream=bus.names.advisories_stream)
        self.fetchers.append(asyncio.create_task(self._advisory_loop(advisories), name="advisories"))
        return self.name

    async def stop_fetching(self) -> None:
        """Let each fetch in flight finish (its reports are handed to tasks), then stop: cancelling a
        fetch would strand reports in the client's queue until their ack wait expires."""
        self.running = False
        if self.fetchers:
            _, stuck = await asyncio.wait(set(self.fetchers), timeout=self.cfg.fetch_timeout_s + 2)
            for task in stuck:
                task.cancel()
            for task in stuck:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.fetchers.clear()

    async def drain(self, grace_s: float) -> dict[str, int]:
        """Stop fetching; let in-flight work finish within grace_s, then nak the rest for redelivery."""
        await self.stop_fetching()
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=grace_s)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.services.status = "stopping"
        return dict(self.counters)

    async def stats(self) -> dict[str, Any]:
        return {"name": self.name, "inflight": len(self.inflight), **self.counters}

    async def close(self) -> None:
        await self.stop_fetching()
        await self.services.close()

    # -- fetching ------------------------------------------------------------------------
    async def _fetch_loop(self, stream: str, sub: Any) -> None:
        while self.running:
            # never hold a report without working on it: fetch only as many as there are free slots
            await self.slots.acquire()
            free = 1
            while free < self.cfg.batch and not self.slots.locked():
                await self.slots.acquire()
                free += 1
            try:
                msgs = await sub.fetch(free, timeout=self.cfg.fetch_timeout_s)
            except (TimeoutError, FetchTimeoutError, NatsTimeout):
                msgs = []
            except Exception as exc:  # connection trouble: the client reconnects; try again shortly
                log.warning("%s fetch from %s failed: %s", self.name, stream, exc)
                msgs = []
                await asyncio.sleep(self.cfg.nak_delay_s)
            for _ in range(free - len(msgs)):
                self.slots.release()
            # a fetch may hand over reports left in the client's queue by an earlier one: more than
            # `free`; their slots are owed and paid back as tasks finish, so the cap holds
            self._debt += max(0, len(msgs) - free)
            for msg in msgs:  # no await in this loop: a cancelled fetcher cannot strand a fetched report
                task = asyncio.create_task(self._guarded(stream, msg))
                self.inflight.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.inflight.discard(task)
        if self._debt > 0:
            self._debt -= 1
        else:
            self.slots.release()

    async def _guarded(self, stream: str, msg: Msg) -> None:
        settler = self.settler
        assert settler is not None
        try:
            await self._process(stream, msg)
        except asyncio.CancelledError:  # drain timed out: hand the report back for redelivery
            try:
                await settler.hand_back(stream, msg)
            except Exception as exc:  # redelivered after ack wait instead
                log.warning("%s: could not hand a report back: %r", self.name, exc)
            raise
        except Exception as exc:
            if not isinstance(exc, SwarmError):
                log.exception("%s: unexpected failure on %s", self.name, stream)
            try:
                await settler.settle(stream, msg, exc)
            except Exception:  # nothing settled it: JetStream redelivers after ack wait
                log.exception("%s: could not settle a report from %s", self.name, stream)
        else:
            try:
                await settler.settle(stream, msg)
            except Exception:
                log.exception("%s: could not ack a report from %s", self.name, stream)

    # -- one report: raises what went wrong, returns when the report is done -------------
    async def _process(self, stream: str, msg: Msg) -> None:
        bus, index = self.services.bus, self.index
        assert bus is not None and index is not None
        meta = msg.metadata
        if meta.num_delivered == 1:
            self.counters["received"] += 1
            metrics.inc("reports_received", stream=stream)
        with span_from_headers(f"process {msg.subject}", _headers(msg), SpanKind.CONSUMER, stream=stream,
                               **messaging(msg.subject, "process", _headers(msg).get(HDR_MSG_ID))) as carrier:
            try:
                report = ErrorReport.model_validate_json(msg.data)
            except ValidationError as exc:
                raise InvalidInput(f"invalid ErrorReport: {_explain(exc)}") from exc
            claim = await index.claim(report, (stream, meta.sequence.stream))
            if claim.kind == "duplicate":
                self.counters["duplicates"] += 1
                metrics.inc("duplicates_grouped")
                await self.services.blood.event(
                    "duplicate_grouped",
                    {"signature": report.signature, "occurrences": claim.entry.get("occurrences")},
                    investigation_id=claim.investigation_id,
                )
                return
            if claim.entry.get("status") == "rejected":
                raise Rejected(f"signature {report.signature} was rejected before")
            verdict = self.filter.check_report(report)
            if verdict.rejected:
                raise Rejected("rejected by the prompt-injection filter", verdict, report, claim.investigation_id)
            if claim.kind == "new":
                self.counters["investigations"] += 1
                await self.services.blood.event(
                    "investigation_started",
                    {"signature": report.signature, "service": report.service, "environment": report.environment},
                    investigation_id=claim.investigation_id,
                )
            await self._investigate(msg, report, claim.investigation_id, carrier, claim.entry)

    async def _investigate(
        self, msg: Msg, report: ErrorReport, inv: str, carrier: dict[str, str], entry: dict[str, Any]
    ) -> None:
        budget = ray.get_actor(BUDGET_NAME, namespace=self.spec.ray_namespace)
        keepalive = asyncio.create_task(self._keep_alive(msg, budget, inv))

        async def admit() -> None:  # over budget, the investigation waits (in-progress acks), never dropped
            admitted, reason = await budget.admit.remote(inv)
            if not admitted:
                raise OverBudget(str(reason), retry_delay_s=self.services.config.budget.retry_delay_s)

        try:
            await wait_out(admit)
            self.services.active += 1
            req = InvestigationRequest(
                investigation_id=inv,
                signature=report.signature,
                report=report.model_dump(mode="json"),
                trace=carrier,
                occurrences=int(entry.get("occurrences", 1)),
                repository=self._repository(report.service),
            )
            try:
                while True:
                    outcome = await self.orchestrators.call("investigate", req)
                    if outcome.get("outcome") != "busy":
                        break
                    await asyncio.sleep(self.cfg.in_progress_interval_s)  # a live owner works on it: wait
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                raise TransientError(str(exc)) from exc
            finally:
                self.services.active -= 1
                await budget.release.remote(inv)
            if not outcome.get("duplicate"):
                self.counters["results"] += 1
        finally:
            keepalive.cancel()

    def _repository(self, service: str) -> dict[str, Any] | None:
        repos = self.services.config.repositories
        repo = repos.get(service) or (next(iter(repos.values())) if len(repos) == 1 else None)
        return repo.model_dump() if repo else None

    async def _keep_alive(self, msg: Msg, budget: Any, inv: str) -> None:
        """In-progress acks (ack wait never expires under live work) and a live admission in the budget."""
        while True:
            await asyncio.sleep(self.cfg.in_progress_interval_s)
            with contextlib.suppress(Exception):
                await msg.in_progress()
            with contextlib.suppress(Exception):
                await budget.touch.remote(inv)

    async def _advisory_loop(self, sub: Any) -> None:
        """Stored MAX_DELIVERIES advisories: a report exhausted its deliveries (in a crashed process,
        say); dead-letter it from the stream. They are kept in a stream, so none is missed while no
        intake runs, and each is acked only once its report is dead-lettered."""
        assert self.settler is not None
        while self.running:
            try:
                msgs = await sub.fetch(8, timeout=max(self.cfg.fetch_timeout_s, 1.0))
            except (TimeoutError, FetchTimeoutError, NatsTimeout):
                continue
            except Exception as exc:
                log.warning("%s: advisory fetch failed: %s", self.name, exc)
                await asyncio.sleep(self.cfg.nak_delay_s)
                continue
            for msg in msgs:
                try:
                    await self.settler.dead_letter_exhausted(json.loads(msg.data))
                    await msg.ack()
                except Exception as exc:  # redelivered by the dead-letterer consumer
                    log.warning("%s: advisory not settled yet: %r", self.name, exc)
                    with contextlib.suppress(Exception):
                        await msg.nak(delay=self.cfg.nak_delay_s)


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors())
