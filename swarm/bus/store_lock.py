"""One nats-server per JetStream store: an exclusive lock on `<store>/swarm.lock`.

    fd = lock_store(Path(".swarm/run-nats/default"))   # StoreInUse if another server holds it
    ...                                                 # hand fd to the nats-server child (pass_fds)
    note_server(fd, server.pid)                         # who holds it, for the next one's error
    os.close(fd)                                        # released (the child's copy too, once it exits)

nats-server itself takes no lock: a second server on a store in use starts without a word, and both write
the same message blocks, so one server's messages silently overwrite the other's. The lock is a `flock` on
an open file description that the server process shares, released by the kernel when the last process
holding it exits: a crash leaves no stale lock, and a nats-server that outlives the process that started it
(a `swarm run` killed with SIGKILL) holds it until it exits.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import psutil

from swarm.errors import ConfigError

__all__ = ["LOCK_FILE", "StoreInUse", "lock_store", "note_server", "server_holding"]

LOCK_FILE = "swarm.lock"


class StoreInUse(ConfigError):
    """The JetStream store is held by another running server."""

    def __init__(self, store: Path, holder: str) -> None:
        self.store, self.holder = store, holder
        super().__init__(f"the JetStream store {store} is in use by another nats-server ({holder}): two servers "
                         "on one store overwrite each other's messages")


def lock_store(store: Path) -> int:
    """Lock `store` (created if missing) for this process; the lock's file descriptor (not inheritable)."""
    path = store / LOCK_FILE
    try:
        store.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:  # a file in its way, a read-only place
        raise ConfigError(f"cannot use {store} as a JetStream store: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreInUse(store, _holder(path)) from None
    except BaseException:
        os.close(fd)
        raise
    _write(fd, str(os.getpid()))
    return fd


def note_server(fd: int, server_pid: int) -> None:
    """Record the server's process next to its starter's: a server whose starter was killed outlives it."""
    _write(fd, f"{os.getpid()} {server_pid}")


def server_holding(store: Path) -> int | None:
    """The process id of the nats-server that holds `store`'s lock as its starter recorded it (`note_server`),
    or None when none is recorded or that process is gone. Meaningful while the lock is held."""
    pids = _pids(store / LOCK_FILE)
    if len(pids) < 2 or not psutil.pid_exists(pids[1]):
        return None
    return pids[1]


def _pids(path: Path) -> list[int]:
    try:
        words = path.read_text().split()
    except OSError:
        return []
    return [int(w) for w in words] if words and all(w.isdigit() for w in words) else []


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{text}\n".encode(), 0)


def _holder(path: Path) -> str:
    pids = _pids(path)
    if not pids:
        return "its process is unknown"
    started = f"started by process {pids[0]}"
    if len(pids) < 2:
        return started
    if not psutil.pid_exists(pids[0]):  # its `swarm run` was killed (SIGKILL, or Ray's processes taken with it)
        return f"process {pids[1]}, {started}, which has exited: `kill {pids[1]}` ends the server and frees the store"
    return f"process {pids[1]}, {started}"
