"""What a namespace looks like right now, read from NATS (and Ray when reachable); exported as gauges.

    snap = await take_snapshot(bus, ray_namespace="swarm-acme")   # dict, JSON-ready
    export_gauges(snap)                                             # consumer, heartbeat, budget, pools
    collector = Collector(bus, ray_namespace, interval_s=5.0); task = collector.start(); ...; await collector.stop()

The snapshot has `streams` (messages, consumers with pending / ack pending / redelivered), `pools`
(members per role, from the runtime's registry actor), `investigations` (open signatures with their
current PEER phase), `heartbeats` (service, role, status, age) and `budget` (used and limits). Ray
parts are empty when no swarm runs on a reachable Ray. `swarm status` renders it; the driver's
Collector turns it into the `swarm_consumer_*`, `swarm_heartbeat_age_s`, `swarm_budget_*` and
`swarm_pool_size` gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import nats.js.errors

from swarm.bus.connect import Bus
from swarm.bus.kvlist import bucket_keys
from swarm.tasks import stop_tasks
from swarm.telemetry import metrics

__all__ = ["take_snapshot", "export_gauges", "Collector", "open_investigations"]

log = logging.getLogger("swarm.telemetry")
_STOPPED = ("stopping", "stopped")


async def _streams(bus: Bus) -> list[dict[str, Any]]:
    out = []
    prefix = f"{bus.names.NS}_"
    infos: list[Any] = []
    while True:  # the server pages the list; a shared server holds many namespaces
        page = await bus.js.streams_info(offset=len(infos))
        if not page:
            break
        infos.extend(page)
    for info in infos:
        name = info.config.name
        if not name.startswith(prefix):
            continue
        consumers = []
        with contextlib.suppress(Exception):
            for c in await bus.js.consumers_info(name):
                consumers.append({
                    "name": c.name,
                    "pending": int(c.num_pending or 0),
                    "ack_pending": int(c.num_ack_pending or 0),
                    "redelivered": int(c.num_redelivered or 0),
                })
        out.append({"stream": name, "messages": int(info.state.messages), "bytes": int(info.state.bytes),
                    "consumers": consumers})
    return sorted(out, key=lambda s: s["stream"])


async def _heartbeats(bus: Bus) -> list[dict[str, Any]]:
    from swarm.bloodstream import read_health

    rows = []
    now = datetime.now(UTC)
    for row in await read_health(bus):
        hb = row.heartbeat
        rows.append({
            "service": row.service,
            "role": row.role or "",
            "status": row.status,
            "beat": hb.status if hb is not None else "",
            "age_s": round(max(0.0, (now - row.last_seen).total_seconds()), 3) if row.last_seen else None,
            "active_investigations": hb.active_investigations if hb is not None else None,
        })
    return rows


async def open_investigations(bus: Bus, limit: int = 50) -> list[dict[str, Any]]:
    """Open signatures (SIGNATURES KV) with the phase of their latest PEER cycle."""
    from swarm.state import PeerStateStore

    try:
        kv = await bus.js.key_value(bus.names.signature_bucket)
    except nats.js.errors.BucketNotFoundError:  # a namespace never provisioned: nothing open
        return []
    keys = await bucket_keys(bus.js, bus.names.signature_bucket)  # a server that does not answer raises
    store = PeerStateStore(bus)
    try:
        peer_keys = await store.keys()
    except Exception:
        peer_keys = []
    out = []
    for key in keys:
        try:
            entry = json.loads((await kv.get(key)).value or b"{}")
        except Exception:
            continue
        if entry.get("status") != "open":
            continue
        inv = entry.get("investigation_id", "")
        mine = sorted((k for k in peer_keys if f".{inv}.cycle." in k), key=lambda k: int(k.rsplit(".", 1)[1]))
        phase, cycle, status = None, None, None
        if mine:
            with contextlib.suppress(Exception):
                state, _ = await store.read(mine[-1])
                phase = state.metadata.current_phase.value if state.metadata.current_phase else None
                status = state.metadata.status.value  # AWAITING_APPROVAL: a fix waits for an operator
                cycle = int(mine[-1].rsplit(".", 1)[1])
        out.append({"investigation_id": inv, "signature": entry.get("signature"), "service": entry.get("service"),
                    "environment": entry.get("environment"), "occurrences": entry.get("occurrences"),
                    "opened_at": entry.get("opened_at"), "cycle": cycle, "phase": phase, "status": status})
        if len(out) >= limit:
            break
    return out


async def _ray_parts(ray_namespace: str | None) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Pool members and budget from the runtime's registry and budget actors (empty without them)."""
    import ray

    if not ray_namespace or not ray.is_initialized():
        return {}, {}
    from swarm.config import ROLES
    from swarm.runtime.registry import BUDGET_NAME, REGISTRY_NAME

    pools: dict[str, list[str]] = {}
    budget: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        registry = ray.get_actor(REGISTRY_NAME, namespace=ray_namespace)
        for role in ROLES:
            _, members = await asyncio.wait_for(registry.get.remote(role), 5)
            pools[role] = list(members)
    with contextlib.suppress(Exception):
        actor = ray.get_actor(BUDGET_NAME, namespace=ray_namespace)
        budget = dict(await asyncio.wait_for(actor.status.remote(), 5))
    return pools, budget


async def take_snapshot(bus: Bus, ray_namespace: str | None = None) -> dict[str, Any]:
    """The namespace right now (see the module docstring for the keys)."""
    streams, heartbeats, investigations, (pools, budget) = await asyncio.gather(
        _streams(bus), _heartbeats(bus), open_investigations(bus), _ray_parts(ray_namespace)
    )
    return {
        "namespace": bus.names.ns,
        "taken_at": datetime.now(UTC).isoformat(),
        "streams": streams,
        "pools": {role: {"size": len(m), "members": m} for role, m in pools.items()},
        "investigations": investigations,
        "heartbeats": heartbeats,
        "budget": budget,
    }


def export_gauges(snap: dict[str, Any]) -> None:
    """Set the driver-side gauges from a snapshot: each gauge's whole current set of series, so a stream
    deleted, a pool gone or a limit lifted exports no series rather than its last value for ever."""
    consumers = [(s["stream"], c) for s in snap["streams"] for c in s["consumers"]]
    metrics.gauge_series("consumer_pending", [(c["pending"] + c["ack_pending"], {"stream": stream})
                                              for stream, c in consumers])
    metrics.gauge_series("consumer_ack_pending", [(c["ack_pending"], {"stream": stream}) for stream, c in consumers])
    # a clean exit is not a silent service: a stopped service, or one gone from the snapshot, has no series
    metrics.gauge_series("heartbeat_age_s", [
        (hb["age_s"], {"service": hb["service"], "role": hb["role"]})
        for hb in snap["heartbeats"] if hb["beat"] not in _STOPPED and hb["age_s"] is not None
    ])
    metrics.gauge_series("pool_size", [(pool["size"], {"role": role}) for role, pool in snap["pools"].items()])
    budget = snap["budget"]
    resources = (("investigations", "active", "max_concurrent"), ("tokens_hour", "tokens_hour", "tokens_per_hour"),
                 ("usd_hour", "usd_hour", "dollars_per_hour"))
    metrics.gauge_series("budget_used", [(float(budget[used]), {"resource": resource})
                                         for resource, used, _ in resources if used in budget])
    metrics.gauge_series("budget_limit", [(float(budget[limit]), {"resource": resource})
                                          for resource, _, limit in resources if budget.get(limit) is not None])


class Collector:
    """Every `interval_s`: a snapshot of the namespace, exported as gauges (run by the driver)."""

    def __init__(self, bus: Bus, ray_namespace: str | None, interval_s: float = 5.0, outbox: Any = None) -> None:
        self.bus, self.ray_namespace, self.interval_s, self.outbox = bus, ray_namespace, interval_s, outbox
        self._task: asyncio.Task[None] | None = None

    async def collect_once(self) -> dict[str, Any]:
        snap = await take_snapshot(self.bus, self.ray_namespace)
        export_gauges(snap)
        if self.outbox is not None:  # the driver's own bloodstream
            metrics.gauge("outbox_depth", self.outbox.pending)
        return snap

    async def _loop(self) -> None:
        while True:
            try:
                await self.collect_once()
            except Exception as exc:  # one bad tick must not stop the gauges
                log.warning("metrics collection failed: %r", exc)
            await asyncio.sleep(self.interval_s)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._loop(), name="metrics-collector")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks(self._task)


