"""CPU time the swarm's actors spend per investigation, by role: where a no-op investigation's cost goes.

    meter = await CpuMeter.start(runtime)     # before the burst (actors up and warm)
    ...                                        # the burst runs
    meter.figures(investigations=200)          # {"ms_per_investigation": 9.1, "by_role": {"orchestrator": 4.2, ...}}

Every intake actor and pool replica is counted (user + system CPU of its worker process, threads
included: Ray's own core-worker threads are part of what an actor call costs), plus the registry and
budget actors, and the bench's embedded nats-server when it started one (every KV write, publish and
ack costs the server too). The figures are CPU, not wall time: on a loaded machine they stay comparable between
runs where latencies do not.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psutil
import ray

from swarm.runtime.app import SwarmRuntime
from swarm.runtime.registry import BUDGET_NAME, REGISTRY_NAME

__all__ = ["CpuMeter"]


def _cpu_s(proc: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        return float(t.user + t.system)
    return 0.0


class CpuMeter:
    """CPU seconds of the swarm's actor processes between `start` and `figures`, by role."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs  # "<role>/<pid>" -> process
        self.before = {key: _cpu_s(p) for key, p in procs.items()}

    @classmethod
    async def start(cls, runtime: SwarmRuntime) -> CpuMeter:
        pids = {pid: name.rsplit("-", 1)[0] for name, pid in (await runtime.pids()).items()}
        for name, role in ((BUDGET_NAME, "budget"), (REGISTRY_NAME, "registry")):
            with contextlib.suppress(Exception):  # support actors: counted when they can be found
                handle = ray.get_actor(name, namespace=runtime.ray_namespace)
                pids[int(await _pid_of(handle))] = role
        procs = {f"{role}/{pid}": psutil.Process(pid) for pid, role in sorted(pids.items())}
        for child in psutil.Process().children(recursive=True):  # the bench's own embedded server, if any
            with contextlib.suppress(psutil.Error):
                if child.name().startswith("nats-server"):
                    procs[f"nats-server/{child.pid}"] = child
        return cls(procs)

    def figures(self, investigations: int) -> dict[str, Any]:
        by_role: dict[str, float] = {}
        for key, proc in self.procs.items():
            role = key.split("/", 1)[0]
            by_role[role] = by_role.get(role, 0.0) + max(0.0, _cpu_s(proc) - self.before[key])
        n = max(1, investigations)
        per = {role: s * 1000 / n for role, s in sorted(by_role.items())}
        return {"ms_per_investigation": sum(per.values()), "by_role": per, "cpu_s": sum(by_role.values())}


async def _pid_of(handle: Any) -> int:
    """A support actor's worker pid (they have no pid method: `__ray_call__` runs a function in the actor)."""
    return int(await handle.__ray_call__.remote(lambda self: __import__("os").getpid()))
