"""`swarm status`: a live terminal view of one namespace (rich), or one JSON snapshot for scripts.

    swarm status                               # live: refreshes every 2 s until Ctrl-C
    swarm status --once                        # one table view, then exit
    swarm status --json                        # one JSON snapshot (implies --once)
    swarm status --address auto                # also pools and budget from the swarm's Ray actors

Streams with their consumers' lag (pending, ack pending), the role pools and their sizes, the
investigations in flight with their PEER phase, the last heartbeat of every service and the budget.
Pools and budget come from the swarm's Ray actors with `--address` (or `RAY_ADDRESS`); without one, or with
the dashboard's `http://` address (what `swarm submit` and `swarm jobs` take), the pool sizes and the budget
come from the running swarm's control service.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table

from swarm.bus.connect import open_bus
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, finite, load_settings
from swarm.errors import ConfigError, SwarmError
from swarm.telemetry.snapshot import take_snapshot

CONTROL_ASK_S = 3.0  # how long status waits for the running swarm's control service to say its pool sizes

__all__ = ["status_app", "render_status", "read_status"]

status_app = typer.Typer()


def _not_asked(address: str | None) -> str | None:
    """Why Ray is not asked for the pools (None: it is): no address, or the dashboard's `http://` one."""
    given = address or os.environ.get("RAY_ADDRESS")
    if not given:
        return "no --address (or RAY_ADDRESS)"
    if given.startswith(("http://", "https://")):  # the dashboard's (submit, jobs): no driver joins through it
        origin = "--address" if address else "RAY_ADDRESS"
        return (f"{origin}={given} is the dashboard's job address; give the cluster's (auto, host:6379 or "
                f"ray://host:10001) to read the pools from Ray")
    return None


def _connect_ray(address: str | None, ray_namespace: str) -> bool:
    """Join the swarm's Ray cluster (as a read-only driver) when an address is given."""
    given = address or os.environ.get("RAY_ADDRESS")
    if not given or _not_asked(address) is not None:  # none, or the dashboard's (submit, jobs)
        return False
    import ray

    if not ray.is_initialized():
        from swarm.runtime.raycluster import check_ray_address

        origin = "" if address else " (RAY_ADDRESS)"
        check_ray_address(given, origin)
        try:
            ray.init(address=given, namespace=ray_namespace, logging_level="WARNING", log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:  # Ray's own refusals: name the address
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot join the Ray cluster at {given}{origin}: {first}") from exc
    return True


async def read_status(settings: Settings, address: str | None = None) -> dict[str, Any]:
    """One snapshot of the namespace in `settings` (see `swarm.telemetry.snapshot`)."""
    ray_namespace = f"swarm-{settings.nats_namespace}"
    with_ray = await asyncio.to_thread(_connect_ray, address, ray_namespace)
    async with open_bus(settings) as bus:
        snap = await take_snapshot(bus, ray_namespace if with_ray else None)
        pools_from = "ray" if snap["pools"] else None
        if not with_ray:  # the pool sizes from the running swarm itself: no Ray address needed
            from swarm.runtime.control import control_request

            with contextlib.suppress(SwarmError):
                answer = await control_request(bus, "status", timeout_s=CONTROL_ASK_S)
                snap["pools"] = {role: {"size": int(n), "members": []} for role, n in answer["pools"].items()}
                snap["budget"] = snap["budget"] or dict(answer.get("budget") or {})  # it was an empty table
                pools_from = "control"
    snap["ray"] = {"connected": with_ray, "namespace": ray_namespace, "pools_from": pools_from,
                   "not_asked": None if with_ray else _not_asked(address)}
    return snap


def render_status(snap: dict[str, Any]) -> Group:
    """The snapshot as rich tables."""
    streams = Table(title=f"streams of namespace {snap['namespace']}", title_justify="left")
    for col in ("stream", "messages", "consumer", "pending", "ack pending", "redelivered"):
        streams.add_column(col, justify="left" if col in ("stream", "consumer") else "right")
    for s in snap["streams"]:
        consumers = s["consumers"] or [{"name": "", "pending": "", "ack_pending": "", "redelivered": ""}]
        for i, c in enumerate(consumers):
            streams.add_row(s["stream"] if i == 0 else "", str(s["messages"]) if i == 0 else "", c["name"],
                            str(c["pending"]), str(c["ack_pending"]), str(c["redelivered"]))
    pools = Table(title="pools", title_justify="left")
    pools.add_column("role")
    pools.add_column("size", justify="right")
    pools.add_column("replicas")
    ray_state = snap.get("ray") or {}
    for role, pool in snap["pools"].items():
        pools.add_row(role, str(pool["size"]), " ".join(pool["members"]) or "(sizes from the swarm's control service)")
    if not snap["pools"]:
        pools.add_row("-", "-", "no swarm on the Ray cluster" if ray_state.get("connected")
                      else "Ray not asked: give --address (or RAY_ADDRESS) of the cluster the swarm runs on")
    elif ray_state.get("not_asked") and "dashboard" in str(ray_state["not_asked"]):
        pools.caption = f"Ray not asked: {ray_state['not_asked']}"
    invs = Table(title="investigations in flight", title_justify="left")
    # the id is what `swarm approve` / `reject` take: never cut, however narrow the terminal (or a pipe's 80)
    invs.add_column("investigation", no_wrap=True, min_width=20)
    for col in ("service", "environment", "cycle", "phase", "state", "occurrences"):
        invs.add_column(col)
    for inv in snap["investigations"]:
        state = inv.get("status") or "-"
        invs.add_row(inv["investigation_id"], str(inv["service"]), str(inv["environment"]), str(inv["cycle"] or "-"),
                     str(inv["phase"] or "-"), f"[yellow]{state}[/]" if state == "AWAITING_APPROVAL" else state,
                     str(inv["occurrences"]))
    beats = Table(title="last heartbeats", title_justify="left")
    for col in ("service", "role", "status", "age (s)", "active"):
        beats.add_column(col)
    colour = {"up": "green", "degraded": "yellow", "down": "red", "restarting": "yellow", "stopped": "dim"}
    for hb in snap["heartbeats"]:
        status = f"[{colour.get(hb['status'], 'white')}]{hb['status']}[/]"
        beats.add_row(hb["service"], hb["role"], status, str(hb["age_s"]), str(hb["active_investigations"]))
    budget = Table(title="budget", title_justify="left")
    budget.add_column("resource")
    budget.add_column("used", justify="right")
    budget.add_column("limit", justify="right")
    b = snap["budget"]
    for name, used, limit in (("investigations", "active", "max_concurrent"), ("tokens / hour", "tokens_hour",
                              "tokens_per_hour"), ("USD / hour", "usd_hour", "dollars_per_hour")):
        if used in b:
            budget.add_row(name, str(b[used]), "unlimited" if b.get(limit) is None else str(b[limit]))
    return Group(streams, pools, invs, beats, budget)


@status_app.command("status")
def status(
    json_out: bool = JSON_OPTION,
    once: bool = typer.Option(False, "--once", help="print one view and exit (scripts, tests)"),
    interval: float = typer.Option(2.0, "--interval", min=0.2, callback=finite,
                                  help="seconds between refreshes of the live view"),
    address: str = typer.Option(None, "--address", help="Ray address of the swarm (default: $RAY_ADDRESS)"),
) -> None:
    """Streams and lag, pools, investigations in flight with their phase, heartbeats, budget."""
    settings = load_settings()
    with cli_errors():
        if json_out or once:
            snap = asyncio.run(read_status(settings, address))
            emit(snap, json_out, render=lambda d: console.print(render_status(d)))
            return
        with Live(console=console, refresh_per_second=4, screen=False) as live, contextlib.suppress(KeyboardInterrupt):
            while True:
                started = time.monotonic()
                live.update(render_status(asyncio.run(read_status(settings, address))))
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
