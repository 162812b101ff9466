"""The driver: starts a swarm on Ray and keeps it running, scaled and healthy.

    runtime = SwarmRuntime(settings, config)
    await runtime.start()                  # ray.init (local unless --address), provision, actors
    counters = await runtime.until_empty() # drain-until-empty: tests and the demo
    await runtime.drain()                  # stop fetching; finish or nak in-flight work
    await runtime.stop()

Actors live in the Ray namespace `swarm-{ns}` and are named `intake-<i>`, `orchestrator-<i>`,
`research-<i>`, `implement-<i>`, `review-<i>`, so the Ray dashboard shows who is who.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

from swarm.bloodstream import Bloodstream, Healer, HealthMonitor
from swarm.bus.connect import Bus, open_bus
from swarm.bus.names import ERROR_CONSUMER
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.comms.publisher import notice
from swarm.config import ROLES, SwarmConfig, check_agent_class, load_object
from swarm.delivery.providers import missing_tokens
from swarm.errors import ConfigError, SwarmUnavailable
from swarm.runtime.autoscale import Autoscaler, Load, ScaleDecision
from swarm.runtime.control import ControlService
from swarm.runtime.follow import PullRequestFollower
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.intake import COUNTER_KEYS, IntakeActor
from swarm.runtime.localrepos import joins_a_cluster, local_repositories_checked
from swarm.runtime.pools import RESTART_BOUND_S, RolePool, comes_back, name_released
from swarm.runtime.raycluster import init_ray, request_cpus
from swarm.runtime.registry import BUDGET_NAME, REGISTRY_NAME, Registry, SwarmBudget
from swarm.runtime.remote import remote_class
from swarm.runtime.services import ActorSpec
from swarm.runtime.stopsteps import close_actors, stop_step
from swarm.state import PeerStateStore
from swarm.telemetry import metrics
from swarm.telemetry.logs import log_level
from swarm.telemetry.snapshot import Collector, open_investigations
from swarm.telemetry.tracing import actor_runtime_env

__all__ = ["SwarmRuntime", "RolePool"]  # RolePool: re-exported from pools.py

log = logging.getLogger("swarm.runtime")
ACTOR_START_TIMEOUT_S = 60.0  # a replacement actor that has not connected by then is killed
INTAKE_START_TIMEOUT_S = 300.0  # the intake actors connect and load the injection model within this
CALL_TIMEOUT_S = 30.0  # an actor call for figures (pids, stats) that has no answer by then: the actor is stuck


class SwarmRuntime:
    def __init__(
        self,
        settings: Settings,
        config: SwarmConfig,
        address: str | None = None,
        on_decision: Callable[[ScaleDecision], None] | None = None,
    ) -> None:
        # actors may start in another working directory: make the config's paths absolute here
        config = config.model_copy(
            update={
                "workspace_root": str(Path(config.workspace_root).resolve()),
                "bloodstream": config.bloodstream.model_copy(
                    update={"outbox_dir": str(Path(config.bloodstream.outbox_dir).resolve())}
                ),
            }
        )
        self.settings, self.config, self.address = settings, config, address
        self.ray_namespace = f"swarm-{settings.nats_namespace}"
        self.spec = ActorSpec.build(settings, config, self.ray_namespace)
        self.pools: dict[str, RolePool] = {}
        self.intake: list[Any] = []
        self.bus: Bus | None = None
        self.autoscaler = Autoscaler(config)
        self.decisions: list[ScaleDecision] = []
        self.on_decision = on_decision
        self._tasks: list[asyncio.Task[None]] = []
        self._support: list[Any] = []
        self.blood: Bloodstream | None = None
        self.monitor: HealthMonitor | None = None
        self.dashboard_url: str | None = None
        self.control: ControlService | None = None
        self.requested_cpus: int | None = None  # the standing request_resources (None: never asked)
        self.draining = False
        self.carried: Counter[str] = Counter()  # counters of intake actors replaced since the start
        self._last_stats: dict[str, dict[str, Any]] = {}  # intake actor -> its last stats
        self.incidents: list[str] = []  # faults ridden out by until_empty, in order
        self._restarting: dict[str, asyncio.Lock] = {}

    def _resolve_tool_tasks(self) -> None:
        """`tools.ray_tasks: auto` made true or false once Ray is known, before any actor gets the config."""
        if self.config.tools.ray_tasks != "auto":
            return
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        resolved = self.config.tool_tasks_on_ray(joins_a_cluster(self.address), cpus)
        self.config = self.config.model_copy(
            update={"tools": self.config.tools.model_copy(update={"ray_tasks": resolved})})
        self.spec = ActorSpec.build(self.settings, self.config, self.ray_namespace)
        self.autoscaler = Autoscaler(self.config)
        log.info("tool runs (tests, repros, bisect steps) %s", "as Ray tasks" if resolved else (
            f"in the role actors: a local Ray of {cpus:g} CPUs cannot hold the pools at their largest and a tool "
            "task beside them (tools.ray_tasks: auto)"))

    async def start(self) -> None:
        # a bad dotted path must fail here, clearly, not as an actor's death on a remote worker
        for role, role_cfg in self.config.roles.items():
            if role_cfg.agent:
                check_agent_class(f"roles.{role}.agent", role_cfg.agent)
        load_object(self.config.intake.filter)
        if missing := missing_tokens(self.config.repositories):  # else every fix of theirs fails to deliver
            raise ConfigError("pull requests need a token: set " + ", ".join(missing))
        log_level()  # SWARM_LOG_LEVEL: every actor would fail on a bad one, after Ray started
        local_repositories_checked(self.config, self.address)
        metrics.serve_from_env()  # SWARM_METRICS_PORT: the driver's own /metrics (prometheus_client)
        if not ray.is_initialized():
            self.dashboard_url = init_ray(self.address, self.ray_namespace)
        self._resolve_tool_tasks()
        metrics.set_namespace(self.settings.nats_namespace)
        # under SWARM_NATS_AUTH the driver is the monitor; only a short admin connection provisions
        async with open_bus(self.settings, role="admin") as admin:
            await provision(admin.js, admin.names, load_streams_config(self.settings.swarm_streams_config))
        self.bus = await Bus.connect(self.settings, role="monitor")
        # small state, cheap to lose: Ray restarts them rather than leaving the swarm without them
        opts = dict(namespace=self.ray_namespace, get_if_exists=True, num_cpus=0, max_restarts=-1)
        registry = remote_class(Registry).options(name=REGISTRY_NAME, **opts).remote()
        b = self.config.budget
        budget = (
            remote_class(SwarmBudget)
            .options(name=BUDGET_NAME, **opts)
            .remote(
                b.max_concurrent_investigations,
                b.tokens_per_hour,
                b.dollars_per_hour,
                ttl_s=max(300.0, self.config.intake.in_progress_interval_s * 10),
            )
        )
        self._support = [registry, budget]
        for role in ROLES:
            self.pools[role] = RolePool(role, self.spec, self.config, registry)
        # the intake actors are built (imports, the injection model) while the pools start; they start
        # fetching once the pools are up
        self.intake = [self._intake_actor(i) for i in range(self.config.intake.actors)]
        await asyncio.gather(
            *(
                p.scale_to(p.cfg.min_replicas or 1 if p.role == "orchestrator" else p.cfg.min_replicas)
                for p in self.pools.values()
            )
        )
        if failed := [f"{role} ({p.start_error})" for role, p in self.pools.items() if not p.size and p.start_error]:
            raise SwarmUnavailable("no replica could start of " + "; ".join(failed))
        try:
            await asyncio.wait_for(asyncio.gather(*(a.start.remote() for a in self.intake)), INTAKE_START_TIMEOUT_S)
        except TimeoutError as exc:
            raise SwarmUnavailable(f"the intake actors did not start within {INTAKE_START_TIMEOUT_S:.0f} s") from exc
        self.blood = await Bloodstream.from_config(self.bus, self.config).start()
        store = PeerStateStore(self.bus)
        # the longest restart (Ray's own restart waited for, the name released, a replacement started) fits
        healer = Healer(self.blood, restarter=self, state=store, actor="swarm-healer",
                        action_timeout_s=RESTART_BOUND_S + 10.0)
        self.monitor = await HealthMonitor.from_config(self.blood, self.config, healer=healer, doctor=store,
                                                       owns=self.runs).start()
        self._tasks.append(asyncio.create_task(self._control_loop(), name="control-loop"))
        self._tasks.append(Collector(self.bus, self.ray_namespace, outbox=self.blood).start())  # gauges
        self.control = await ControlService(self).start()  # {ns}.svc.*: status, pause, resume, cancel, budget
        if any(repo.provider for repo in self.config.repositories.values()):  # merged pull request -> fixed
            index = await SignatureIndex(self.bus.js, self.bus.names).open()
            follower = PullRequestFollower(index, self.config.repositories, self.blood)
            self._tasks.append(follower.start(self.config.lifecycle.follow_interval_s))

    def _intake_actor(self, index: int) -> Any:
        return (
            remote_class(IntakeActor)
            .options(name=f"intake-{index}", namespace=self.ray_namespace, max_concurrency=1000, num_cpus=0,
                     runtime_env=actor_runtime_env())
            .remote(self.spec, index)
        )

    # -- observation ---------------------------------------------------------------------
    async def pending(self) -> dict[str, int]:
        assert self.bus is not None
        out = {}
        for env in self.config.intake.envs:
            stream = self.bus.names.error_stream(env)
            info = await self.bus.js.consumer_info(stream, ERROR_CONSUMER)
            out[stream] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
            metrics.gauge("consumer_pending", out[stream], stream=stream)
        if self.config.intake.tasks:  # operator-submitted investigations (swarm.runtime.tasks)
            stream = self.bus.names.tasks_stream
            info = await self.bus.js.consumer_info(stream, ERROR_CONSUMER)
            out[stream] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        return out

    async def counters(self) -> dict[str, int]:
        """Summed over the intake actors, those replaced since the start included."""
        await self._intake_stats()
        return self._summed()

    def _summed(self) -> dict[str, int]:
        total = Counter(self.carried)
        for stats in self._last_stats.values():
            total.update({k: int(stats.get(k, 0)) for k in COUNTER_KEYS})
        return {k: int(total[k]) for k in COUNTER_KEYS}

    async def _intake_stats(self) -> tuple[list[dict[str, Any]], list[int]]:
        """The stats of the intake actors that answer, and the indexes of the dead ones (a slow one is neither)."""
        got = await asyncio.gather(*(asyncio.wait_for(a.stats.remote(), 30.0) for a in self.intake),
                                   return_exceptions=True)
        alive, dead = [], []
        for i, stats in enumerate(got):
            if isinstance(stats, ray.exceptions.RayActorError):
                dead.append(i)
            elif isinstance(stats, BaseException):
                log.warning("intake-%d did not answer: %r", i, stats)
            else:
                alive.append(stats)
                self._last_stats[f"intake-{i}"] = stats
        return alive, dead

    async def pids(self) -> dict[str, int]:
        """Actor name -> worker process id, for every intake actor and pool replica."""
        handles = {f"intake-{i}": a for i, a in enumerate(self.intake)}
        for pool in self.pools.values():
            handles.update(pool.actors)
        names = list(handles)
        got = await asyncio.wait_for(asyncio.gather(
            *(handles[n].stats.remote() if n.startswith("intake-") else handles[n].pid.remote() for n in names)
        ), CALL_TIMEOUT_S)
        return {n: int(g["pid"]) if isinstance(g, dict) else int(g) for n, g in zip(names, got, strict=True)}

    async def budget_status(self) -> dict[str, Any]:
        """The swarm-wide budget: active admissions, spend over the last hour, delays, expiries."""
        budget = ray.get_actor(BUDGET_NAME, namespace=self.ray_namespace)
        return dict(await budget.status.remote())

    def runs(self, service: str) -> bool:
        """Whether `service` is an actor of this swarm (an intake actor, a replica ready, starting or retiring)."""
        if service in {f"intake-{i}" for i in range(self.config.intake.actors)}:
            return True
        return any(service in p.actors or service in p.starting or service in p.retiring for p in self.pools.values())

    def sizes(self) -> dict[str, int]:
        """Replicas ready per role."""
        return {role: pool.size for role, pool in self.pools.items()}

    def targets(self) -> dict[str, int]:
        """Replicas ready or starting per role: what the autoscaler decides from."""
        return {role: pool.target for role, pool in self.pools.items()}

    async def until_empty(
        self, poll_s: float = 0.2, settle_polls: int = 3, timeout_s: float | None = None
    ) -> dict[str, int]:
        """Return the counters once every error consumer is empty and no intake work is in flight.

        Rides out the swarm's own faults: a NATS outage (the pending counts cannot be read: wait), an
        intake actor that died (restarted, its counters kept). `self.incidents` says what happened; a
        timeout's message includes it."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        quiet, pending, inflight, down_since = 0, -1, -1, None
        while True:
            try:
                pending = sum((await self.pending()).values())
                if down_since is not None:
                    self.incidents.append(f"NATS unreachable for {time.monotonic() - down_since:.1f} s")
                    down_since = None
            except Exception as exc:  # NATS reconnecting: the counts are unknown, not zero
                down_since = down_since or time.monotonic()
                log.warning("pending counts unavailable: %r", exc)
                pending = -1
            alive, dead = await self._intake_stats()
            for i in dead:
                name = f"intake-{i}"
                restarted = await self.restart(name)
                self.incidents.append(f"{name} died; {'restarted' if restarted else 'restart failed, retrying'}")
            inflight = sum(int(s["inflight"]) for s in alive)
            answered = len(alive) == len(self.intake)
            quiet = quiet + 1 if pending == 0 and inflight == 0 and answered else 0
            if quiet >= settle_polls:
                return self._summed()
            if deadline is not None and time.monotonic() > deadline:
                what = "; ".join(self.incidents) or "no fault seen"
                counts = f"pending={'unknown (NATS unreachable)' if pending < 0 else pending} inflight={inflight}"
                raise TimeoutError(f"not empty after {timeout_s}s: {counts}; meanwhile: {what}"
                                   + await self._awaiting_approval())
            await asyncio.sleep(poll_s)

    async def _awaiting_approval(self) -> str:
        """'; N fix(es) await approval: …' for a timeout's message (an approval gate holds a report until a human
        decides, which `--until-empty` cannot do), else ''."""
        try:
            waiting = [o["investigation_id"] for o in await open_investigations(self.bus, limit=1000)
                       if o["status"] == "AWAITING_APPROVAL"] if self.bus is not None else []
        except Exception:  # the message is what matters: without NATS the count is unknown
            return ""
        if not waiting:
            return ""
        return (f"; {len(waiting)} fix(es) await approval ({', '.join(waiting[:5])}): swarm approve / swarm reject "
                "each, or run without --until-empty")

    # -- scaling -------------------------------------------------------------------------
    async def _control_loop(self) -> None:
        """Every interval: the consumer-pending and pool-size gauges, and (when enabled) autoscaling."""
        while True:
            await asyncio.sleep(self.config.autoscale.interval_s)
            try:
                if self.config.autoscale.enabled:
                    await self.autoscale_once()
                else:
                    await self.pending()
                    await self._intake_stats()  # fresh counters: a dead intake's last ones are kept
                for role, size in self.sizes().items():
                    metrics.gauge("pool_size", size, role=role)
            except Exception as exc:  # one bad tick must not stop the loop
                log.warning("control loop tick failed: %s", exc)

    async def load(self) -> Load:
        """Distinct work: investigations waiting for a slot at the intake actors, plus those the budget
        admitted (running). The stream's pending count is not load: duplicates never scale a pool."""
        budget, (stats, _) = await asyncio.gather(self.budget_status(), self._intake_stats())
        return Load.of(set().union(*(s.get("waiting", ()) for s in stats)), budget["active_ids"])

    async def autoscale_once(self) -> list[ScaleDecision]:
        await self.pending()  # the consumer-pending gauge only
        load = await self.load()
        decisions = self.autoscaler.decide(self.targets(), load, time.monotonic())
        # ask the cluster for the CPUs first (new actors may need a new node); less when the load falls
        target = self.targets() | {d.role: d.desired for d in decisions}
        self._request_resources(0 if self.draining else self.autoscaler.cpus_needed(target, load))
        # new replicas join their pool once ready: one no node has room for holds back no decision (it held
        # every pool's next tick, and its events, for the 300 s a start may take)
        await asyncio.gather(*(self.pools[d.role].scale_to(d.desired, wait=False) for d in decisions))
        for d in decisions:
            self.decisions.append(d)
            log.info("pool %s: %d -> %d (%s)", d.role, d.current, d.desired, d.reason)
            if self.on_decision:
                self.on_decision(d)
            await self._publish_scaled(d)
        return decisions

    async def _publish_scaled(self, d: ScaleDecision) -> None:
        assert self.blood is not None
        load = d.load
        data = {"role": d.role, "from": d.current, "to": d.desired, "load": load.total,
                "waiting": load.waiting, "running": load.running, "reason": d.reason}
        await self.blood.event("pool_scaled", data)
        assert self.bus is not None
        await notice(self.bus, "pool_scaled", f"**{d.role}** pool {d.current} → {d.desired} replicas "
                     f"(load {load.total}: {load.waiting} waiting, {load.running} running; {d.reason})", data)

    def _request_resources(self, cpus: float) -> None:
        """A standing request to Ray's autoscaler (it replaces the previous one; 0 withdraws it)."""
        if self.config.autoscale.request_resources:
            self.requested_cpus = request_cpus(cpus, self.requested_cpus)

    # -- healing -------------------------------------------------------------------------
    async def restart(self, service: str) -> bool:
        """The healer's ActorRestarter: replace a dead actor by name. Idempotent: an actor that still
        answers is left running (its own connection reconnects), nothing is replaced while NATS is
        unreachable from here (a replacement could not connect), and a replacement that does not start is
        killed and its name released, so a later try starts clean."""
        if self.bus is None or not self.bus.nc.is_connected:
            log.warning("not restarting %s: NATS is unreachable, a replacement could not connect", service)
            return False
        async with self._restarting.setdefault(service, asyncio.Lock()):  # the healer and until_empty
            return await self._restart(service)

    async def _restart(self, service: str) -> bool:
        role, _, index = service.rpartition("-")
        if role == "intake" and index.isdigit() and int(index) < len(self.intake):
            i = int(index)
            # a dead intake (no restarts) answers ActorDiedError at once; a network blip is waited out
            if await comes_back(self.intake[i].stats.remote):
                log.warning("not restarting %s: it answers (its heartbeats will resume)", service)
                return True
            return await self._replace_intake(i)
        pool = self.pools.get(role)
        return await pool.restart(service) if pool else False

    async def _replace_intake(self, i: int) -> bool:
        name = f"intake-{i}"
        with contextlib.suppress(Exception):
            ray.kill(self.intake[i], no_restart=True)
        if not await name_released(name, self.ray_namespace):
            log.warning("%s: the old actor's name is still taken; try again later", name)
            return False
        actor = self._intake_actor(i)
        try:
            await asyncio.wait_for(actor.start.remote(), ACTOR_START_TIMEOUT_S)
        except Exception as exc:  # half-started: kill it and free its name for the next try
            log.warning("%s did not start: %r", name, exc)
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
            await name_released(name, self.ray_namespace)
            return False
        if self.control is not None and self.control.paused:  # a replacement stays paused like the rest
            await actor.pause.remote()
        # the dead actor's counters still count (a Result of work it left unsettled is counted by whoever
        # settles its report: results are counted at settlement)
        last = self._last_stats.pop(name, {})
        self.carried.update({k: int(last.get(k, 0)) for k in COUNTER_KEYS})
        self.intake[i] = actor
        return True

    # -- shutdown ------------------------------------------------------------------------
    async def drain(self, grace_s: float | None = None) -> dict[str, int]:
        """Stop fetching; in-flight work finishes within `grace_s` (default `orchestration.grace_period_s`),
        the rest goes back to its stream for redelivery. The intake counters."""
        # a draining swarm opens no new work: its request for more nodes goes first, so that a drain cut
        # short by the job's kill still leaves none standing (its actors keep the nodes they are on)
        self.draining = True
        self._request_resources(0)
        grace = self.config.orchestration.grace_period_s if grace_s is None else grace_s
        results = await asyncio.gather(*(a.drain.remote(grace) for a in self.intake), return_exceptions=True)
        stats = [r for r in results if isinstance(r, dict)]
        return {k: sum(int(s.get(k, 0)) for s in stats) for k in COUNTER_KEYS}

    async def stop(self) -> None:
        """Stop everything this runtime started; each step is bounded, so a stop always ends."""
        if self.control is not None:
            await stop_step("the control service", self.control.stop())
        if self.requested_cpus:  # a stopped swarm holds no nodes
            self._request_resources(0)
        if self.monitor is not None:
            await stop_step("the health monitor", self.monitor.close())
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await stop_step(f"task {task.get_name()}", task)

        # side by side: a stop (the end of a drain) is not the sum of every actor's goodbye
        intake = close_actors((f"intake-{i}", a) for i, a in enumerate(self.intake))
        await asyncio.gather(intake, *(pool.close_all() for pool in self.pools.values()))
        for a in self.intake + self._support:
            with contextlib.suppress(Exception):
                ray.kill(a, no_restart=True)
        if self.blood is not None:
            await stop_step("the bloodstream (outbox, heartbeats)", self.blood.close())
        if self.bus is not None:
            await stop_step("the NATS connection", self.bus.close())
