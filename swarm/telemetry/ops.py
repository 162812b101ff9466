"""What this process spent its round trips on, for benchmarks: one counter per kind of operation.

    ops.count("ray_call")                     # where a call to another actor is made
    ops.snapshot(services)                    # {"ray_calls": .., "kv_reads": .., "nats_out": .., ...}

`swarm bench pipeline` sums every actor's snapshot and divides by the investigations it ran: what one
investigation costs in actor calls, KV reads and writes, events and NATS messages.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["count", "snapshot"]

_OPS: Counter[str] = Counter()


def count(op: str, n: int = 1) -> None:
    _OPS[op] += n


def snapshot(bus: Any = None, store: Any = None, blood: Any = None) -> dict[str, int]:
    """This process's counts; with its bus, PEER store and bloodstream, their own counters too."""
    out = {"ray_calls": _OPS["ray_call"]}
    if store is not None:
        s = store.stats
        out |= {"kv_reads": s.reads, "kv_writes": s.writes, "kv_conflicts": s.conflicts, "kv_stale": s.stale}
    beats = 0
    if blood is not None:
        out["events"] = blood.by_kind["event"].published if "event" in blood.by_kind else 0
        beats = blood.by_kind["heartbeat"].published if "heartbeat" in blood.by_kind else 0
    if bus is not None:  # every message sent: publishes, acks, KV requests (heartbeats left out)
        out["nats_out"] = int(bus.nc.stats.get("out_msgs", 0)) - beats
    return out
