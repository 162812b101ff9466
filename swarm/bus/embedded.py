"""The embedded default: a private nats-server with accounts and a user per role (`--no-auth`: open).

    with embedded_nats(settings) as settings:      # NATS_URL and SWARM_NATS_AUTH of the new server
        await SwarmRuntime(settings, config).start()   # every actor connects as its role

Used by `swarm demo`, `swarm run` and `swarm investigate` when `NATS_URL` is unset. The credentials live
in a temporary directory that goes with the server; so does the JetStream store, unless `store_dir` names one
that stays (`swarm run`: reports a drain handed back wait there for the next run). JetStream data is kept per
account, and the accounts are named after the namespaces (`--no-auth`: the default account, `$G`), so
credentials generated afresh each run still reach what an earlier run stored.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings

__all__ = ["embedded_nats", "run_store", "RUN_STORES"]

RUN_STORES = "run-nats"  # under SWARM_HOME: the embedded server's store of `swarm run`, one per namespace


def run_store(settings: Settings) -> Path:
    """Where `swarm run`'s embedded server keeps its JetStream data: $SWARM_HOME/run-nats/<namespace>."""
    return (Path(settings.swarm_home) / RUN_STORES / settings.nats_namespace).resolve()


@contextlib.contextmanager
def embedded_nats(settings: Settings, auth: bool = True, tls: bool = False,
                  store_dir: Path | None = None) -> Iterator[Settings]:
    """Start an embedded nats-server for the duration; yields the settings that connect to it. Its
    JetStream store is `store_dir` (kept; StoreInUse while another server has it), else a temporary one."""
    if not auth:
        with EmbeddedNats(store_dir=store_dir) as server:
            yield settings.model_copy(update={"nats_url": server.url})
        return
    from swarm.bus.auth_cli import generate_for

    directory = Path(tempfile.mkdtemp(prefix="swarm-auth-"))
    try:
        generated = generate_for(settings, out=directory, tls=tls)
        with EmbeddedNats(store_dir=store_dir, config_file=generated.server_config) as server:
            yield settings.model_copy(update={"nats_url": server.url, "swarm_nats_auth": generated.directory})
    finally:
        shutil.rmtree(directory, ignore_errors=True)
