"""Autoscaling role pools by Ray Serve's rule: desired = ceil(load / target_per_replica).

    scaler = Autoscaler(config)
    decisions = scaler.decide({"research": 3, ...}, load=12.0, now=time.monotonic())

A pool moves up only after the desired size has stayed above the current one for
`upscale_delay_s`, and down only after `downscale_delay_s` below it (so a short lull does not
throw away warm actors). Decisions are pure; the runtime applies them, logs them, publishes a
`pool_scaled` event, and asks Ray's autoscaler for the CPUs the desired pools need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from swarm.config import RoleConfig, SwarmConfig

__all__ = ["Autoscaler", "ScaleDecision", "desired_replicas"]


def desired_replicas(role: RoleConfig, load: float) -> int:
    want = math.ceil(max(load, 0.0) / role.target_per_replica)
    return max(role.min_replicas, min(role.max_replicas, want))


@dataclass(frozen=True)
class ScaleDecision:
    role: str
    current: int
    desired: int
    load: float
    reason: str


class Autoscaler:
    def __init__(self, config: SwarmConfig) -> None:
        self.config = config
        self._since: dict[str, tuple[int, float]] = {}  # role -> (direction, first seen)

    def decide(self, sizes: dict[str, int], load: float, now: float) -> list[ScaleDecision]:
        out = []
        a = self.config.autoscale
        for role, current in sizes.items():
            cfg = self.config.roles[role]
            desired = desired_replicas(cfg, load)
            direction = (desired > current) - (desired < current)
            if direction == 0:
                self._since.pop(role, None)
                continue
            seen_dir, since = self._since.get(role, (0, now))
            if seen_dir != direction:
                self._since[role] = (direction, now)
                since = now
            delay = a.upscale_delay_s if direction > 0 else a.downscale_delay_s
            if now - since >= delay:
                self._since.pop(role, None)
                verb = "up" if direction > 0 else "down"
                reason = f"load {load:g} / target {cfg.target_per_replica:g} per replica: scale {verb}"
                out.append(ScaleDecision(role, current, desired, load, reason))
        return out

    def cpus_needed(self, sizes: dict[str, int]) -> float:
        return sum(self.config.roles[r].num_cpus * n for r, n in sizes.items())
