"""Publishing agent messages: per run, on the general channel, and through the outbox when NATS is down.

    says = CommsPublisher(bus, "inv-1", "research-0", trace_id=traceparent)   # what agents get as ctx.messages
    await says.say("finding", "**KeyError** in `users.py:12`", {"suspects": 3})
    await notice(bus, "pool_scaled", "research pool 2 -> 4")                    # {ns}.workflow.general.<kind>
    report = await backfill(bus, comms_outbox(".swarm/outbox", bus.names.ns))  # `swarm comms backfill`

Agent messages never fail a phase: a message that cannot be published is kept in the local outbox
(sqlite, one file per namespace: `outbox-<ns>.comms.sqlite3`) and replayed in order by `backfill`. Every
message carries `Nats-Msg-Id: am-<message_id>`, so a replayed copy of a message JetStream already has is
dropped by the stream's duplicate window.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nats.errors

from swarm.bloodstream.outbox import Outbox
from swarm.bus.connect import Bus
from swarm.models import AgentMessage

from .records import role_of

__all__ = ["CommsPublisher", "notice", "backfill", "comms_outbox", "publish_message", "BackfillReport"]

log = logging.getLogger("swarm.comms")
_NATS_ERRORS = (nats.errors.Error, TimeoutError, OSError)
OUTBOX_KIND = "agent_message"


def comms_outbox(directory: str | Path, namespace: str) -> Outbox:
    """The comms outbox of a namespace (a sibling of the bloodstream's, in the same directory)."""
    return Outbox(directory, f"{namespace}.comms")


def default_outbox_dir(bus: Bus) -> Path:
    return Path(bus.settings.swarm_home) / "outbox"


def _trace_id(value: str | None) -> str | None:
    """A W3C traceparent (`00-<trace>-<span>-01`) gives its trace id; anything else is kept as is."""
    if value and value.count("-") == 3 and len(value.split("-")[1]) == 32:
        return value.split("-")[1]
    return value


async def publish_message(bus: Bus, msg: AgentMessage, outbox: Outbox | None, timeout: float = 2.0) -> str:
    """Publish to the run's or the general channel; on a NATS failure store it in `outbox`.

    Returns "published", "duplicate" or "outboxed"; raises only when there is no outbox to keep it.
    """
    subject = bus.names.comms_run(msg.run_id, msg.kind) if msg.run_id else bus.names.comms_general(msg.kind)
    msg_id = bus.names.comms_msg_id(msg.message_id)
    data = msg.to_bytes()
    try:
        ack = await bus.publish(subject, data, msg_id=msg_id, timeout=timeout)
        return "duplicate" if ack.duplicate else "published"
    except _NATS_ERRORS as exc:
        if outbox is None:
            raise
        await asyncio.to_thread(outbox.put, OUTBOX_KIND, subject, msg_id, data, {})
        log.warning("agent message %s kept in %s for `swarm comms backfill` (%s)", msg.message_id, outbox.path, exc)
        return "outboxed"


class CommsPublisher:
    """MessagePublisher for agents: every message lands on `{ns}.workflow.run.<run_id>.<kind>`."""

    def __init__(
        self,
        bus: Bus,
        run_id: str,
        sender: str,
        trace_id: str | None = None,
        *,
        role: str | None = None,
        workflow_name: str = "investigation",
        outbox_dir: str | Path | None = None,
    ) -> None:
        self.bus, self.run_id, self.sender = bus, run_id, sender
        self.trace_id = _trace_id(trace_id)
        self.role = role or role_of(sender)
        self.workflow_name = workflow_name
        self.outbox = comms_outbox(outbox_dir or default_outbox_dir(bus), bus.names.ns)

    async def say(self, kind: str, content: str, data: dict[str, Any] | None = None) -> str:
        """Publish one message (markdown `content`); returns "published", "duplicate", "outboxed" or "lost"."""
        try:
            msg = AgentMessage(
                run_id=self.run_id,
                workflow_name=self.workflow_name,
                namespace=self.bus.names.ns,
                sender=self.sender,
                role=self.role,
                kind=kind,
                content=content,
                data=data or {},
                trace_id=self.trace_id,
            )
            return await publish_message(self.bus, msg, self.outbox)
        except Exception as exc:  # agent messages are best effort: never fail a phase for them
            log.warning("agent message to %s lost: %s", self.run_id, exc)
            return "lost"


async def notice(
    bus: Bus,
    kind: str,
    content: str,
    data: dict[str, Any] | None = None,
    *,
    sender: str = "swarm",
    role: str = "runtime",
    outbox_dir: str | Path | None = None,
) -> str:
    """A swarm-wide notice on `{ns}.workflow.general.<kind>` (pool scaled, budget wait, brain dead, paused).

    Best effort like `CommsPublisher.say`: never raises; returns what happened to the message.
    """
    try:
        msg = AgentMessage(
            run_id="", workflow_name="general", namespace=bus.names.ns, sender=sender, role=role, kind=kind,
            content=content, data=data or {},
        )
        outbox = comms_outbox(outbox_dir or default_outbox_dir(bus), bus.names.ns)
        return await publish_message(bus, msg, outbox)
    except Exception as exc:
        log.warning("general notice %s lost: %s", kind, exc)
        return "lost"


@dataclass
class BackfillReport:
    outbox: str
    replayed: int = 0
    duplicates: int = 0
    left: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def backfill(bus: Bus, outbox: Outbox, batch: int = 100, timeout: float = 5.0) -> BackfillReport:
    """Replay the outbox oldest first; stop at the first failure (order is kept), leaving the rest."""
    report = BackfillReport(outbox=str(outbox.path))
    while True:
        items = await asyncio.to_thread(outbox.peek, batch)
        if not items:
            break
        for item in items:
            try:
                ack = await bus.publish(item.subject, item.data, msg_id=item.msg_id, headers=item.headers,
                                        timeout=timeout)
            except _NATS_ERRORS as exc:
                await asyncio.to_thread(outbox.failed_attempt, item.seq, str(exc) or type(exc).__name__)
                report.error = f"{type(exc).__name__}: {exc}"
                report.left = await asyncio.to_thread(outbox.count)
                return report
            await asyncio.to_thread(outbox.delete, item.seq)
            if ack.duplicate:
                report.duplicates += 1
            else:
                report.replayed += 1
    report.left = await asyncio.to_thread(outbox.count)
    return report
