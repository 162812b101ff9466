"""What the driver asks of Ray itself: to start (keeping the process's signal handlers), and for CPUs.

    dashboard_url = init_ray(None, "swarm-payments")   # a local Ray, in a session of its own; `swarm run`'s
                                                       # SIGTERM handler stays (ray.init's would exit at once)
    init_ray("ray://head:10001", "swarm-payments")     # Ray Client: the working directory goes to the cluster
    standing = request_cpus(6.5, standing=None)        # asks Ray's autoscaler for 7 CPUs: 7
    standing = request_cpus(0, standing)               # withdraws the request: 0

A local Ray has no autoscaler to ask: `request_cpus` then leaves the standing request as it was.

Through Ray Client (`ray://`) Ray's workers take their sys.path from a driver on the head, not from this
process: so the working directory goes with the connection as the job's runtime env (as `swarm submit`
ships it), or the actors would import the nodes' copy of the agents, or fail to import one only this
checkout has (each role actor dying at start while this driver's own import of it worked).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import ray

from swarm.errors import ConfigError
from swarm.runtime.jobs import EXCLUDES
from swarm.runtime.localrepos import joins_a_cluster

__all__ = [
    "init_ray", "check_ray_address", "ray_processes_in_own_session", "request_cpus", "signal_handlers_kept",
    "local_ray_reaped", "reap_session",
]  # fmt: skip

log = logging.getLogger("swarm.runtime")

_CLIENT_ATTEMPTS = 3
_CLIENT_SERVER_FAILED = "Starting Ray client server failed"  # ray.util.client.server.proxier's words
_PROBE_TIMEOUT_S = 3.0  # a GCS answers a TCP connect at once; ray.init itself retries a dead one for minutes
_ADDRESS_FORMS = ("expected HOST:PORT of the cluster's GCS (e.g. 127.0.0.1:6379), ray://HOST:PORT or auto; "
                  "the dashboard's http:// address is for `swarm submit` / `swarm jobs`")



def check_ray_address(address: str, origin: str = "") -> None:
    """ConfigError naming the address (and `origin`, e.g. " (RAY_ADDRESS)") when it is no Ray address, or
    nothing listens there: ray.init would raise a bare ValueError for the one and retry for minutes (a
    ray:// one for 30 s) on the other. `local` (a new local Ray) needs nothing."""
    if address == "local":  # a new local Ray: nothing to reach
        return
    hostport = _resolve_auto(origin) if address == "auto" else address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    host = host.strip("[]")  # an IPv6 literal
    if not sep or not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"invalid Ray address {address!r}{origin}: {_ADDRESS_FORMS}")
    where = f"{hostport} (auto)" if address == "auto" else address
    try:
        with socket.create_connection((host, int(port)), timeout=_PROBE_TIMEOUT_S) as sock:
            first = b"" if _tls() else _http2_answer(sock)
    except OSError as exc:  # refused, unreachable, timed out, unknown host
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ConfigError(f"no Ray cluster answers at {where}{origin}: {reason}") from exc
    if first is not None and not _is_settings_frame(first):
        # the GCS and the Ray Client server are gRPC: something else (a NATS server, a web server) left ray.init
        # waiting two minutes for an answer it never understood
        heard = f"it answered {first[:24]!r}" if first else "it closed the connection"
        raise ConfigError(f"something listens at {where}{origin}, but it is not Ray ({heard}, not gRPC): "
                          f"{_ADDRESS_FORMS}")


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + SETTINGS


def _tls() -> bool:
    """Ray's gRPC over TLS (RAY_USE_TLS) answers no plain HTTP/2 preface: the probe stops at the connect."""
    return os.environ.get("RAY_USE_TLS", "").lower() in ("1", "true", "yes")


def _http2_answer(sock: socket.socket) -> bytes | None:
    """The first 9 bytes a server answers an HTTP/2 client preface with (a gRPC server: its SETTINGS frame);
    None when the exchange failed or the server was slow to answer (the caller then leaves the verdict to
    ray.init: a loaded GCS must not be refused)."""
    try:
        sock.sendall(_HTTP2_PREFACE)
        head = b""
        while len(head) < 9:
            chunk = sock.recv(9 - len(head))
            if not chunk:
                break
            head += chunk
        return head
    except OSError:  # TimeoutError included
        return None


def _is_settings_frame(head: bytes) -> bool:
    return len(head) == 9 and head[3] == 0x04


def _resolve_auto(origin: str) -> str:
    """The GCS address `auto` stands for (the cluster this machine last started); it may be a stale one."""
    from ray._private.services import canonicalize_bootstrap_address  # what ray.init("auto") reads

    try:
        return canonicalize_bootstrap_address("auto") or ""
    except ConnectionError as exc:
        raise ConfigError(f"no running Ray cluster found for address auto{origin}: start one with `ray start "
                          "--head`, or pass its HOST:PORT") from exc


def init_ray(address: str | None, namespace: str) -> str | None:
    """ray.init in `namespace` (a local Ray unless `address` or RAY_ADDRESS); the dashboard's URL, if there is
    one. An address where no Ray answers is a ConfigError naming it, not minutes of ray.init's retries."""
    if given := address or os.environ.get("RAY_ADDRESS"):
        check_ray_address(given, "" if address else " (RAY_ADDRESS)")
    extra: dict[str, Any] = {}
    if given and given.startswith("ray://"):  # Ray Client: the workers see the head's sys.path, not ours
        extra["runtime_env"] = {"working_dir": os.getcwd(), "excludes": EXCLUDES}
        log.info("Ray Client at %s: shipping the working directory %s to the cluster", given, os.getcwd())
    attempts = _CLIENT_ATTEMPTS if given and given.startswith("ray://") else 1
    for attempt in range(1, attempts + 1):
        try:
            with signal_handlers_kept(), ray_processes_in_own_session():
                context = ray.init(address=address, namespace=namespace, logging_level="WARNING", **extra)
            break
        except ConnectionAbortedError as exc:
            # the head's proxier starts one server per client connection; on a loaded head it can miss its
            # 30 s (a fresh clone's CI saw it once in a second connection right after a first): a new
            # connection gets a new server
            if attempt == attempts or _CLIENT_SERVER_FAILED not in str(exc):
                raise
            log.warning("Ray Client at %s could not start this connection's server (attempt %d of %d): "
                        "connecting again", given, attempt, attempts)
            with contextlib.suppress(Exception):
                ray.shutdown()
            time.sleep(2.0 * attempt)
    return getattr(context, "dashboard_url", None) or None


@contextlib.contextmanager
def ray_processes_in_own_session() -> Iterator[None]:
    """Processes a local Ray starts within the block (GCS, raylet and, through the raylet, the actors' workers)
    start in a session of their own, so a signal to this process's group reaches the driver alone.

    A SIGTERM to the group of a `swarm run` (`kill -TERM -PGID`, `timeout`, a supervisor stopping a process
    group) otherwise killed the local GCS and raylet with it: Ray blocks only SIGINT in its processes. The
    draining driver then lost its actors and died without counters, leaving the embedded nats-server behind.
    Nothing is orphaned by the change: on Linux a local Ray's processes die with their parent anyway
    (Ray sets PR_SET_PDEATHSIG on them), and `ray.shutdown()` stops each one by pid."""
    if os.name != "posix":
        yield
        return
    from ray._private import services

    spawn = getattr(services, "ConsolePopen", None)  # Ray's private name: a Ray without it starts as it did
    if not isinstance(spawn, type):
        log.warning("this Ray (%s) starts its processes another way: a signal to this process's group reaches "
                    "the local Ray too; send SIGTERM or SIGINT to the driver alone", ray.__version__)
        yield
        return

    class OwnSession(spawn):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    services.ConsolePopen = OwnSession
    try:
        yield
    finally:
        services.ConsolePopen = spawn


def request_cpus(cpus: float, standing: int | None) -> int | None:
    """A standing request to Ray's autoscaler for `cpus`, rounded up (it replaces the previous one; 0
    withdraws it). Returns the request that stands now: `standing` if it already asked for that, or if
    Ray did not honour the new one."""
    want = math.ceil(cpus - 1e-9) if cpus > 0 else 0
    if want == standing:
        return standing
    try:
        from ray.autoscaler.sdk import request_resources

        request_resources(num_cpus=want)
        log.info("asked Ray's autoscaler for %d CPUs (was %s)", want, standing)
        return want
    except Exception as exc:  # a local Ray has no autoscaler to ask
        log.debug("request_resources(%s) not honoured: %s", want, exc)
        return standing


@contextlib.contextmanager
def signal_handlers_kept() -> Iterator[None]:
    """SIGTERM / SIGINT handlers the process installed before (`swarm run` drains on them) stay installed
    through the block: a signal during the rest of start-up (intake already at work) drains, not exits."""
    kept: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if handler not in (signal.SIG_DFL, signal.default_int_handler, None):
            kept[sig] = handler
    try:
        yield
    finally:
        for sig, handler in kept.items():
            with contextlib.suppress(ValueError):  # not the main thread: nothing was installed there either
                signal.signal(sig, handler)


def reap_session(session_dir: str, grace_s: float = 3.0) -> list[int]:
    """Stop the processes still running for a local Ray session (its directory in their command line) once the
    session is over: SIGTERM, SIGKILL after `grace_s`. The pids it had to stop.

    `ray.shutdown()` stops the processes it started by pid, and they die with their parent; one that Ray's raylet
    started (its runtime-env agent) was seen alive, orphaned, after a clean SIGTERM drain (1 run of 3)."""
    import psutil

    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            line = " ".join(proc.info["cmdline"] or [])
            if proc.info["pid"] != me and session_dir in line:
                found.append(proc)
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(found, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    if found:
        log.info("stopped %d process(es) left by the local Ray session %s", len(found), session_dir)
    return [p.pid for p in found]


@contextlib.contextmanager
def local_ray_reaped(address: str | None) -> Iterator[None]:
    """Around a command that starts a local Ray (no `address`, no RAY_ADDRESS): at its end, that Ray is shut down
    and whatever of its session still runs is stopped (`reap_session`). A Ray it joined is left alone, and so is
    one this process had already started (a program or test session calling the command in-process owns it)."""
    owned_before = ray.is_initialized()
    try:
        yield
    finally:
        if not owned_before and not joins_a_cluster(address) and ray.is_initialized():
            session = _session_dir()
            ray.shutdown()
            if session:
                reap_session(session)


def _session_dir() -> str | None:
    try:
        from ray._private import worker  # Ray's private name: without it nothing is reaped

        node = getattr(worker, "_global_node", None)
        return str(node.get_session_dir_path()) if node is not None and node.head else None
    except Exception:  # noqa: BLE001 - another Ray: reap nothing rather than guess
        return None
