"""What every swarm actor opens once per process: the bus, the PEER store, the bloodstream, a heartbeat.

    services = ActorServices(spec, service="research-0", role="research")
    await services.start()
    ...
    await services.close()

`ActorSpec` is the picklable bundle the driver hands each actor (settings and config as dicts).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import ray

from swarm.bloodstream.publisher import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.comms.publisher import CommsPublisher  # re-exported: roles.py builds ctx.messages with it
from swarm.config import SwarmConfig
from swarm.runtime.registry import BUDGET_NAME
from swarm.state import PeerStateStore
from swarm.telemetry import metrics
from swarm.telemetry.tracing import setup_tracing

__all__ = ["ActorSpec", "ActorServices", "CommsPublisher"]

log = logging.getLogger("swarm.runtime")


@dataclass(frozen=True)
class ActorSpec:
    settings: dict[str, Any]
    config: dict[str, Any]
    ray_namespace: str

    @classmethod
    def build(cls, settings: Settings, config: SwarmConfig, ray_namespace: str) -> ActorSpec:
        return cls(settings.model_dump(mode="json"), config.model_dump(mode="json"), ray_namespace)

    def load_settings(self) -> Settings:
        return Settings(**{k: v for k, v in self.settings.items() if v is not None}, _env_file=None)

    def load_config(self) -> SwarmConfig:
        return SwarmConfig.model_validate(self.config)


class ActorServices:
    def __init__(self, spec: ActorSpec, service: str, role: str) -> None:
        self.spec, self.service, self.role = spec, service, role
        self.settings = spec.load_settings()
        self.config = spec.load_config()
        self.bus: Bus | None = None
        self.store: PeerStateStore | None = None
        self.blood: Bloodstream | None = None
        self.active = 0
        self.status = "ok"
        self._starting = asyncio.Lock()

    async def start(self) -> ActorServices:
        async with self._starting:  # calls queued on a restarted actor all arrive at once
            if self.bus is None:
                await self._start()
        return self

    async def _start(self) -> None:
        setup_tracing(self.service)
        metrics.set_namespace(self.settings.nats_namespace)
        bus = await Bus.connect(self.settings)
        blood = Bloodstream.from_config(bus, self.config)
        await blood.start()
        blood.start_heartbeat(
            self.service,
            self.role,
            self.config.heartbeat_interval_s,
            probe=lambda: {"active_investigations": self.active, "status": self.status},
        )
        # `bus` last: it is what says "started"
        self.store, self.blood, self.bus = PeerStateStore(bus.js, bus.names), blood, bus

    def _budget(self) -> Any:
        return ray.get_actor(BUDGET_NAME, namespace=self.spec.ray_namespace)

    async def charge(self, investigation_id: str, tokens: int, usd: float) -> float | None:
        """Count an agent's LLM spend against the hourly budget and the investigation's own; return
        the investigation's total (None when the budget actor cannot be reached: spend is best effort)."""
        try:
            return float(await self._budget().charge.remote(tokens, usd, investigation_id))
        except Exception as exc:
            log.warning("%s: spend of %s not recorded: %r", self.service, investigation_id, exc)
            return None

    async def spent(self, investigation_id: str) -> float:
        """What the investigation has spent so far, over all its phases, cycles and attempts."""
        try:
            return float(await self._budget().spent.remote(investigation_id))
        except Exception as exc:
            log.warning("%s: spend of %s unknown: %r", self.service, investigation_id, exc)
            return 0.0

    async def close(self) -> None:
        blood, bus = self.blood, self.bus
        self.blood, self.bus, self.store = None, None, None  # a later call starts afresh
        if blood is not None:
            await blood.stop_heartbeat(self.service)
            await blood.close()
        if bus is not None:
            await bus.close()
