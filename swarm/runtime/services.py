"""What every swarm actor opens once per process: the bus, the PEER store, the bloodstream, a heartbeat.

    services = await ActorServices(spec, service="research-0", role="research").start()
    services.bus, services.store, services.blood      # connected (one Bus per process), never None
    await services.close()

`ActorSpec` is the picklable bundle the driver hands each actor (settings and config as dicts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ray

from swarm.bloodstream.publisher import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.permissions import auth_role
from swarm.bus.settings import Settings
from swarm.comms.publisher import CommsPublisher  # re-exported: roles.py builds ctx.messages with it
from swarm.config import SwarmConfig
from swarm.runtime.registry import BUDGET_NAME
from swarm.secretenv import export_env, split_env
from swarm.state import PeerStateStore
from swarm.telemetry import metrics, ops
from swarm.telemetry.logs import configure_logging
from swarm.telemetry.tracing import flush_tracing, otel_env, setup_tracing

__all__ = ["ActorSpec", "ActorServices", "Connected", "ServicesNotStarted", "CommsPublisher"]

log = logging.getLogger("swarm.runtime")


@dataclass(frozen=True)
class ActorSpec:
    """What an actor is built from: the driver's settings and config, and the secrets of its environment
    (OTLP headers; the orchestrators' provider tokens) that its `runtime_env` must not show (swarm.secretenv)."""

    settings: dict[str, Any]
    config: dict[str, Any]
    ray_namespace: str
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, settings: Settings, config: SwarmConfig, ray_namespace: str) -> ActorSpec:
        _, secret = split_env(otel_env())
        return cls(settings.model_dump(mode="json"), config.model_dump(mode="json"), ray_namespace, secret)

    def load_settings(self) -> Settings:
        return Settings(**{k: v for k, v in self.settings.items() if v is not None}, _env_file=None)

    def load_config(self) -> SwarmConfig:
        return SwarmConfig.model_validate(self.config)


@dataclass(frozen=True)
class Connected:
    """The connected services of one process: made by `Connected.open`, never half-built."""

    bus: Bus
    store: PeerStateStore
    blood: Bloodstream

    @classmethod
    async def open(cls, settings: Settings, config: SwarmConfig, service: str, role: str,
                   probe: Callable[[], dict[str, Any]]) -> Connected:
        bus = await Bus.connect(settings, role=auth_role(role))  # SWARM_NATS_AUTH: the role's own user
        try:
            blood = Bloodstream.from_config(bus, config)
            await blood.start()
            blood.start_heartbeat(service, role, config.heartbeat_interval_s, probe=probe)
        except BaseException:
            await bus.close()
            raise
        return cls(bus, PeerStateStore(bus.js, bus.names), blood)

    async def close(self, service: str) -> None:
        await self.blood.stop_heartbeat(service)
        await self.blood.close()
        await self.bus.close()


class ServicesNotStarted(RuntimeError):
    """A service was used before `ActorServices.start()` connected it (a programming error)."""


class ActorServices:
    """One per actor process: `await start()` connects once (one Bus for the process) and hands it down."""

    def __init__(self, spec: ActorSpec, service: str, role: str) -> None:
        self.spec, self.service, self.role = spec, service, role
        export_env(spec.secret_env)  # before anything reads them (tracing's exporter, the providers)
        self.settings = spec.load_settings()
        self.settings.export_brain_key()  # the driver's key (its env or `.env`): a node's env need not hold it
        self.config = spec.load_config()
        self.active = 0
        self.status = "ok"
        self._conn: Connected | None = None
        self._starting = asyncio.Lock()
        self._budget_handle: Any = None

    @property
    def started(self) -> bool:
        return self._conn is not None

    def connected(self) -> Connected:
        if self._conn is None:
            raise ServicesNotStarted(f"{self.service}: services used before start()")
        return self._conn

    @property
    def bus(self) -> Bus:
        return self.connected().bus

    @property
    def store(self) -> PeerStateStore:
        return self.connected().store

    @property
    def blood(self) -> Bloodstream:
        return self.connected().blood

    async def start(self) -> ActorServices:
        async with self._starting:  # calls queued on a restarted actor all arrive at once
            if self._conn is None:
                setup_tracing(self.service)
                configure_logging()  # INFO: one line per settled report in the swarm's log
                metrics.set_namespace(self.settings.nats_namespace)
                self._conn = await Connected.open(
                    self.settings, self.config, self.service, self.role,
                    probe=lambda: {"active_investigations": self.active, "status": self.status})
        return self

    def ops(self) -> dict[str, int]:
        """This process's operation counts (swarm.telemetry.ops): benchmarks sum them over the actors."""
        conn = self._conn
        return ops.snapshot(conn.bus, conn.store, conn.blood) if conn else ops.snapshot()

    def _budget(self) -> Any:
        if self._budget_handle is None:  # a named, restartable actor: the handle outlives its restarts
            self._budget_handle = ray.get_actor(BUDGET_NAME, namespace=self.spec.ray_namespace)
        return self._budget_handle

    async def charge(self, investigation_id: str, tokens: int, usd: float) -> float | None:
        """Count an agent's LLM spend against the hourly budget and the investigation's own; return
        the investigation's total (None when the budget actor cannot be reached: spend is best effort)."""
        ops.count("ray_call")
        try:
            return float(await self._budget().charge.remote(tokens, usd, investigation_id))
        except Exception as exc:
            log.warning("%s: spend of %s not recorded: %r", self.service, investigation_id, exc)
            return None

    async def spent(self, investigation_id: str) -> float:
        """What the investigation has spent so far, over all its phases, cycles and attempts."""
        ops.count("ray_call")
        try:
            return float(await self._budget().spent.remote(investigation_id))
        except Exception as exc:
            log.warning("%s: spend of %s unknown: %r", self.service, investigation_id, exc)
            return 0.0

    async def close(self) -> None:
        async with self._starting:  # a start under way ends first: its connection is closed here, not left open
            conn, self._conn = self._conn, None  # a later call starts afresh
        if conn is not None:
            await conn.close(self.service)
        await asyncio.to_thread(flush_tracing)  # the actor may be killed next: batched spans go now
