"""Intake actors (`intake-<i>`): the queue group on each error stream's `error-fixer` consumer.

For each fetched report: validate (malformed: dead-letter with the reason, term) -> group by
signature (a known signature counts one more occurrence, ack) -> injection filter (rejected:
SecurityRejection, term) -> budget admission (wait, never drop) -> hand to an orchestrator,
keeping the message alive with in-progress acks -> ack only after the Result is published.

Transient failures nak with exponential backoff; the last allowed delivery is dead-lettered
instead. Reports that exhaust max deliver elsewhere (a crashed process) reach us as JetStream
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
from nats.js.errors import FetchTimeoutError, NotFoundError
from pydantic import ValidationError

from swarm.bus.names import ADVISORY_CONSUMER, ERROR_CONSUMER, HDR_MSG_ID
from swarm.config import load_object
from swarm.errors import Settlement, SwarmError, TransientError
from swarm.models import DeadLetter, ErrorReport, Result
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.orchestrator import InvestigationRequest
from swarm.runtime.registry import BUDGET_NAME, PoolClient
from swarm.runtime.services import ActorServices, ActorSpec
from swarm.security.rejection import rejection_for
from swarm.telemetry import metrics
from swarm.telemetry.tracing import span_from_headers

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

    async def start(self) -> str:
        await self.services.start()
        bus = self.services.bus
        assert bus is not None
        self.index = await SignatureIndex(bus.js, bus.names).open()
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
        try:
            await self._process(stream, msg)
        except asyncio.CancelledError:  # drain timed out: hand the report back for redelivery
            try:
                await self._hand_back(stream, msg)
            except Exception as exc:  # redelivered after ack wait instead
                log.warning("%s: could not hand a report back: %r", self.name, exc)
            raise
        except Exception as exc:
            log.exception("%s: unexpected failure on %s", self.name, stream)
            try:
                await self._retry_or_dead_letter(stream, msg, f"{type(exc).__name__}: {exc}")
            except Exception:  # nothing settled it: JetStream redelivers after ack wait
                log.exception("%s: could not settle a report from %s", self.name, stream)

    async def _hand_back(self, stream: str, msg: Msg) -> None:
        """A nak uses up a delivery. On the last one a re-published copy (original headers, so the
        same trace) takes the report's place and its claim on the signature: a drain never dead-letters
        a report that did nothing wrong."""
        if msg.metadata.num_delivered < self.max_deliver.get(stream, 3):
            await msg.nak()
            return
        bus, index = self.services.bus, self.index
        assert bus is not None and index is not None
        headers = {k: v for k, v in _headers(msg).items() if k != HDR_MSG_ID}  # a new message, not a duplicate
        ack = await bus.js.publish(msg.subject, msg.data, headers=headers)
        with contextlib.suppress(ValidationError):
            signature = ErrorReport.model_validate_json(msg.data).signature
            await index.transfer(signature, (stream, msg.metadata.sequence.stream), (ack.stream, ack.seq))
        await msg.term()

    # -- one report ----------------------------------------------------------------------
    async def _process(self, stream: str, msg: Msg) -> None:
        bus, index = self.services.bus, self.index
        assert bus is not None and index is not None
        meta = msg.metadata
        if meta.num_delivered == 1:
            self.counters["received"] += 1
            metrics.inc("reports_received", stream=stream)
        with span_from_headers("intake", _headers(msg), stream=stream) as carrier:
            try:
                report = ErrorReport.model_validate_json(msg.data)
            except ValidationError as exc:
                await self._dead_letter(stream, msg, f"invalid ErrorReport: {_explain(exc)}", "InvalidInput")
                return
            claim = await index.claim(report, (stream, meta.sequence.stream))
            if claim.kind == "duplicate":
                self.counters["duplicates"] += 1
                metrics.inc("duplicates_grouped")
                await self.services.blood.event(  # type: ignore[union-attr]
                    "duplicate_grouped",
                    {"signature": report.signature, "occurrences": claim.entry.get("occurrences")},
                    investigation_id=claim.investigation_id,
                )
                await msg.ack()
                metrics.inc("reports_acked")
                return
            if claim.entry.get("status") == "rejected":
                await msg.term()
                return
            verdict = self.filter.check_report(report)
            if verdict.rejected:
                await self._reject(report, verdict, claim.investigation_id)
                await index.set_status(report.signature, "rejected")
                await msg.term()
                return
            if claim.kind == "new":
                self.counters["investigations"] += 1
                await self.services.blood.event(  # type: ignore[union-attr]
                    "investigation_started",
                    {"signature": report.signature, "service": report.service, "environment": report.environment},
                    investigation_id=claim.investigation_id,
                )
            await self._investigate(stream, msg, report, claim.investigation_id, carrier, claim.entry)

    async def _investigate(
        self, stream: str, msg: Msg, report: ErrorReport, inv: str, carrier: dict[str, str], entry: dict[str, Any]
    ) -> None:
        budget = ray.get_actor(BUDGET_NAME, namespace=self.spec.ray_namespace)
        keepalive = asyncio.create_task(self._keep_alive(msg, budget, inv))
        try:
            while True:  # over budget: the investigation waits (in-progress acks), never dropped
                admitted, _reason = await budget.admit.remote(inv)
                if admitted:
                    break
                await asyncio.sleep(self.services.config.budget.retry_delay_s)
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
            except (TransientError, ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                await self._retry_or_dead_letter(stream, msg, str(exc))
                return
            except SwarmError as exc:  # settled as the error tree says: only RETRY comes back
                if exc.settlement == Settlement.RETRY:
                    await self._retry_or_dead_letter(stream, msg, str(exc))
                else:
                    await self._dead_letter(stream, msg, str(exc), type(exc).__name__)
                return
            finally:
                self.services.active -= 1
                await budget.release.remote(inv)
            if not outcome.get("duplicate"):
                self.counters["results"] += 1
            await msg.ack_sync()
            metrics.inc("reports_acked")
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

    # -- settlement ----------------------------------------------------------------------
    async def _retry_or_dead_letter(self, stream: str, msg: Msg, reason: str) -> None:
        delivered = msg.metadata.num_delivered
        if delivered >= self.max_deliver.get(stream, 3):
            await self._dead_letter(stream, msg, f"gave up after {delivered} deliveries: {reason}", "TransientError")
            return
        delay = self.cfg.nak_delay_s * 2 ** (delivered - 1)
        with contextlib.suppress(Exception):
            await msg.nak(delay=delay)

    async def _dead_letter(self, stream: str, msg: Msg, reason: str, error_type: str) -> None:
        """DeadLetter with the reason and the original bytes; term. A signature whose opening report is
        dead-lettered is marked so, and its next occurrence reopens the investigation."""
        bus, index = self.services.bus, self.index
        assert bus is not None and index is not None
        seq = msg.metadata.sequence.stream
        dl = DeadLetter(
            reason=reason,
            error_type=error_type,
            source_subject=msg.subject,
            source_stream=stream,
            source_sequence=seq,
            deliveries=msg.metadata.num_delivered,
            payload=DeadLetter.encode_payload(msg.data),
            headers=_headers(msg),
        )
        await bus.publish(bus.names.dead("errors"), dl, msg_id=bus.names.dead_letter_msg_id(stream, seq))
        await self._release_signature(msg.data, (stream, seq))
        await msg.term()
        self.counters["dead_lettered"] += 1
        metrics.inc("reports_dead_lettered", reason=error_type)

    async def _release_signature(self, data: bytes, source: tuple[str, int]) -> None:
        """If this report held its signature's investigation, the next occurrence may reopen it."""
        try:
            signature = ErrorReport.model_validate_json(data).signature
        except ValidationError:
            return  # malformed: it never held a signature
        await self.index.mark_dead_lettered(signature, source)  # type: ignore[union-attr]

    async def _reject(self, report: ErrorReport, verdict: Any, inv: str) -> None:
        """SecurityRejection on `{ns}.security.rejected`, and the outcome on `{ns}.results.rejected.<id>`."""
        bus = self.services.bus
        assert bus is not None
        rejection = rejection_for(report, verdict)
        await bus.publish(bus.names.security_rejected, rejection, msg_id=bus.names.rejection_msg_id(inv))
        result = Result(
            investigation_id=inv,
            signature=report.signature,
            status="rejected",
            service=report.service,
            environment=report.environment,
            error=rejection.reason,
        )
        await bus.publish(bus.names.result("rejected", inv), result, msg_id=inv)
        self.counters["rejected"] += 1
        metrics.inc("reports_rejected")
        await self.services.blood.event(  # type: ignore[union-attr]
            "report_rejected", {"rule_ids": rejection.rule_ids, "category": rejection.category}, investigation_id=inv
        )

    async def _advisory_loop(self, sub: Any) -> None:
        """Stored MAX_DELIVERIES advisories: a report exhausted its deliveries (in a crashed process,
        say); dead-letter it from the stream. They are kept in a stream, so none is missed while no
        intake runs, and each is acked only once its report is dead-lettered."""
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
                    await self._dead_letter_exhausted(json.loads(msg.data))
                    await msg.ack()
                except Exception as exc:  # redelivered by the dead-letterer consumer
                    log.warning("%s: advisory not settled yet: %r", self.name, exc)
                    with contextlib.suppress(Exception):
                        await msg.nak(delay=self.cfg.nak_delay_s)

    async def _dead_letter_exhausted(self, advisory: dict[str, Any]) -> None:
        bus = self.services.bus
        assert bus is not None
        stream, seq = advisory["stream"], int(advisory["stream_seq"])
        try:
            raw = await bus.js.get_msg(stream, seq)
        except NotFoundError:
            return  # settled (acked, or dead-lettered already) after all
        dl = DeadLetter(
            reason=f"reached max deliver ({advisory.get('deliveries')}) without being settled",
            error_type="MaxDeliveries",
            source_subject=raw.subject,
            source_stream=stream,
            source_sequence=seq,
            deliveries=advisory.get("deliveries"),
            payload=DeadLetter.encode_payload(raw.data or b""),
            headers=dict(raw.headers or {}),
        )
        await bus.publish(bus.names.dead("errors"), dl, msg_id=bus.names.dead_letter_msg_id(stream, seq))
        await self._release_signature(raw.data or b"", (stream, seq))  # before the delete: retried with it
        await bus.js.delete_msg(stream, seq)
        self.counters["dead_lettered"] += 1
        metrics.inc("reports_dead_lettered", reason="MaxDeliveries")


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors())
