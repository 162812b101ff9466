"""Autoscaling role pools by Ray Serve's rule: desired = ceil(load / target_per_replica).

    scaler = Autoscaler(config)
    decisions = scaler.decide({"research": 3, ...}, Load(waiting=4, running=8), now=time.monotonic())

The load is distinct work: open investigations waiting for a slot (held by an intake actor, not yet
admitted by the swarm-wide budget) plus those running (admitted). It is never the stream's pending
count: a storm of one error is one investigation, and its duplicates never scale a pool.

A pool moves up only after the desired size has stayed above the current one for
`upscale_delay_s`, and down only after `downscale_delay_s` below it (so a short lull does not
throw away warm actors). Decisions are pure; the runtime applies them, logs them, publishes a
`pool_scaled` event, and asks Ray's autoscaler for the CPUs the desired pools and their tool tasks need
(`cpus_needed`), and lets go of them when the load falls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from swarm.config import RoleConfig, SwarmConfig

__all__ = ["Autoscaler", "Load", "ScaleDecision", "desired_replicas", "TOOL_ROLES"]

TOOL_ROLES = ("research", "implement", "review")  # the roles whose agents run tests, repros and bisects


@dataclass(frozen=True)
class Load:
    """Distinct investigations: waiting for a slot, and running."""

    waiting: int = 0
    running: int = 0

    @property
    def total(self) -> float:
        return float(self.waiting + self.running)

    def __str__(self) -> str:
        return f"{self.total:g} ({self.waiting} waiting + {self.running} running investigations)"

    @classmethod
    def of(cls, waiting: Iterable[str], running: Iterable[str]) -> Load:
        """From investigation ids read at two places (intake actors, budget actor) one after the other:
        one admitted between the two readings is in both, and counts once, as running."""
        run = set(running)
        return cls(waiting=len(set(waiting) - run), running=len(run))


def desired_replicas(role: RoleConfig, load: float) -> int:
    want = math.ceil(max(load, 0.0) / role.target_per_replica)
    return max(role.min_replicas, min(role.max_replicas, want))


@dataclass(frozen=True)
class ScaleDecision:
    role: str
    current: int
    desired: int
    load: Load
    reason: str


class Autoscaler:
    def __init__(self, config: SwarmConfig) -> None:
        self.config = config
        self._since: dict[str, tuple[int, float]] = {}  # role -> (direction, first seen)

    def decide(self, sizes: dict[str, int], load: Load, now: float) -> list[ScaleDecision]:
        out = []
        a = self.config.autoscale
        for role, current in sizes.items():
            cfg = self.config.roles[role]
            desired = desired_replicas(cfg, load.total)
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
                reason = f"load {load} / target {cfg.target_per_replica:g} per replica: scale {verb}"
                out.append(ScaleDecision(role, current, desired, load, reason))
        return out

    def cpus_needed(self, sizes: dict[str, int], load: Load | None = None) -> float:
        """CPUs the pools at `sizes` need, plus the tool tasks (test runs, bisect steps) the load keeps
        busy: one per investigation in flight, at most one per call slot of the roles that run tools."""
        actors = sum(self.config.roles[r].num_cpus * n for r, n in sizes.items())
        if load is None or self.config.tools.ray_tasks is not True:
            return actors
        slots = sum(self.config.roles[r].max_concurrency * n for r, n in sizes.items() if r in TOOL_ROLES)
        return actors + self.config.tools.num_cpus * min(load.total, float(slots))
