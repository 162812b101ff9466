"""Connecting to NATS: one place that turns settings into a connection, with clear failures.

    async with open_bus(settings) as bus:
        ack = await bus.publish(bus.names.errors(), report, msg_id=report_msg_id)

`Bus` is the small handle everything above the floor receives: the connection, JetStream, the
namespace's wire names, and publish helpers that always inject the trace context.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.errors import NoServersError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from pydantic import BaseModel

from swarm.bus.names import HDR_MSG_ID, Names
from swarm.bus.settings import Settings
from swarm.bus.trace import inject_headers, publish_span
from swarm.errors import ConfigError, NatsUnavailable

__all__ = ["Bus", "connect", "open_bus", "connect_options"]


def connect_options(settings: Settings, url: str | None = None) -> dict[str, Any]:
    """nats.connect keyword arguments for these settings (auth, TLS, timeouts)."""
    servers = url or settings.nats_url
    if not servers:
        raise ConfigError(
            "NATS_URL is not set: export NATS_URL=nats://host:4222, or start a local server with "
            "`swarm nats up` (demo, run and investigate start an embedded one by themselves)"
        )
    opts: dict[str, Any] = {
        "servers": [s.strip() for s in servers.split(",") if s.strip()],
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
    if settings.nats_nkey_seed:
        opts["nkeys_seed"] = settings.nats_nkey_seed
    if settings.nats_tls_ca or settings.nats_tls_cert:
        import ssl

        tls = ssl.create_default_context(cafile=str(settings.nats_tls_ca) if settings.nats_tls_ca else None)
        if settings.nats_tls_cert:
            key = str(settings.nats_tls_key) if settings.nats_tls_key else None
            tls.load_cert_chain(str(settings.nats_tls_cert), key)
        opts["tls"] = tls
    return opts


async def connect(settings: Settings, url: str | None = None, **overrides: Any) -> NATS:
    """Connect, or raise NatsUnavailable naming the URL that did not answer.

    The first connect gives up after a couple of attempts (a command must say clearly that nothing
    answers); once connected, reconnects are unlimited unless overridden.
    """
    opts = connect_options(settings, url) | overrides
    keep_reconnecting = opts.get("max_reconnect_attempts", -1)

    async def quiet(exc: Exception) -> None:  # the default callback prints every failed attempt
        return None

    opts.setdefault("error_cb", quiet)
    nc = NATS()
    try:
        await nc.connect(**(opts | {"max_reconnect_attempts": 1}))
    except (TimeoutError, NoServersError, OSError, nats.errors.Error) as exc:
        with contextlib.suppress(Exception):
            await nc.close()
        raise NatsUnavailable(
            f"nothing answers at NATS_URL={','.join(opts['servers'])} "
            f"({type(exc).__name__}: {exc}); is the server running? (`swarm nats up` starts one)"
        ) from exc
    nc.options["max_reconnect_attempts"] = keep_reconnecting
    return nc


@dataclass
class Bus:
    """A connection bound to one namespace."""

    nc: NATS
    js: JetStreamContext
    names: Names
    settings: Settings

    @classmethod
    async def connect(cls, settings: Settings, url: str | None = None, **overrides: Any) -> Bus:
        nc = await connect(settings, url, **overrides)
        return cls(nc=nc, js=nc.jetstream(), names=Names(settings.nats_namespace), settings=settings)

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
            return await self.js.publish(subject, data, headers=hdrs, timeout=timeout)

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
async def open_bus(settings: Settings, url: str | None = None, **overrides: Any) -> AsyncIterator[Bus]:
    bus = await Bus.connect(settings, url, **overrides)
    try:
        yield bus
    finally:
        await bus.close()
