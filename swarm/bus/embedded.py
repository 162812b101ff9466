"""The embedded default: a private nats-server with accounts and a user per role (`--no-auth`: open).

    with embedded_nats(settings) as settings:      # NATS_URL and SWARM_NATS_AUTH of the new server
        await SwarmRuntime(settings, config).start()   # every actor connects as its role

Used by `swarm demo`, `swarm run` and `swarm investigate` when `NATS_URL` is unset. The credentials live
in a temporary directory that goes with the server.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings

__all__ = ["embedded_nats"]


@contextlib.contextmanager
def embedded_nats(settings: Settings, auth: bool = True, tls: bool = False) -> Iterator[Settings]:
    """Start an embedded nats-server for the duration; yields the settings that connect to it."""
    if not auth:
        with EmbeddedNats() as server:
            yield settings.model_copy(update={"nats_url": server.url})
        return
    from swarm.bus.auth_cli import generate_for

    directory = Path(tempfile.mkdtemp(prefix="swarm-auth-"))
    try:
        generated = generate_for(settings, out=directory, tls=tls)
        with EmbeddedNats(config_file=generated.server_config) as server:
            yield settings.model_copy(update={"nats_url": server.url, "swarm_nats_auth": generated.directory})
    finally:
        shutil.rmtree(directory, ignore_errors=True)
