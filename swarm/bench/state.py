"""`swarm bench state`: what compare-and-set PEER updates cost beside raw `kv.put`, in the same run.

    swarm bench state                  # embedded nats-server unless NATS_URL is set
    swarm bench state --ops 2000 --json

Scenarios (each `--ops` writes in total): raw `kv.put` on one key (the baseline) and from 8 tasks
on 8 keys; CAS `update` on one key uncontended, from 8 contending writers (one connection each)
on one key, and from 8 writers on 8 different keys. Every CAS scenario checks it lost no update.
A throw-away namespace is provisioned and its bucket deleted afterwards. The figures include the
store's validation, ownership check and JSON work, and its optimistic write on the revision it
last saw (one round trip instead of two when nobody else wrote in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import typer
from rich.table import Table

from swarm.bus.connect import Bus
from swarm.bus.provision import StreamsConfig, load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings, run
from swarm.errors import StateError
from swarm.state import PeerState, PeerStateStore

__all__ = ["command", "measure"]


def _bump(state: PeerState) -> None:
    out = state.phases.execute.output
    assert isinstance(out, dict)  # always a dict here: created by this benchmark
    out["n"] = int(out.get("n", 0)) + 1  # type: ignore[arg-type]


async def _timed(fn: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def measure(settings: Settings, ops: int, writers: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run every scenario against `settings`' server in a fresh namespace; figures in ops/s."""
    ns = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"nats_namespace": ns})
    buses = [await Bus.connect(settings) for _ in range(writers)]
    main = buses[0]
    full = load_streams_config(settings.swarm_streams_config)
    only_kv = StreamsConfig(streams=[], kv=[k for k in full.kv if main.names.stream(k.name) == main.names.peer_bucket])
    await provision(main.js, main.names, only_kv)
    stores = [PeerStateStore(b) for b in buses]
    kv = await stores[0].kv()
    per_writer = max(1, ops // writers)
    total = per_writer * writers
    payload = PeerState.new("raw", "bench", 1).to_bytes()
    results: dict[str, Any] = {"ops": total, "writers": writers, "namespace": ns, "server": settings.nats_url}

    async def cas(store: PeerStateStore, key: str, n: int) -> None:
        for _ in range(n):
            await store.update(key, _bump, "implement")

    async def count(key: str) -> int:
        state, _ = await stores[0].read(key)
        return int(state.phases.execute.output.get("n", 0))  # type: ignore[union-attr]

    try:
        progress(f"raw kv.put x{total}, one key")
        secs = await _timed(lambda: _puts(kv, "raw.one", payload, total))
        results["raw_put_1key"] = total / secs
        progress(f"raw kv.put x{total}, {writers} tasks on {writers} keys")
        secs = await _timed(
            lambda: asyncio.gather(*(_puts(kv, f"raw.k{i}", payload, per_writer) for i in range(writers)))
        )
        results["raw_put_8keys"] = total / secs

        one = PeerState.new("solo", "bench", 1)
        await stores[0].create(one)
        progress(f"CAS update x{total}, one key, one writer")
        secs = await _timed(lambda: cas(stores[0], one.key, total))
        results["cas_uncontended"] = total / secs
        lost = total - await count(one.key)

        shared = PeerState.new("shared", "bench", 1)
        await stores[0].create(shared)
        before = sum(s.stats.conflicts for s in stores)
        stale_before = sum(s.stats.stale for s in stores)
        progress(f"CAS update x{total}, one key, {writers} contending writers")
        secs = await _timed(lambda: asyncio.gather(*(cas(s, shared.key, per_writer) for s in stores)))
        results["cas_contended"] = total / secs
        results["conflicts_per_update"] = (sum(s.stats.conflicts for s in stores) - before) / total
        results["stale_per_update"] = (sum(s.stats.stale for s in stores) - stale_before) / total
        lost += total - await count(shared.key)

        keys = [PeerState.new(f"k{i}", "bench", 1) for i in range(writers)]
        for state in keys:
            await stores[0].create(state)
        progress(f"CAS update x{total}, {writers} writers on {writers} keys")
        secs = await _timed(
            lambda: asyncio.gather(*(cas(s, k.key, per_writer) for s, k in zip(stores, keys, strict=True)))
        )
        results["cas_8keys"] = total / secs
        lost += sum([per_writer - await count(k.key) for k in keys])
        results["lost_updates"] = lost
    finally:
        with contextlib.suppress(Exception):  # best effort: leave nothing behind on a shared server
            await main.js.delete_key_value(main.names.peer_bucket)
        for b in buses:
            await b.close()

    base = results["raw_put_1key"]
    results["ratios"] = {
        "cas_uncontended/raw_put_1key": results["cas_uncontended"] / base,
        "cas_contended/raw_put_1key": results["cas_contended"] / base,
        "cas_8keys/raw_put_8keys": results["cas_8keys"] / results["raw_put_8keys"],
    }
    return results


async def _puts(kv: Any, key: str, payload: bytes, n: int) -> None:
    for _ in range(n):
        await kv.put(key, payload)  # the baseline only: swarm code never puts without a revision


def _render(r: dict[str, Any]) -> None:
    table = Table("scenario", "ops/s", "vs baseline", title=f"PEER state writes ({r['ops']} per scenario)")
    ratios = r["ratios"]
    rows = [
        ("raw kv.put, one key (baseline)", r["raw_put_1key"], "1.00"),
        (f"raw kv.put, {r['writers']} keys", r["raw_put_8keys"], f"{r['raw_put_8keys'] / r['raw_put_1key']:.2f}"),
        ("CAS update, one key", r["cas_uncontended"], f"{ratios['cas_uncontended/raw_put_1key']:.2f}"),
        (f"CAS update, {r['writers']} contending", r["cas_contended"], f"{ratios['cas_contended/raw_put_1key']:.2f}"),
        (f"CAS update, {r['writers']} keys", r["cas_8keys"], f"{ratios['cas_8keys/raw_put_8keys']:.2f} of raw 8 keys"),
    ]
    for name, rate, ratio in rows:
        table.add_row(name, f"{rate:,.0f}", ratio)
    console.print(table)
    console.print(
        f"per contended update: {r['conflicts_per_update']:.2f} lost CAS races, {r['stale_per_update']:.2f} stale "
        f"remembered revisions; lost updates: {r['lost_updates']}",
        highlight=False,
    )


def command(
    ops: int = typer.Option(1600, "--ops", min=8, help="writes per scenario"),
    writers: int = typer.Option(8, "--writers", min=2, help="concurrent writers"),
    json_out: bool = JSON_OPTION,
) -> None:
    """CAS updates/s on one key (alone and contended) and on 8 keys, beside raw kv.put/s."""

    def progress(what: str) -> None:
        err_console.print(f"[dim]measuring[/] {what}", highlight=False)

    measured = max(1, ops // writers) * writers  # every writer does the same number of writes
    if measured != ops:  # said, not silently rounded: the JSON's "ops" is the number measured
        err_console.print(f"note: --ops {ops} is not a multiple of --writers {writers}: measuring {measured} "
                          "writes per scenario", highlight=False, markup=False, soft_wrap=True)

    with cli_errors():
        settings = load_settings()
        if settings.nats_url:
            results = run(measure(settings, ops, writers, progress))
        else:
            progress("starting an embedded nats-server (NATS_URL is not set)")
            with EmbeddedNats() as server:
                results = run(measure(settings.model_copy(update={"nats_url": server.url}), ops, writers, progress))
        if results["lost_updates"]:
            raise StateError(f"{results['lost_updates']} CAS update(s) were lost: the store is broken")
    emit(results, json_out, _render)
