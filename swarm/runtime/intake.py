"""Intake actors (`intake-<i>`): the queue group on each error stream's `error-fixer` consumer.

A fetched batch is settled together (swarm.runtime.batch): validate each report (malformed:
dead-letter with the reason, term) -> group by signature, one count per signature per batch
(`SignatureIndex.count`: an occurrence of a known signature is counted once per stream sequence, even
when its ack was lost) -> the duplicates acked in one pipeline. A report that opens (or resumes) an
investigation gets its own task (swarm.runtime.opening): injection filter (rejected:
SecurityRejection, term) -> budget admission (wait, never drop) -> hand to an orchestrator, keeping the
message alive with in-progress acks -> ack only after the Result is published. The fetch grows with
the backlog (`intake.batch` to `intake.max_batch`); only new investigations are held to the free slots.

Every step raises from the error tree (swarm.errors) and `Settler.settle` (swarm.runtime.settle)
decides: ack, nak with backoff (the last allowed delivery is dead-lettered instead), term,
dead-letter, reject. Reports that exhaust max deliver elsewhere (a crashed process) reach us as JetStream
MAX_DELIVERIES advisories, kept in the `{NS}_ADVISORIES` stream, and are dead-lettered from their
stream too. A drain hands unfinished reports back (nak; on the last delivery, a re-published copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import FetchTimeoutError

from swarm.bus.fetch import fetch
from swarm.bus.names import ADVISORY_CONSUMER, ERROR_CONSUMER
from swarm.config import load_object
from swarm.errors import SwarmError
from swarm.models import ErrorReport
from swarm.runtime.batch import Batch, CatchUp, FetchSizer, member_slots, report_parser
from swarm.runtime.coalesce import BudgetCalls
from swarm.runtime.control import PauseSwitch
from swarm.runtime.grouped import GroupedEvents
from swarm.runtime.grouping import SignatureIndex, Tally
from swarm.runtime.lifecycle import LifecyclePolicy
from swarm.runtime.opening import InvestigationOpener
from swarm.runtime.registry import PoolClient
from swarm.runtime.services import ActorServices, ActorSpec
from swarm.runtime.settle import Settler
from swarm.runtime.tasks import report_of_task
from swarm.telemetry import metrics
from swarm.telemetry.logs import Ids

__all__ = ["IntakeActor", "COUNTER_KEYS"]

log = logging.getLogger("swarm.runtime.intake")
COUNTER_KEYS = ("received", "investigations", "duplicates", "dead_lettered", "rejected", "results", "handed_back")


class IntakeActor(InvestigationOpener):
    def __init__(self, spec: ActorSpec, index: int) -> None:
        self.name = f"intake-{index}"
        self.spec = spec
        self.services = ActorServices(spec, service=self.name, role="intake")
        cfg = self.services.config
        self.cfg = cfg.intake
        self.max_deliver: dict[str, int] = {}  # per error stream, from its consumer's config
        self.parsers: dict[str, Callable[[bytes], ErrorReport]] = {}  # stream -> how its messages become reports
        self.filter = load_object(self.cfg.filter)(cfg.security)
        self.orchestrators = PoolClient("orchestrator", spec.ray_namespace)
        self.counters: Counter[str] = Counter({k: 0 for k in COUNTER_KEYS})
        self.inflight: set[asyncio.Task[None]] = set()  # batches being grouped and investigations
        # investigation slots left: this member's share, so the queue group's members split a burst
        self.free = member_slots(cfg.budget.max_concurrent_investigations, cfg.intake.actors)
        self.slot_freed = asyncio.Event()
        self.first_fetch_at = self.last_batch_at = 0.0  # wall clock: benchmarks time intake from these
        self.waiting: set[str] = set()  # investigations waiting for admission (the autoscaler's load)
        self.catch_up = CatchUp(cfg.intake.max_batch)  # new investigations wait while a storm is grouped
        self.grouping = 0  # fetched batches whose slots are still reserved
        self.confirmed: dict[str, dict[str, set[int]]] = {}  # signature -> stream -> acked sequences
        self.counted: dict[tuple[str, str], None] = {}  # (counter, investigation) counted once (oldest dropped)
        self.running = False
        self.switch = PauseSwitch()  # the control plane's pause / resume (swarm.runtime.control)
        self.fetchers: list[asyncio.Task[None]] = []
        self.index: SignatureIndex | None = None
        self.settler: Settler | None = None
        self.budget: BudgetCalls | None = None
        self.grouped = GroupedEvents(lambda: self.services.blood)  # duplicate_grouped, per signature per moment

    async def start(self) -> str:
        await self.services.start()
        bus = self.services.bus
        policy = LifecyclePolicy(self.services.config.lifecycle.quiet_period_s)
        self.index = await SignatureIndex(bus.js, bus.names, policy=policy).open()
        self.settler = Settler(bus, self.services.blood, self.index, self.counters,
                               max_deliver=self.max_deliver, nak_delay_s=self.cfg.nak_delay_s, actor=self.name,
                               objects=self.cfg.dead_letter_objects,
                               workspace_root=self.services.config.workspace_root,
                               fix_scope=self.services.config.fix_scope(bus.names.ns))
        self.running = True
        await self._warm_up()
        for env in self.cfg.envs:
            stream = bus.names.error_stream(env)
            info = await bus.js.consumer_info(stream, ERROR_CONSUMER)
            self.max_deliver[stream] = info.config.max_deliver or 3
            self.settler.ack_wait_s[stream] = float(info.config.ack_wait or 30.0)
            self.parsers[stream] = report_parser(env)
            sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=stream)
            self.fetchers.append(asyncio.create_task(self._fetch_loop(stream, sub), name=f"fetch-{stream}"))
        if self.cfg.tasks:  # operator-submitted investigations (swarm.runtime.tasks): taken like reports
            stream = bus.names.tasks_stream
            info = await bus.js.consumer_info(stream, ERROR_CONSUMER)
            self.max_deliver[stream], self.parsers[stream] = info.config.max_deliver or 3, report_of_task
            sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=stream)
            self.fetchers.append(asyncio.create_task(self._fetch_loop(stream, sub), name=f"fetch-{stream}"))
        advisories = await bus.js.pull_subscribe_bind(ADVISORY_CONSUMER, stream=bus.names.advisories_stream)
        self.fetchers.append(asyncio.create_task(self._advisory_loop(advisories), name="advisories"))
        # what start-up made (modules, Ray, the connections) lives as long as the actor: the collector need
        # not walk it again on every full collection of a storm's garbage
        gc.freeze()
        return self.name

    async def _warm_up(self) -> None:
        """One-time costs paid by start-up, not by the first reports (a storm's first batches would wait on
        them): the budget's and the orchestrators' handles (`ray.get_actor` blocks), the filter's lazy parts.
        Best effort: what is not there yet is resolved on first use, as before."""
        with contextlib.suppress(Exception):
            self._budget()
        with contextlib.suppress(Exception):
            await self.orchestrators.warm()
        with contextlib.suppress(Exception):
            self.filter.check_report(ErrorReport(error="intake warm-up", service="swarm"))

    async def stop_fetching(self) -> None:
        """Let each fetch in flight finish (its reports are handed to tasks), then stop: cancelling a
        fetch would strand reports in the client's queue until their ack wait expires. A fetch that
        outlasts its timeout (a starved loop) is cancelled, and its pull request is then left to expire
        at the server before this returns: until it does, the server may still deliver to it, and the
        next report (a hand-back's re-published copy, say) would sit unread for the whole ack wait."""
        self.running = False
        self.catch_up.stalled()  # no more fetching: nothing to wait for
        if self.fetchers:
            _, stuck = await asyncio.wait(set(self.fetchers), timeout=self.cfg.fetch_timeout_s + 2)
            for task in stuck:
                task.cancel()
            for task in stuck:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if stuck:
                await asyncio.sleep(self.cfg.fetch_timeout_s)  # the pull's own expiry
        self.fetchers.clear()

    async def drain(self, grace_s: float) -> dict[str, int]:
        """Stop fetching; let in-flight work finish within grace_s, then hand the rest back for redelivery.
        The fetch in flight is always let finish first (it ends within the fetch timeout, which a grace
        shorter than it may overrun: a fetch cut short strands what it was about to receive)."""
        deadline = time.monotonic() + grace_s
        await self.stop_fetching()
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=max(0.1, deadline - time.monotonic() - 1.0))
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await self.grouped.flush()
        self.services.status = "stopping"
        return dict(self.counters)

    async def pause(self) -> int:
        """Stop fetching (in-flight work continues); returns once every fetch loop is parked."""
        loops = sum(1 for t in self.fetchers if t.get_name().startswith("fetch-"))
        return await self.switch.pause(loops, self.cfg.fetch_timeout_s + 5)

    async def resume(self) -> None:
        self.switch.resume()

    async def stats(self) -> dict[str, Any]:
        return {"name": self.name, "pid": os.getpid(), "inflight": len(self.inflight), "waiting": sorted(self.waiting),
                "paused": self.switch.paused,
                "first_fetch_at": self.first_fetch_at, "last_batch_at": self.last_batch_at, **self.counters}

    async def ops(self) -> dict[str, int]:
        """Operation counts of this actor's process (swarm.telemetry.ops)."""
        return self.services.ops()

    async def close(self) -> None:
        await self.stop_fetching()
        with contextlib.suppress(Exception):
            await self.grouped.flush()
        await self.services.close()

    # -- fetching ------------------------------------------------------------------------
    async def _fetch_loop(self, stream: str, sub: Any) -> None:
        sizer = FetchSizer(self.cfg.batch, self.cfg.max_batch)
        # a stream's batches grouped at once (one fetching while one counts): its own, since an idle stream's
        # fetch lingers for fetch_timeout_s and must not hold back a storm on another stream (it did: one
        # batch a second with the default three environments)
        batches = asyncio.Semaphore(2)
        while self.running:
            if self.switch.paused:
                self.catch_up.stalled()
            await self.switch.park()  # paused by the control plane: reports wait in the stream
            # never hold a report without working on it: a fetch waits for a free investigation slot,
            # and at most two of this stream's batches are being grouped at once
            while self.free <= 0:
                self._stalled()
                self.slot_freed.clear()
                await self.slot_freed.wait()
            await batches.acquire()
            try:
                msgs = await fetch(sub, sizer.size(self.free), timeout=self.cfg.fetch_timeout_s)
            except (TimeoutError, FetchTimeoutError, NatsTimeout):
                msgs = []
            except Exception as exc:  # connection trouble: the client reconnects; try again shortly
                log.warning("%s fetch from %s failed: %s", self.name, stream, exc)
                msgs = []
                await asyncio.sleep(self.cfg.nak_delay_s)
            if not msgs:
                self.catch_up.idle(stream)
                batches.release()
                continue
            sizer.saw_backlog(msgs[-1].metadata.num_pending)
            self.catch_up.saw(stream, msgs[-1].metadata.num_pending)
            self.first_fetch_at = self.first_fetch_at or time.time()
            # the slots this batch will likely open are taken now, not once it is grouped: the next fetch (and
            # a burst's remainder) is left to the queue group's other members
            reserved = sizer.expected_openings(len(msgs))
            self.free -= reserved
            self.grouping += 1
            # no await from the fetch to here: a cancelled fetcher cannot strand a fetched report
            task = asyncio.create_task(self._batch(stream, msgs, sizer, batches, reserved))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    async def _batch(
        self, stream: str, msgs: list[Msg], sizer: FetchSizer, batches: asyncio.Semaphore, reserved: int = 0
    ) -> None:
        """Settle a fetched batch together: one count per signature, duplicates acked in one pipeline,
        new investigations handed to their own tasks."""
        settled: set[int] = set()  # id() of the reports settled here or handed to a task
        held = [reserved]  # slots held for this batch's openings until it is counted

        def narrow(signatures: int) -> None:
            """Parsed: at most one opening per signature, so the slots held beyond that go back at once."""
            extra = held[0] - signatures if held else 0
            sizer.saw_signatures(len(msgs), signatures)
            if extra > 0:
                held[0] -= extra
                self.free += extra
                self.slot_freed.set()

        def let_next_fetch(opened: int | None = None) -> None:
            """Once counted (what is left waits for the server's answers): the next batch need not wait, and
            the slots held for this one go back (the investigations it opened hold their own, `_start`)."""
            if held:
                if opened is not None:
                    sizer.saw_opened(len(msgs), opened)
                self.grouping -= 1
                self.free += held.pop()
                self.slot_freed.set()
                batches.release()

        try:
            await self._group(stream, msgs, settled, let_next_fetch, narrow)
            self.last_batch_at = time.time()
        except asyncio.CancelledError:  # drain timed out: hand the rest back for redelivery
            settler = self.settler
            assert settler is not None
            for msg in msgs:
                if id(msg) not in settled:
                    with contextlib.suppress(Exception):
                        await settler.hand_back(stream, msg)
                        self.counters["handed_back"] += 1
            raise
        finally:
            let_next_fetch()

    async def _group(
        self, stream: str, msgs: list[Msg], settled: set[int], let_next_fetch: Callable[[int], None],
        narrow: Callable[[int], None],
    ) -> None:
        settler = self.settler
        assert settler is not None
        fetched = time.monotonic()  # a deploy marker read that starts after it may serve the whole batch
        batch = Batch.parse(stream, msgs, self.parsers.get(stream))
        self.counters["received"] += batch.first_deliveries
        metrics.inc("reports_received", batch.first_deliveries, stream=stream)
        later = [self._settle(stream, msg, exc) for msg, exc in batch.malformed]
        settled.update(id(msg) for msg, _ in batch.malformed)
        groups = list(batch.groups.items())
        narrow(len(groups))
        tallies = await asyncio.gather(*(self._count(sig, items, fetched) for sig, items in groups),
                                       return_exceptions=True)
        acks: list[tuple[str, str, Msg]] = []  # signature, investigation, report
        opening: list[tuple[Msg, ErrorReport, Tally, bool]] = []
        for (sig, items), tally in zip(groups, tallies, strict=True):
            if isinstance(tally, BaseException):  # the count failed: each report settles by the error
                later += [self._settle(stream, msg, tally, (sig, None)) for msg, _ in items]
                settled.update(id(msg) for msg, _ in items)
                continue
            counted = 0
            for (msg, report), kind in zip(items, tally.kinds, strict=True):
                settled.add(id(msg))
                if kind in ("duplicate", "counted"):
                    acks.append((sig, tally.investigation_id, msg))
                    counted += kind == "duplicate"
                else:
                    opening.append((msg, report, tally, kind == "new"))
            if counted:
                self.counters["duplicates"] += counted
                self.grouped.add(sig, tally.investigation_id, tally.entry.get("occurrences"), counted)
        # counted: what is left waits for the server's answers. The next fetch is woken before the openings
        # are started, so its request goes out ahead of their first steps (filter, events, actor calls)
        let_next_fetch(len(opening))
        for msg, report, tally, new in opening:
            self._start(stream, msg, report, tally, new)
        if acks:
            metrics.inc("duplicates_grouped", len(acks))
            if await settler.ack_all([msg for *_, msg in acks], [(sig, inv) for sig, inv, _ in acks]):
                for sig, _, msg in acks:  # confirmed: their marks may go
                    self.confirmed.setdefault(sig, {}).setdefault(stream, set()).add(msg.metadata.sequence.stream)
        await asyncio.gather(*later, return_exceptions=True)

    async def _count(self, sig: str, items: list[tuple[Msg, ErrorReport]], fetched: float) -> Tally:
        index = self.index
        assert index is not None
        sources = [(m.metadata.stream, m.metadata.sequence.stream) for m, _ in items]
        forget = self.confirmed.pop(sig, None)
        try:
            return await index.count(items[0][1], sources, forget, reports=[r for _, r in items], fresh_since=fetched)
        except BaseException:
            for stream, seqs in (forget or {}).items():  # not written: forget them next time
                self.confirmed.setdefault(sig, {}).setdefault(stream, set()).update(seqs)
            raise

    async def _settle(self, stream: str, msg: Msg, exc: BaseException, ids: Ids | None = None) -> None:
        assert self.settler is not None
        if not isinstance(exc, SwarmError):
            log.warning("%s: unexpected failure on %s: %r", self.name, stream, exc)
        try:
            await self.settler.settle(stream, msg, exc, ids)
        except Exception:  # nothing settled it: JetStream redelivers after ack wait
            log.exception("%s: could not settle a report from %s", self.name, stream)

    def _stalled(self) -> None:
        """No slot free and none coming back from a batch: the backlog cannot be fetched until an
        investigation ends, so the ones held for it (`CatchUp`) go now."""
        if self.free <= 0 and self.grouping <= 0:
            self.catch_up.stalled()

    def _start(self, stream: str, msg: Msg, report: ErrorReport, tally: Tally, new: bool) -> None:
        self.free -= 1  # below zero: a batch opened more than the free slots; the next fetch waits
        self._stalled()
        task = asyncio.create_task(self._guarded(stream, msg, lambda: self._open(stream, msg, report, tally, new),
                                                 (report.signature, tally.investigation_id)))
        self.inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.inflight.discard(task)
        self.free += 1
        self.slot_freed.set()

    async def _guarded(self, stream: str, msg: Msg, work: Callable[[], Awaitable[str | None]], ids: Ids) -> None:
        """`work`, then the report settled by its outcome; a Result it returns is counted once the ack is
        confirmed (an actor killed before that leaves the count to whoever settles the redelivery)."""
        settler = self.settler
        assert settler is not None
        try:
            counted = await work()
        except asyncio.CancelledError:  # drain timed out: hand the report back for redelivery
            try:
                await settler.hand_back(stream, msg)
                self.counters["handed_back"] += 1
            except Exception as exc:  # redelivered after ack wait instead
                log.warning("%s: could not hand a report back: %r", self.name, exc)
            raise
        except Exception as exc:
            if not isinstance(exc, SwarmError):
                log.exception("%s: unexpected failure on %s", self.name, stream)
            await self._settle(stream, msg, exc, ids)
        else:
            try:
                await settler.settle(stream, msg, ids=ids)
            except NatsTimeout as exc:  # the server never confirmed: it comes back after its ack wait, counted once
                log.warning("%s: could not ack a report from %s (%r): it is redelivered after its ack wait",
                            self.name, stream, exc)
            except Exception:
                log.exception("%s: could not ack a report from %s", self.name, stream)
            else:
                if counted is not None:
                    self._count_once("results", counted)

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
