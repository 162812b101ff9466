"""`swarm run`: the entrypoint `ray job submit` launches (also `python -m swarm.runtime`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import typer

from swarm.bus.server import EmbeddedNats
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings
from swarm.config import SwarmConfig
from swarm.runtime.app import SwarmRuntime

__all__ = ["runtime_app", "run_swarm"]

runtime_app = typer.Typer()


async def run_swarm(runtime: SwarmRuntime, until_empty: bool, timeout_s: float | None = None) -> dict[str, int]:
    """Start, then run until SIGTERM/SIGINT (or until the queues are empty); drain; stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def trap() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

    trap()
    await runtime.start()
    trap()  # ray.init installs its own SIGTERM handler (exit at once); ours drains first
    try:
        if until_empty:
            waiter = asyncio.create_task(runtime.until_empty(timeout_s=timeout_s))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if waiter in done:
                return waiter.result()
            waiter.cancel()
        else:
            err_console.print(
                f"swarm running in Ray namespace {runtime.ray_namespace}; Ctrl-C or SIGTERM drains and stops"
            )
            await stop.wait()
        err_console.print("draining: no new reports; in-flight investigations finish or go back to the queue")
        return await runtime.drain()
    finally:
        await runtime.stop()


@runtime_app.command("run")
def run(
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (default: $SWARM_CONFIG)"),
    address: str = typer.Option(None, "--address", help="Ray address: auto, ray://host:10001 (default: local Ray)"),
    until_empty: bool = typer.Option(False, "--until-empty", help="return once the error queues are drained"),
    timeout: float = typer.Option(None, "--timeout", help="with --until-empty: give up after this many seconds"),
    embedded: bool = typer.Option(
        False, "--embedded-nats", help="start an embedded nats-server when NATS_URL is unset"
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the swarm on Ray: intake, orchestrator and role pools, autoscaler; drain on SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    server = None
    with cli_errors():
        cfg = SwarmConfig.load(config or settings.swarm_config)
        if settings.nats_url is None and embedded:
            server = EmbeddedNats().start()
            settings = settings.model_copy(update={"nats_url": server.url})
        try:
            counters = asyncio.run(run_swarm(SwarmRuntime(settings, cfg, address=address), until_empty, timeout))
        finally:
            if server is not None:
                server.stop()

    def render(data: dict[str, int]) -> None:
        console.print("  ".join(f"[bold]{k}[/] {v}" for k, v in data.items()))

    emit(counters, json_out, render)
