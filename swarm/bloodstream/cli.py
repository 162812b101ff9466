"""`swarm events tail|outbox` and `swarm health`.

swarm events tail                                   # everything under {ns}.hive.> and {ns}.core.>, live
swarm events tail --subject 'hive.events.>' --json  # one JSON object per line; pattern relative to ns
swarm events tail -s hive.audit --count 10          # stop after 10 messages
swarm events outbox [--replay] [--dir DIR]          # what waits in the on-disk outbox; send it now
swarm health [--json] [--strict]                    # each service's last heartbeat and status
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from swarm.bus.connect import Bus, open_bus
from swarm.bus.names import Names
from swarm.bus.settings import Settings
from swarm.clikit import (
    JSON_OPTION,
    cli_errors,
    console,
    emit,
    err_console,
    fail,
    load_settings,
    run,
    said_on_stderr,
)
from swarm.config import load_config
from swarm.errors import InvalidInput

from .monitor import read_health
from .outbox import Outbox
from .publisher import Bloodstream

__all__ = ["events_app", "health_app", "resolve_patterns"]

events_app = typer.Typer(help="the bloodstream: audits, injuries, domain events, heartbeats, brain_dead")
health_app = typer.Typer()

_STATUS_STYLE = {"up": "green", "degraded": "yellow", "restarting": "yellow", "down": "bold red", "stopped": "dim"}


def resolve_patterns(names: Names, subject: str | None) -> list[str]:
    """Subject patterns to follow: the whole bloodstream, or `subject` made absolute in the namespace."""
    if subject is None:
        return [names.hive_all, names.core_all]
    pattern = subject.strip()
    if not pattern.startswith(f"{names.ns}."):
        pattern = f"{names.ns}.{pattern}"
    tokens = pattern.split(".")
    bad = (
        not subject.strip()
        or any(not t or any(c.isspace() for c in t) for t in tokens)
        or any(t == ">" for t in tokens[:-1])
        or any(len(t) > 1 and ("*" in t or ">" in t) for t in tokens)
    )
    if bad:
        raise InvalidInput(
            f"invalid --subject {subject!r}: use dot-separated tokens, '*' for one token, '>' only at the end "
            "(e.g. 'hive.events.>' or 'hive.audit')"
        )
    return [pattern]


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def _summary(payload: Any) -> str:
    if not isinstance(payload, dict):
        return str(payload)[:120]
    keys = ("event_type", "action", "target", "outcome", "injury_type", "affected_service", "service", "status")
    keys += ("brain", "reason", "investigation_id")
    words = [f"{k}={payload[k]}" for k in keys if payload.get(k) not in (None, "", {})]
    data = payload.get("data")  # an event's own fields (a pool_scaled's role, from, to, load): the point of it
    if isinstance(data, dict):
        words += [f"{k}={v}" for k, v in data.items() if isinstance(v, str | int | float | bool) and v != ""]
    return " ".join(words)[:300]


async def _tail(settings: Settings, subject: str | None, count: int | None, as_json: bool) -> int:
    seen = 0
    async with open_bus(settings, **said_on_stderr("events tail")) as bus:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        patterns = resolve_patterns(bus.names, subject)
        for pattern in patterns:
            await bus.nc.subscribe(pattern, cb=queue.put)
        await bus.nc.flush()  # subscribed on the server before we say so
        err_console.print(f"tailing {', '.join(patterns)} (Ctrl-C to stop)", highlight=False)
        while count is None or seen < count:
            msg = await queue.get()
            payload, now = _decode(msg.data), datetime.now(UTC)
            if as_json:
                line = json.dumps({"subject": msg.subject, "received_at": now.isoformat(), "payload": payload})
                sys.stdout.write(line + "\n")
                sys.stdout.flush()  # a pipe reader sees each message as it comes
            else:
                short = msg.subject.removeprefix(f"{bus.names.ns}.")
                text = f"{now:%H:%M:%S} [cyan]{escape(short)}[/] {escape(_summary(payload))}"  # payloads are untrusted
                console.print(text, highlight=False, soft_wrap=True)
            seen += 1
    return seen


@events_app.command("tail")
def tail(
    subject: str | None = typer.Option(
        None, "--subject", "-s", help="subject pattern, relative to the namespace ('hive.events.>') or absolute"
    ),
    count: int | None = typer.Option(None, "--count", "-n", min=1, help="stop after N messages"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Follow the bloodstream live (heartbeats included), optionally filtered by subject."""
    settings = load_settings()
    with cli_errors():
        resolve_patterns(Names(settings.nats_namespace), subject)  # bad input fails before connecting
        try:
            run(_tail(settings, subject, count, json_out))
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


async def _replay(settings: Settings, outbox_dir: Path) -> dict[str, Any]:
    async with open_bus(settings, role="monitor") as bus:  # SWARM_NATS_AUTH: the role that publishes audits
        bs = Bloodstream(bus, outbox_dir)
        before = await asyncio.to_thread(bs.outbox.count)
        err_console.print(f"replaying {before} message(s) from {bs.outbox.path}", highlight=False)
        await bs.replay()
        await bs.close()
        c = bs.counters
        return {
            "outbox": str(bs.outbox.path),
            "before": before,
            "delivered": c.replayed,
            "duplicates": c.duplicates,  # JetStream already had them (same Msg-Id): dropped, not stored twice
            "dead_lettered": c.dead_lettered,
            "remaining": bs.pending,
        }


@events_app.command("outbox")
def outbox(
    replay: bool = typer.Option(False, "--replay", help="send what waits now (needs NATS)"),
    directory: Path | None = typer.Option(None, "--dir", help="outbox directory (default: bloodstream.outbox_dir)"),
    limit: int = typer.Option(50, "--limit", min=1, help="rows to list"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List the guaranteed messages waiting in the on-disk outbox; `--replay` delivers them."""
    settings = load_settings()
    with cli_errors():
        outbox_dir = directory or Path(load_config(settings).bloodstream.outbox_dir)
        if replay:
            emit(run(_replay(settings, outbox_dir)), json_out, render=lambda d: console.print(d))
            return
        box = Outbox(outbox_dir, Names(settings.nats_namespace).ns)
        data: dict[str, Any] = {"outbox": str(box.path), "pending": 0, "items": []}
        if box.path.is_file():  # listing an outbox that was never written creates nothing
            data |= {"pending": box.count(), "items": [i.as_dict() for i in box.peek(limit)]}
            box.close()

    def render(d: dict[str, Any]) -> None:
        console.print(f"{d['pending']} message(s) waiting in {d['outbox']}", highlight=False)
        for item in d["items"]:
            console.print(f"  #{item['seq']} {item['kind']} {item['msg_id']} attempts={item['attempts']}")

    emit(data, json_out, render)


async def _health(settings: Settings, missed: int) -> list[dict[str, Any]]:
    bus = await Bus.connect(settings)
    try:
        return [row.as_dict() for row in await read_health(bus, missed)]
    finally:
        await bus.close()


@health_app.command("health")
def health(
    json_out: bool = JSON_OPTION,
    strict: bool = typer.Option(False, "--strict", help="exit 1 when any service is down"),
) -> None:
    """Each service with its last heartbeat and status (from the HEARTBEATS stream; no monitor needed)."""
    settings = load_settings()
    with cli_errors():
        missed = load_config(settings).bloodstream.missed_heartbeats
        rows = run(_health(settings, missed))
    down = [r["service"] for r in rows if r["status"] == "down"]
    data = {"namespace": settings.nats_namespace, "healthy": not down, "down": down, "services": rows}

    def render(d: dict[str, Any]) -> None:
        table = Table(title=f"health of namespace {d['namespace']}")
        for col in ("service", "role", "status", "last beat", "interval", "active", "memory MB"):
            table.add_column(col)
        for r in d["services"]:
            style = _STATUS_STYLE.get(r["status"], "")
            table.add_row(
                escape(r["service"]),
                escape(r["role"]),
                f"[{style}]{r['status']}[/]",
                f"{r['age_s']:.1f} s ago",
                f"{r['interval_s']:g} s",
                str(r["active_investigations"]),
                f"{r['memory_mb'] or 0:.0f}",
            )
        console.print(table if d["services"] else "no heartbeats recorded in this namespace")

    emit(data, json_out, render)
    if strict and down:
        fail(f"down: {', '.join(down)}")
