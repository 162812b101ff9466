"""The comms part of `swarm demo`: ingest the run's messages into Postgres, serve the pages, screenshot them.

    comms = await demo_snapshot(settings, Path(".swarm/demo"))
    # {"database_url": ..., "stored": 12, "run_id": "inv-…", "screenshots": [".swarm/demo/agents.png", …]}

Postgres is `DATABASE_URL` or the embedded server under `{SWARM_HOME}/pgdata`. Never fails the demo:
a missing Chromium or any other problem is reported in the returned dict (`skipped` / `error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from swarm.bus.connect import open_bus
from swarm.bus.settings import Settings

from .browser import chromium_path, screenshot_pages
from .db import CommsStore, EmbeddedPostgres, database_url, migrate
from .ingest import CommsIngest

__all__ = ["demo_snapshot", "serve_in_loop"]

log = logging.getLogger("swarm.comms")


@contextlib.asynccontextmanager
async def serve_in_loop(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Run an ASGI app on uvicorn (free port) inside the running loop; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning", timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn's own readiness flag
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _ingest_all(settings: Settings, url: str, timeout_s: float = 60) -> int:
    async with open_bus(settings, role="comms") as bus:
        ingest = CommsIngest(bus, url)
        deadline = time.monotonic() + timeout_s
        try:
            while not await ingest.caught_up() and time.monotonic() < deadline:
                await ingest.step()
        finally:
            await ingest.close()
        return ingest.counters.stored


async def demo_snapshot(settings: Settings, out_dir: Path) -> dict[str, Any]:
    from .app import create_app

    out: dict[str, Any] = {"screenshots": []}
    pg = None
    try:
        url = database_url()
        if url is None:
            pgdata = Path(settings.swarm_home) / "pgdata"
            pg = EmbeddedPostgres(pgdata, keep_running=(pgdata / "postmaster.pid").exists()).start()
            url = pg.url
        await migrate(url)
        out["stored"] = await _ingest_all(settings, url)
        runs = await CommsStore(url, settings.nats_namespace).runs(1)
        out["run_id"] = runs[0]["run_id"] if runs else None
        if chromium_path() is None:
            out["skipped"] = "no screenshots: chromium is not installed (apt-get install -y chromium)"
            return out
        async with serve_in_loop(create_app(settings, url)) as base:
            out["screenshots"] = await screenshot_pages(base, out["run_id"], out_dir)
    except Exception as exc:  # the demo's story stands without its pictures
        log.warning("comms snapshot failed: %r", exc)
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if pg is not None and not pg.keep_running:
            pg.close()
    return out
