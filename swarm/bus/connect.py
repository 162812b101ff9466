"""Connecting to NATS: one place that turns settings into a connection, with clear failures.

    async with open_bus(settings) as bus:
        ack = await bus.publish(bus.names.errors(), report, msg_id=report_msg_id)
    async with open_bus(settings, role="reporter") as bus:   # SWARM_NATS_AUTH set: the reporter's seed
        ...

`Bus` is the small handle everything above the floor receives: the connection, JetStream, the
namespace's wire names, and publish helpers that always inject the trace context.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import ssl
import sys
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.errors import NoServersError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from pydantic import BaseModel

from swarm.bus.clientfiles import nkey_seed_option, nkey_user, tls_context
from swarm.bus.names import HDR_MSG_ID, Names, inbox_prefix, restore_case
from swarm.bus.permissions import ROLES
from swarm.bus.settings import Settings
from swarm.bus.trace import inject_headers, publish_span
from swarm.errors import ConfigError, NatsUnavailable, PermissionDenied, SwarmError
from swarm.files import read_user_file

__all__ = ["Bus", "connect", "open_bus", "connect_options", "Refusals", "redacted"]

log = logging.getLogger("swarm.bus")
_TOLD_REACHED: list[str] = []  # a command says once which `swarm run` it reached
_VIOLATION = re.compile(r"permissions violation for (publish|subscription) to \"?([^\"\s']+)", re.IGNORECASE)


@dataclass
class Refusals:
    """Permission violations the server reported on one connection: (publish|subscription, subject).

    nats-py lower-cases the server's error text, so subjects are compared in lower case."""

    user: str
    quiet: bool = False  # `swarm nats auth check` provokes refusals on purpose: do not log them
    seen: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=10000))

    def record(self, message: str) -> bool:
        m = _VIOLATION.search(message)
        if m is None:
            return False
        self.seen.append((m.group(1).lower(), m.group(2).lower()))
        return True

    def refused(self, action: str, subject: str) -> bool:
        return (action, subject.lower()) in self.seen

    def denial(self) -> PermissionDenied | None:
        """The newest refusal as the error to raise (None: none seen, or refusals provoked on purpose)."""
        if not self.seen or self.quiet:
            return None
        action, subject = self.seen[-1]
        why = ("a user of another role? With a role's seed and no SWARM_NATS_AUTH, set NATS_ROLE to that role: it "
               "reads replies on its role's inboxes only" if subject.startswith("_inbox.") else
               "a command of another role?")
        return PermissionDenied(f"NATS refused user {self.user} to {action} to {restore_case(subject)}: permissions "
                                f"violation ({why})")


def _credentials(settings: Settings, role: str | None) -> tuple[str, str]:
    """(who a connection is, what to check when the server refuses it): by the credentials presented."""
    if settings.swarm_nats_auth:
        return (f"{_role(settings, role)}@{settings.nats_namespace}", "wrong seed, or a server configuration that "
                "does not list it: `swarm nats auth generate`, then restart the server")
    if settings.nats_user:
        return settings.nats_user, "wrong NATS_USER or NATS_PASSWORD"
    if settings.nats_creds:
        return f"creds {settings.nats_creds}", "the server does not accept the JWT or seed of NATS_CREDS"
    if settings.nats_nkey_seed:
        return nkey_user(settings.nats_nkey_seed), "the server's configuration does not list this NKey (NATS_NKEY_SEED)"
    if settings.nats_token:
        return "anonymous (NATS_TOKEN)", "wrong NATS_TOKEN"
    if settings.nats_url and _USERINFO.search(settings.nats_url):
        return "anonymous", "wrong user, password or token in NATS_URL"
    return "anonymous", ("the server wants credentials: set NATS_CREDS, NATS_USER and NATS_PASSWORD, NATS_TOKEN or "
                         "NATS_NKEY_SEED")


def _role(settings: Settings, role: str | None) -> str:
    return role or settings.nats_role or "operator"


def connect_options(settings: Settings, url: str | None = None, role: str | None = None) -> dict[str, Any]:
    """nats.connect keyword arguments for these settings (auth, TLS, timeouts).

    With `SWARM_NATS_AUTH` the connection uses the NKey seed of `role` (else `NATS_ROLE`, else operator)
    in its namespace's account, and reply inboxes only that role may subscribe to."""
    servers = url or settings.nats_url
    if not servers:
        from swarm.bus.runstore import running_run  # the store's lock and note: only when asked

        running = running_run(settings)
        if running is None:
            raise ConfigError(
                "NATS_URL is not set: export NATS_URL=nats://host:4222, or start a local server with "
                "`swarm nats up` (demo, run and investigate start an embedded one by themselves)"
            )
        # a command on the laptop of a `swarm run` on embedded defaults reaches that run, as `fixes` does
        if not _TOLD_REACHED:
            _TOLD_REACHED.append(running.nats_url)
            sys.stderr.write(f"NATS_URL is not set: reaching the `swarm run` of namespace {settings.nats_namespace} "
                             f"running here, at {running.nats_url}\n")
        settings, servers = running, running.nats_url
    urls = [_server_url(s.strip(), servers) for s in servers.split(",") if s.strip()]
    if not urls:
        raise ConfigError(f"NATS_URL={redacted(servers)!r} names no server; expected nats://host:4222 "
                          "(several: nats://a:4222,nats://b:4222)")
    opts: dict[str, Any] = {
        "servers": urls,
        "connect_timeout": settings.nats_connect_timeout_s,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "drain_timeout": 3,  # a pull subscription mid-fetch must not hold a shutdown for 30 s
        "allow_reconnect": True,
        "name": f"swarm[{settings.nats_namespace}]",
    }
    if settings.nats_creds:
        opts["user_credentials"] = str(settings.nats_creds)
    if settings.nats_user:
        opts["user"], opts["password"] = settings.nats_user, settings.nats_password or ""
    if settings.nats_token:
        opts["token"] = settings.nats_token
    if settings.nats_creds and not settings.swarm_nats_auth:
        creds = read_user_file(Path(settings.nats_creds), "NATS_CREDS file")  # missing: one line naming it
        missing = [block for block in ("NATS USER JWT", "USER NKEY SEED") if f"-----BEGIN {block}-----" not in creds]
        if missing:  # nats-py would fail on it deep in the handshake (a TypeError), or not at all on an open server
            raise ConfigError(f"NATS_CREDS file {settings.nats_creds} is not a NATS credentials file: no "
                              f"{' and no '.join(f'-----BEGIN {b}----- block' for b in missing)} (`nsc generate "
                              "creds` writes one)")
    if settings.nats_nkey_seed and not settings.swarm_nats_auth:
        opts |= nkey_seed_option(settings.nats_nkey_seed)
    if (settings.nats_nkey_seed or settings.nats_creds) and _role(settings, role) in ROLES:
        # a role's seed used on its own (no SWARM_NATS_AUTH) is granted replies on its role's inboxes only
        opts["inbox_prefix"] = inbox_prefix(_role(settings, role))
    if settings.nats_tls_ca or settings.nats_tls_cert or settings.nats_tls_key:
        opts["tls"] = tls_context(settings.nats_tls_ca, settings.nats_tls_cert, settings.nats_tls_key)

    if settings.swarm_nats_auth:
        from swarm.bus.auth import AuthDir  # nkeys only where auth is used

        creds = AuthDir(settings.swarm_nats_auth).credentials(settings.nats_namespace, _role(settings, role))
        opts.pop("user_credentials", None), opts.pop("user", None), opts.pop("token", None)
        opts["nkeys_seed"] = str(creds.seed)
        opts["inbox_prefix"] = inbox_prefix(creds.role)
        opts["name"] = f"swarm[{settings.nats_namespace}/{creds.role}]"
        if creds.ca and "tls" not in opts:
            opts["tls"] = tls_context(creds.ca, names=("SWARM_NATS_AUTH CA", "", ""))
    return opts


def _server_url(server: str, servers: str) -> str:
    """`server` when it reads as a server URL the way nats-py reads it (`host`, `host:port`,
    `nats|tls|ws|wss://host[:port]`); ConfigError naming NATS_URL otherwise: no server would ever answer it."""
    problem = None
    if any(c.isspace() for c in server):
        problem = "it contains white space"
    else:
        scheme = server.split("://", 1)[0] if "://" in server else "nats"
        try:
            uri = urlparse(server if "://" in server else f"nats://{server}")
            uri.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError as exc:
            problem = str(exc)
        else:
            if scheme not in ("nats", "tls", "ws", "wss"):
                problem = f"unknown scheme {scheme!r} (nats, tls, ws or wss)"
            elif not uri.hostname:
                problem = "it names no host"
    if problem is None:
        return server
    raise ConfigError(
        f"NATS_URL={redacted(servers)!r}: {redacted(server)!r} is not a server URL ({problem}); "
        "expected nats://host:4222"
    )


_USERINFO = re.compile(r"(://)[^/@\s]*@")


def redacted(urls: str) -> str:
    """`urls` with any `user:password@` shown as `***@`: an error message never prints a password."""
    return _USERINFO.sub(r"\1***@", urls)


# the alerts a server sends about the client's certificate, as OpenSSL names the alert received
_CLIENT_CERT_ALERTS = ("CERTIFICATE_REQUIRED", "BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN",
                       "CERTIFICATE_EXPIRED", "CERTIFICATE_REVOKED", "UNSUPPORTED_CERTIFICATE")
_CLOSED = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _client_certificate_hint(cert: Path | None) -> str:
    if cert is None:
        return "set NATS_TLS_CERT and NATS_TLS_KEY to a certificate signed by a CA the server trusts and its key"
    return f"is NATS_TLS_CERT={cert} signed by the CA the server verifies clients with, and still valid?"


def _tls_problem(e: ssl.SSLError, cert: Path | None) -> str:
    """What failed in a TLS handshake, and what to check when the server refused the client's certificate: one
    that verifies them (nats-server `tls { verify: true }`) answers a missing or untrusted one with an alert."""
    reason = str(e.reason or e)
    if "ALERT" not in reason or not any(alert in reason for alert in _CLIENT_CERT_ALERTS):
        return reason
    refused = "requires a client certificate" if cert is None else "refused the client certificate"
    return f"the server {refused} ({reason}); {_client_certificate_hint(cert)}"


def _refused_connect(exc: BaseException, user: str, servers: str, errors: list[BaseException],
                     hint: str, tls: bool = False, cert: Path | None = None) -> ConfigError | None:
    """A clear one-line error for credentials or TLS the server refused (None: nothing answered). `tls`: the
    connection was configured for TLS; `cert`: the client certificate it presented (NATS_TLS_CERT), if any."""
    seen = [exc, exc.__cause__, *errors]
    for e in seen:
        if isinstance(e, nats.errors.AuthorizationError) or "authorization violation" in str(e).lower():
            return ConfigError(f"NATS at {servers} refused the credentials of user {user}: authorization "
                               f"violation ({hint})")
        if isinstance(e, ssl.SSLCertVerificationError):
            return ConfigError(f"TLS to NATS at {servers} failed for user {user}: the server's certificate is not "
                               f"trusted ({e.verify_message}); set NATS_TLS_CA to the CA that signed it")
        if isinstance(e, ssl.SSLError):
            return ConfigError(f"TLS to NATS at {servers} failed for user {user}: {_tls_problem(e, cert)}")
    # it answered, then hung up: when the client's CONNECT reached a server that refused its certificate before
    # the server closed, the close is a reset and its alert is lost with it (a loaded machine does that)
    closed = next((e for e in seen if isinstance(e, _CLOSED)), None)
    if tls and closed is not None:
        return ConfigError(f"TLS to NATS at {servers} failed for user {user}: the server closed the connection in "
                           f"the TLS handshake ({type(closed).__name__}); if it verifies client certificates, "
                           f"{_client_certificate_hint(cert)}")
    return None


def _plain_text(servers: list[str]) -> ConfigError:
    # nats-py upgrades to TLS only when the server asks for it: a tls:// URL or NATS_TLS_* files on a server
    # without TLS would be a plain-text link, credentials included
    return ConfigError(f"NATS_URL={redacted(','.join(servers))}: TLS was asked for (a tls:// URL or NATS_TLS_*) but "
                       "the server offers no TLS, so the link would be plain text; give the server TLS (`swarm nats "
                       "up --auth --tls`), or use nats:// to connect without it")


def _offers_tls(server: str, timeout_s: float = 2.0) -> bool | None:
    """Whether the server's INFO line (sent in the clear before anything else) asks for TLS; None: no INFO read."""
    uri = urlparse(server if "://" in server else f"nats://{server}")
    if uri.scheme in ("ws", "wss") or not uri.hostname:
        return None
    try:
        with socket.create_connection((uri.hostname, uri.port or 4222), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            head = b""
            while b"\r\n" not in head and len(head) < 16384:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return None
    line = head.split(b"\r\n", 1)[0]
    if not line.startswith(b"INFO "):
        return None
    try:
        info = json.loads(line[5:])
    except ValueError:
        return None
    return bool(info.get("tls_required"))  # only then does nats-py upgrade the link


async def _first_connect(nc: NATS, opts: dict[str, Any], refused: asyncio.Event) -> None:
    attempt = asyncio.ensure_future(nc.connect(**opts))
    refusal = asyncio.ensure_future(refused.wait())
    try:
        await asyncio.wait({attempt, refusal}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        refusal.cancel()
    if attempt.done():
        attempt.result()
        return
    attempt.cancel()
    with contextlib.suppress(BaseException):
        await attempt
    raise nats.errors.Error("the server refused the connection")


async def connect(
    settings: Settings, url: str | None = None, role: str | None = None, refusals: Refusals | None = None,
    **overrides: Any,
) -> NATS:
    """Connect, or raise NatsUnavailable naming the URL that did not answer (ConfigError naming the user
    when the server refuses its credentials or TLS fails).

    The first connect gives up after a couple of attempts (a command must say clearly that nothing
    answers); once connected, reconnects are unlimited unless overridden. Permission violations the
    server reports are logged and recorded in `refusals`.
    """
    opts = connect_options(settings, url, role) | overrides
    keep_reconnecting = opts.get("max_reconnect_attempts", -1)
    user, hint = _credentials(settings, role)
    refusals = refusals if refusals is not None else Refusals(user)
    errors: list[BaseException] = []
    refused_early = asyncio.Event()
    given_cb = opts.get("error_cb")

    async def on_error(exc: Exception) -> None:  # the default callback prints every failed attempt
        if refusals.record(str(exc)):
            if not refusals.quiet:
                log.warning("NATS refused user %s: %s", user, exc)
        elif len(errors) < 20:
            errors.append(exc)
            if isinstance(exc, ssl.SSLError | nats.errors.AuthorizationError):
                refused_early.set()  # nats-py keeps waiting after a failed TLS handshake: stop it here
        if given_cb is not None:
            await given_cb(exc)

    opts["error_cb"] = on_error
    wants_tls = "tls" in opts or any(u.startswith("tls://") for u in opts["servers"])
    if wants_tls and await asyncio.to_thread(_offers_tls, opts["servers"][0]) is False:
        raise _plain_text(opts["servers"])  # said before any credentials go out in the clear
    nc = NATS()
    try:
        await _first_connect(nc, opts | {"max_reconnect_attempts": 1}, refused_early)
    except (TimeoutError, NoServersError, OSError, nats.errors.Error) as exc:
        with contextlib.suppress(Exception):
            await nc.close()
        refused = _refused_connect(exc, user, redacted(",".join(opts["servers"])), errors, hint,
                                   tls="tls" in opts or any(u.startswith("tls://") for u in opts["servers"]),
                                   cert=settings.nats_tls_cert)
        if refused is not None:
            raise refused from None
        raise NatsUnavailable(
            f"nothing answers at NATS_URL={redacted(','.join(opts['servers']))} "
            f"({type(exc).__name__}: {exc}); is the server running? (`swarm nats up` starts one)"
        ) from exc
    if wants_tls and not (nc._server_info or {}).get("tls_required"):  # the probe could not tell
        with contextlib.suppress(Exception):
            await nc.close()
        raise _plain_text(opts["servers"])
    nc.options["max_reconnect_attempts"] = keep_reconnecting
    return nc


@dataclass
class Bus:
    """A connection bound to one namespace."""

    nc: NATS
    js: JetStreamContext
    names: Names
    settings: Settings
    refusals: Refusals = field(default_factory=lambda: Refusals("?"))

    @classmethod
    async def connect(cls, settings: Settings, url: str | None = None, role: str | None = None,
                      refusals: Refusals | None = None, **overrides: Any) -> Bus:
        """`role`: whose credentials to use when SWARM_NATS_AUTH is set (reporter, intake, agent, ...)."""
        refusals = refusals or Refusals(_credentials(settings, role)[0])
        nc = await connect(settings, url, role, refusals, **overrides)
        return cls(nc=nc, js=nc.jetstream(), names=Names(settings.nats_namespace), settings=settings,
                   refusals=refusals)

    async def publish(
        self,
        subject: str,
        payload: BaseModel | bytes,
        *,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> PubAck:
        """JetStream publish in a PRODUCER span, its trace context (and Msg-Id, when given) in the headers."""
        with publish_span(subject, msg_id, headers):
            hdrs = inject_headers(headers)
            if msg_id:
                hdrs[HDR_MSG_ID] = msg_id
            data = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
            try:
                return await self.js.publish(subject, data, headers=hdrs, timeout=timeout)
            except TimeoutError as exc:  # a refused publish is never answered: say why it timed out
                if self.refusals.refused("publish", subject):
                    raise PermissionDenied(
                        f"NATS refused user {self.refusals.user} to publish to {subject}: permissions violation"
                    ) from exc
                raise

    def payload_room(self) -> int:
        """The largest payload worth building for this server: its max payload less room for headers
        (a dead letter is bounded by it)."""
        return max(4096, int(self.nc.max_payload or 1024 * 1024) - 8192)

    async def roundtrip(self, timeout: float = 10.0) -> None:
        """Return once the server has processed every command sent before (and reported any refusal).

        nats-py writes a flush's PING ahead of commands still buffered, so one flush is no barrier; by
        the time its PONG is back the buffer has been written, and a second PING follows it."""
        await self.nc.flush(timeout=timeout)
        await self.nc.flush(timeout=timeout)

    async def publish_soon(
        self,
        subject: str,
        payload: BaseModel | bytes,
        *,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> asyncio.Future[PubAck]:
        """JetStream publish without waiting for the ack: the message is on its way (after every
        publish this connection sent before it, so order holds) and the future gets the PubAck.
        The future never times out by itself: the caller bounds it."""
        with publish_span(subject, msg_id, headers):
            hdrs = inject_headers(headers)
            if msg_id:
                hdrs[HDR_MSG_ID] = msg_id
            data = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
            return await self.js.publish_async(subject, data, headers=hdrs)

    async def publish_core(
        self, subject: str, payload: BaseModel | bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Fire-and-forget core NATS publish (heartbeats), trace context included."""
        data = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
        await self.nc.publish(subject, data, headers=inject_headers(headers))

    async def close(self) -> None:
        # flush, then close: draining would wait out pull subscriptions mid-fetch (JetStream
        # publishes are already acked, so nothing is lost by not draining)
        if not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.flush(timeout=2)
            with contextlib.suppress(Exception):
                await self.nc.close()


@contextlib.asynccontextmanager
async def open_bus(
    settings: Settings, url: str | None = None, role: str | None = None, **overrides: Any
) -> AsyncIterator[Bus]:
    """A connected Bus for the block, closed after it. When the block fails after the server refused this
    connection a publish or subscription (under accounts a refused request is never answered: what fails is
    a timeout, a missing bucket, no responders), the failure is that refusal: PermissionDenied naming the
    user and the subject, the failure it caused chained."""
    bus = await Bus.connect(settings, url, role, **overrides)
    try:
        yield bus
    except (SwarmError, TimeoutError, nats.errors.Error) as exc:
        denied = None if isinstance(exc, PermissionDenied) else bus.refusals.denial()
        if denied is not None:
            raise denied from exc
        raise
    finally:
        await bus.close()
