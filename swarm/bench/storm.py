"""The storm scenario of `swarm bench pipeline`, and the actors' memory per investigation in flight.

    storm = await measure_storm(settings, cfg, reports=5000, signatures=10, progress=quiet, timeout_s=300)
    storm["per_s"]          # intake reports/s: first fetch -> last batch grouped, from the actors' clocks

    sampler = await RssSampler.start(runtime)   # once the actors are up, before the burst
    task = asyncio.create_task(sampler.run())   # samples RSS and investigations in flight
    ...; task.cancel(); sampler.figures()       # {"per_inflight_kb": ..., "in_flight": ..., ...}

A storm is `reports` reports of `signatures` distinct errors, each with its own Nats-Msg-Id (so
JetStream's duplicate window does not catch them), published before the swarm starts; the intake
window runs from the first fetch of any intake actor to the last batch grouped (actor start-up is
outside it). The counts must come out exact: investigations = signatures, occurrences = reports.
Memory per in-flight investigation = (RSS of every swarm actor at the most investigations in flight -
their RSS idle, before the burst) / that number in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import psutil

from swarm.bench.baseline import Progress_, bench_report, drop_namespace
from swarm.bus.connect import Bus
from swarm.bus.kvlist import bucket_keys
from swarm.bus.names import HDR_MSG_ID
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.bus.streamread import read_stream
from swarm.config import SwarmConfig
from swarm.errors import SwarmError
from swarm.runtime.app import SwarmRuntime

__all__ = ["RssSampler", "measure_storm"]


class RssSampler:
    """RSS of the swarm's actor processes, idle and at the most investigations in flight."""

    def __init__(self, runtime: SwarmRuntime, procs: dict[str, psutil.Process]) -> None:
        self.runtime, self.procs = runtime, procs  # role -> processes (intake, orchestrator, research...)
        self.idle_by_role = self.rss_by_role()
        self.idle = sum(self.idle_by_role.values())
        self.peak_inflight, self.peak_rss, self.peak_by_role = 0, self.idle, dict(self.idle_by_role)

    @classmethod
    async def start(cls, runtime: SwarmRuntime) -> RssSampler:
        by_pid = {pid: name.rsplit("-", 1)[0] for name, pid in (await runtime.pids()).items()}
        return cls(runtime, {f"{role}/{pid}": psutil.Process(pid) for pid, role in sorted(by_pid.items())})

    def rss_by_role(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, proc in self.procs.items():
            with contextlib.suppress(psutil.Error):
                role = key.split("/", 1)[0]
                out[role] = out.get(role, 0) + proc.memory_info().rss
        return out

    def rss(self) -> int:
        return sum(self.rss_by_role().values())

    async def run(self, every_s: float = 0.25) -> None:
        while True:
            active = int((await self.runtime.budget_status())["active"])
            by_role = self.rss_by_role()
            rss = sum(by_role.values())
            if active > self.peak_inflight or (active == self.peak_inflight and rss > self.peak_rss):
                self.peak_inflight, self.peak_rss, self.peak_by_role = active, rss, by_role
            await asyncio.sleep(every_s)

    def figures(self) -> dict[str, Any]:
        grown = max(0, self.peak_rss - self.idle)
        n = self.peak_inflight or 1
        return {
            # where the growth is: KB per investigation in flight, by role (negative: released memory)
            "per_inflight_kb_by_role": {role: (self.peak_by_role.get(role, 0) - idle) / n / 1024
                                        for role, idle in sorted(self.idle_by_role.items())},
            "actors": len(self.procs),
            "idle_mb": self.idle / 2**20,
            "peak_mb": self.peak_rss / 2**20,
            "in_flight": self.peak_inflight,
            "per_inflight_kb": grown / self.peak_inflight / 1024 if self.peak_inflight else 0.0,
        }


async def _publish_storm(bus: Bus, reports: int, signatures: int) -> None:
    tag = "storm"  # a fresh namespace per storm: no random token needed (nor one the filter could trip on)
    payloads = [bench_report(tag, i).to_bytes() for i in range(signatures)]
    for start in range(0, reports, 500):  # bounded bursts; a Msg-Id per copy: JetStream keeps every one
        await asyncio.gather(
            *(
                bus.js.publish(bus.names.errors(), payloads[i % signatures], headers={HDR_MSG_ID: f"{tag}-{i}"})
                for i in range(start, min(reports, start + 500))
            )
        )


async def _held(bus: Bus) -> dict[str, Any]:
    """How many investigations waited for the storm's backlog to be grouped, and the longest wait."""
    stored = await read_stream(bus, bus.names.bloodstream_stream, bus.names.event("opening_held"))
    waits = [float(json.loads(m.data)["data"]["held_s"]) for m in stored]
    return {"count": len(waits), "max_s": max(waits, default=0.0)}


async def measure_storm(
    settings: Settings, cfg: SwarmConfig, reports: int, signatures: int, progress: Progress_, timeout_s: float
) -> dict[str, Any]:
    """`reports` reports of `signatures` errors through a fresh swarm: intake reports/s, exact counts."""
    ns = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"nats_namespace": ns})
    runtime = SwarmRuntime(settings, cfg)
    bus = await Bus.connect(settings)
    held: dict[str, Any] = {}
    try:
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
        progress("storm: publishing", 0, reports)
        await _publish_storm(bus, reports, signatures)
        progress("storm: publishing", reports, reports)
        began = time.perf_counter()
        await runtime.start()  # intake starts fetching as its actors come up: timed by their own clocks
        counters = await runtime.until_empty(poll_s=0.1, timeout_s=timeout_s)
        drained_s = time.perf_counter() - began
        stats = await asyncio.gather(*(a.stats.remote() for a in runtime.intake))
        kv = await bus.js.key_value(bus.names.signature_bucket)
        occurrences = 0
        for key in await bucket_keys(bus.js, bus.names.signature_bucket):
            occurrences += json.loads((await kv.get(key)).value)["occurrences"]
        progress("storm: intake", reports, reports)
    finally:
        await runtime.stop()
        with contextlib.suppress(Exception):  # a figure, not a count: best effort
            held = await _held(bus)
        await drop_namespace(bus)
        await bus.close()
    want = {"received": reports, "investigations": signatures, "duplicates": reports - signatures,
            "results": signatures, "dead_lettered": 0, "rejected": 0, "handed_back": 0}
    if counters != want or occurrences != reports:
        raise SwarmError(f"storm: expected {want} and {reports} occurrences, got {counters}, {occurrences}")
    first = min(s["first_fetch_at"] for s in stats if s["first_fetch_at"])
    last = max(s["last_batch_at"] for s in stats)
    window = max(last - first, 1e-6)
    return {
        "namespace": ns,
        "reports": reports,
        "signatures": signatures,
        "intake_actors": len(stats),
        "seconds": window,
        "per_s": reports / window,
        "start_and_drain_s": drained_s,
        "occurrences": occurrences,
        "counters": counters,
        "held": held,  # the storm's investigations that waited for its backlog (opening_held events)
    }
