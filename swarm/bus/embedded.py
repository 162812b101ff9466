"""The embedded default: a private nats-server with accounts and a user per role (`--no-auth`: open).

    with embedded_nats(settings) as settings:      # NATS_URL and SWARM_NATS_AUTH of the new server
        await SwarmRuntime(settings, config).start()   # every actor connects as its role

Used by `swarm demo`, `swarm run` and `swarm investigate` when `NATS_URL` is unset. The credentials live
in a temporary directory that goes with the server; so does the JetStream store, unless `store_dir` names one
that stays (`swarm run`: reports a drain handed back wait there for the next run). JetStream data is kept per
account, and the accounts are named after the namespaces (`--no-auth`: the default account, `$G`), so
credentials generated afresh each run still reach what an earlier run stored. A server on a kept store
leaves `server.json` there (owner-only): its URL, its process and its credentials directory, so a command
that reads the store while the server holds it connects to that server (`swarm.bus.runstore`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings

__all__ = ["embedded_nats", "run_store", "RUN_STORES", "SERVER_FILE"]

RUN_STORES = "run-nats"  # under SWARM_HOME: the embedded server's store of `swarm run`, one per namespace
SERVER_FILE = "server.json"  # in a kept store: how to reach the server holding it, and the account it used


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
            _note_server(store_dir, server, None)
            yield settings.model_copy(update={"nats_url": server.url})
        return
    from swarm.bus.auth_cli import generate_for

    directory = Path(tempfile.mkdtemp(prefix="swarm-auth-"))
    try:
        generated = generate_for(settings, out=directory, tls=tls)
        with EmbeddedNats(store_dir=store_dir, config_file=generated.server_config) as server:
            _note_server(store_dir, server, generated.directory)
            yield settings.model_copy(update={"nats_url": server.url, "swarm_nats_auth": generated.directory})
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _note_server(store: Path | None, server: EmbeddedNats, auth_dir: Path | None) -> None:
    """`server.json` in a kept store, readable by its owner only (it names the credentials directory). It stays
    when the server stops: the store's lock says whether a server holds it, and `auth` which account the data
    is in (the namespace's; `--no-auth`: the default one) for the next server on it."""
    if store is None or server.pid is None:
        return
    data = {"url": server.url, "server_pid": server.pid, "auth": auth_dir is not None,
            "auth_dir": str(auth_dir.resolve()) if auth_dir is not None else None}
    with contextlib.suppress(OSError):  # a note for readers: a store it cannot be written to still serves the run
        fd = os.open(store / SERVER_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
