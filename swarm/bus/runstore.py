"""What `swarm run` left on embedded defaults, for the commands that read it (`swarm fixes list|show`) and
publish into it (`swarm errors report`; `swarm errors tail` only while a server holds it).

    with reach_run_store(settings) as reached:      # NATS_URL set: the settings as they are
        async with open_bus(reached.settings) as bus:
            ...
    reached.note                                    # None, or one line on what was reached, for stderr

Without `NATS_URL`, `swarm run` keeps its JetStream store in `$SWARM_HOME/run-nats/<namespace>`
(`swarm.bus.embedded.run_store`). A reading command reaches it the way it is:

- held by a running server (a `swarm run`, or another reading command), whether or not it kept anything
  yet: that server, at the URL and with the credentials directory its starter left in `server.json` beside
  the lock, checked against the server process the lock names (a server that left no note, `swarm nats up
  --store-dir`, is a ConfigError saying how to reach it instead);
- free: a nats-server of its own on the store for the duration, under the store's lock (a `swarm run`
  started meanwhile is refused, naming the store), in the account the last server on it used (the
  namespace's; after a `--no-auth` run the default one);
- holding nothing of the namespace (no run yet): a ConfigError naming the store and what to set.

With `start=False` (a command that lasts: `swarm errors tail`) a free store is a ConfigError instead: a server
of the command's own would keep the next `swarm run` off its store for as long as the command runs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarm.bus.embedded import SERVER_FILE, embedded_nats, run_store
from swarm.bus.settings import Settings
from swarm.bus.store_lock import LOCK_FILE, StoreInUse, lock_store, server_holding
from swarm.errors import ConfigError

__all__ = ["Reached", "reach_run_store", "running_run"]

DEFAULT_ACCOUNT = "$G"  # nats-server's account of users with none (`--no-auth` runs)


@dataclass(frozen=True)
class Reached:
    settings: Settings  # connects to the server that has the data
    note: str | None = None  # what was reached, when it was not NATS_URL


@contextlib.contextmanager
def reach_run_store(settings: Settings, *, start: bool = True) -> Iterator[Reached]:
    """`settings` when NATS_URL is set; else settings that reach `swarm run`'s store for the duration
    (`start=False`: only through the server that holds it)."""
    if settings.nats_url is not None:
        yield Reached(settings)
        return
    store = run_store(settings)
    note = _read_note(store)
    # first: a server that holds a store it has kept nothing in yet is still the one to reach
    held = _held_by(store) if (store / LOCK_FILE).exists() else None
    if held is not None:
        running = _running(settings, store, note, held)
        how = f"reaching the `swarm run` of store {store}" if not start else f"reading the store of `swarm run` {store}"
        yield Reached(running, f"NATS_URL is not set: {how} through the nats-server at {running.nats_url} that holds "
                               f"it ({held.holder})")
        return
    auth = _account_is_namespace(store, settings.nats_namespace, note)
    if not start:
        raise ConfigError(
            f"NATS_URL is not set and no `swarm run` of namespace {settings.nats_namespace} is running on its "
            f"store {store}: start `swarm run` first, or set NATS_URL to the server the swarm uses"
        )
    with contextlib.ExitStack() as stack:
        try:
            opened = stack.enter_context(embedded_nats(settings.model_copy(update={"swarm_nats_auth": None}),
                                                       auth=auth, store_dir=store))
        except StoreInUse as exc:  # taken since it was looked at
            running = _running(settings, store, note, exc)
            reached = Reached(running, f"NATS_URL is not set: reading the store of `swarm run` {store} through the "
                                       f"nats-server at {running.nats_url} that holds it ({exc.holder})")
        else:
            reached = Reached(opened, f"NATS_URL is not set: reading the store of `swarm run` {store} (a nats-server "
                                      f"started on it for this command at {opened.nats_url})")
        yield reached


def _held_by(store: Path) -> StoreInUse | None:
    """Who holds the store's lock (None: nobody; the lock is taken and let go at once to find out)."""
    try:
        fd = lock_store(store)
    except StoreInUse as exc:
        return exc
    os.close(fd)
    return None


def _read_note(store: Path) -> dict[str, Any]:
    try:
        data = json.loads((store / SERVER_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _account_is_namespace(store: Path, namespace: str, note: dict[str, Any]) -> bool:
    """Whether the data is in the namespace's account (True) or the default one of `--no-auth` runs."""
    jetstream = store / "jetstream"
    kept = {a for a in (namespace.upper(), DEFAULT_ACCOUNT) if (jetstream / a).is_dir()}
    if not kept:
        raise ConfigError(
            f"NATS_URL is not set and no `swarm run` of namespace {namespace} has kept anything in {store} yet "
            "(SWARM_HOME and NATS_NAMESPACE name the store): run `swarm run` first, or set NATS_URL to the server "
            "the swarm uses"
        )
    if isinstance(note.get("auth"), bool) and (namespace.upper() if note["auth"] else DEFAULT_ACCOUNT) in kept:
        return bool(note["auth"])  # the account the last server on the store used
    return namespace.upper() in kept


def _running(settings: Settings, store: Path, note: dict[str, Any], exc: StoreInUse) -> Settings:
    """Settings for the server holding the store, from the note its starter left; ConfigError saying how otherwise."""
    server = server_holding(store)
    url, auth_dir = note.get("url"), note.get("auth_dir")
    if server is None or note.get("server_pid") != server or not isinstance(url, str):
        raise ConfigError(
            f"NATS_URL is not set and the store of `swarm run` {store} is held by a nats-server that left no address "
            f"there ({exc.holder}): set NATS_URL to that server's URL (and SWARM_NATS_AUTH to its credentials "
            "directory), both printed when it started"
        )
    if auth_dir is not None and not Path(str(auth_dir)).is_dir():
        raise ConfigError(
            f"NATS_URL is not set and the store of `swarm run` {store} is held by the nats-server at {url} "
            f"({exc.holder}), whose credentials directory {auth_dir} is gone: stop that server (its `swarm run`) and "
            "ask again, or set NATS_URL and SWARM_NATS_AUTH to reach it"
        )
    return settings.model_copy(update={"nats_url": url, "swarm_nats_auth": Path(auth_dir) if auth_dir else None})


def running_run(settings: Settings) -> Settings | None:
    """For a command that needs NATS_URL (not set): settings that reach the `swarm run` of embedded defaults running
    here in the namespace (its server's URL and credentials, from the note beside its store's lock); None when
    none runs. Nothing is started or locked for good."""
    store = run_store(settings)
    if not (store / LOCK_FILE).exists():
        return None
    held = _held_by(store)
    if held is None:
        return None
    try:
        return _running(settings, store, _read_note(store), held)
    except ConfigError:
        return None
