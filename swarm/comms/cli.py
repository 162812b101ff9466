"""`swarm comms`: Postgres, ingest, the web UI and backfill of agent messages.

    swarm comms up [--json]                 # embedded Postgres (left running) + migrations; prints DATABASE_URL
    swarm comms down [--json]               # stop the embedded Postgres
    swarm comms migrate [--json]            # apply migrations to DATABASE_URL (or the embedded server)
    swarm comms serve [--port 8765] [--no-ingest]   # API + SSE + pages (+ ingest) on uvicorn, foreground
    swarm comms ingest                      # only the ingest consumer, foreground
    swarm comms runs [--json]               # recent runs with status
    swarm comms backfill [--dir DIR] [--json]      # replay agent messages kept in the outbox
    swarm comms screenshot --url URL [--run ID] [--out DIR] [--json]   # PNGs of the three pages

Postgres is `DATABASE_URL` when set; otherwise the embedded server under `{SWARM_HOME}/pgdata`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from swarm.bus.connect import open_bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings, run
from swarm.errors import ConfigError

from .db import CommsStore, EmbeddedPostgres, database_url, migrate

__all__ = ["comms_app", "postgres_url"]

comms_app = typer.Typer(help="agent messages: Postgres, ingest, web UI (SSE), backfill", no_args_is_help=True)


def _pgdata(settings: Settings) -> Path:
    return Path(settings.swarm_home) / "pgdata"


@contextlib.contextmanager
def postgres_url(settings: Settings, create: bool = True) -> Iterator[str]:
    """DATABASE_URL, or the embedded server's URL (started for the duration, or reused if `up` left it running).
    With `create=False` (a command that only reads) a missing embedded cluster is a ConfigError, not a new one."""
    url = database_url()
    if url:
        yield url
        return
    pgdata = _pgdata(settings)
    if not create and not (pgdata / "PG_VERSION").exists():
        raise ConfigError(f"no comms database yet (DATABASE_URL is not set and {pgdata} holds no embedded Postgres): "
                          "run `swarm comms up` first")
    with EmbeddedPostgres(pgdata, keep_running=(pgdata / "postmaster.pid").exists()) as pg:
        yield pg.url


@comms_app.command("up")
def up(json_out: bool = JSON_OPTION) -> None:
    """Start the embedded Postgres (it keeps running) and apply the migrations."""
    with cli_errors():
        settings = load_settings()
        if database_url():
            url = database_url() or ""
        else:
            url = EmbeddedPostgres(_pgdata(settings), keep_running=True).start().url
        applied = run(migrate(url))
    emit({"database_url": url, "applied": applied}, json_out,
         render=lambda d: console.print(f"Postgres ready: export DATABASE_URL='{d['database_url']}' "
                                        f"(migrations applied: {', '.join(d['applied']) or 'none new'})",
                                        highlight=False))


@comms_app.command("down")
def down(json_out: bool = JSON_OPTION) -> None:
    """Stop the embedded Postgres started by `swarm comms up`."""
    with cli_errors():
        pg = EmbeddedPostgres(_pgdata(load_settings()))
        pg.start()
        pg.close()
    emit({"stopped": str(pg.pgdata)}, json_out, render=lambda d: console.print(f"stopped {d['stopped']}"))


@comms_app.command("migrate")
def migrate_cmd(json_out: bool = JSON_OPTION) -> None:
    """Apply the comms migrations not applied yet (recorded in workflow_comms.schema_migrations)."""
    with cli_errors(), postgres_url(load_settings()) as url:
        applied = run(migrate(url))
    emit({"applied": applied}, json_out,
         render=lambda d: console.print(f"applied: {', '.join(d['applied']) or 'none'}"))


async def _provision(settings: Settings) -> None:
    async with open_bus(settings, role="admin") as bus:  # under SWARM_NATS_AUTH only admin creates streams
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))


@comms_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="port (0: a free one, printed)"),
    ingest: bool = typer.Option(True, "--ingest/--no-ingest", help="also run the Postgres ingest in this process"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Serve /api/agents/* and the /agents pages with uvicorn until interrupted."""
    import uvicorn

    from .app import create_app

    with cli_errors():
        settings = load_settings()
        listener = _listen(host, port)  # bound before the URL is printed: `--port 0` prints the port it got
        with listener, postgres_url(settings) as url:
            run(migrate(url))
            run(_provision(settings))
            app = create_app(settings, url, ingest=ingest)
            pages = f"http://{_authority(host, listener.getsockname()[1])}/agents"
            emit({"url": pages, "namespace": settings.nats_namespace, "ingest": ingest},
                 json_out, render=lambda d: err_console.print(f"serving {d['url']}", highlight=False))
            uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on the first of `host`'s addresses that binds (`localhost` may name ::1 first)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ConfigError(f"--host {host}: not an address to listen on ({exc.strerror or exc})") from exc
    problem: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(2048)
            return sock
        except OSError as exc:
            sock.close()
            problem = problem or exc
    raise ConfigError(f"cannot listen on {_authority(host, port)}: {problem.strerror if problem else 'no address'}")


def _authority(host: str, port: int) -> str:
    """`host:port` as a URL writes it: an IPv6 address in brackets, its zone id's `%` escaped."""
    return f"[{host.replace('%', '%25')}]:{port}" if ":" in host else f"{host}:{port}"


@comms_app.command("ingest")
def ingest_cmd(json_out: bool = JSON_OPTION) -> None:
    """Run the ingest consumer in the foreground (Ctrl-C stops it; counters are printed)."""
    from .ingest import CommsIngest

    async def main(settings: Settings, url: str) -> dict[str, Any]:
        await migrate(url)
        await _provision(settings)
        # Ctrl-C (or SIGTERM) sets `stop`, which the loop reads between fetches (at most a fetch timeout later):
        # a cancellation alone could be lost in Python 3.11's wait_for under nats-py's fetch, and the first
        # Ctrl-C then did nothing
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_bus(settings, role="comms") as bus:
            ingest = CommsIngest(bus, url)
            with contextlib.suppress(asyncio.CancelledError):
                await ingest.run(stop)
            return ingest.counters.as_dict()

    with cli_errors():
        settings = load_settings()
        with postgres_url(settings) as url:
            err_console.print("ingesting agent messages into Postgres (Ctrl-C stops)", highlight=False)
            try:
                counters = run(main(settings, url))
            except KeyboardInterrupt:
                counters = {}
    emit(counters, json_out, render=lambda d: console.print(
        "ingest stopped: " + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d.items()) or "nothing counted"),
        highlight=False))


@comms_app.command("runs")
def runs(limit: int = typer.Option(20, "--limit", min=1, max=1000), json_out: bool = JSON_OPTION) -> None:
    """Recent runs with their status, from Postgres."""
    with cli_errors():
        settings = load_settings()
        with postgres_url(settings, create=False) as url:
            data = run(CommsStore(url, settings.nats_namespace).runs(limit))

    def render(rows: list[dict[str, Any]]) -> None:
        table = Table(title=f"runs of namespace {settings.nats_namespace}", title_justify="left")
        for col in ("run_id", "status", "messages", "last_kind", "last_at"):
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(r[c]) for c in ("run_id", "status", "messages", "last_kind", "last_at")))
        console.print(table)

    emit(data, json_out, render=render)


@comms_app.command("backfill")
def backfill_cmd(
    directory: Path | None = typer.Option(None, "--dir", help="outbox directory (default: $SWARM_HOME/outbox)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Publish the agent messages kept in the local outbox, oldest first; duplicates are dropped by Msg-Id."""
    from .publisher import backfill, comms_outbox

    async def main(settings: Settings) -> dict[str, Any]:
        box = comms_outbox(directory or Path(settings.swarm_home) / "outbox", settings.nats_namespace)
        try:
            async with open_bus(settings, role="comms") as bus:
                return (await backfill(bus, box)).as_dict()
        finally:
            box.close()

    with cli_errors():
        data = run(main(load_settings()))
    emit(data, json_out, render=lambda d: console.print(
        f"{d['replayed']} replayed, {d['duplicates']} already delivered, {d['left']} left in {d['outbox']}"
        + (f" (stopped: {d['error']})" if d["error"] else ""), highlight=False))
    if data["error"]:
        raise typer.Exit(1)


@comms_app.command("screenshot")
def screenshot(
    url: str = typer.Option("http://127.0.0.1:8765", "--url", help="base URL of `swarm comms serve`"),
    run_id: str | None = typer.Option(None, "--run", help="run whose timeline to capture (default: the latest)"),
    out: Path = typer.Option(Path(".swarm/demo"), "--out", help="directory for the PNGs"),
    json_out: bool = JSON_OPTION,
) -> None:
    """PNG screenshots of /agents, /agents/{run} and /agents/general with headless Chromium."""
    from .browser import screenshot_pages

    async def main() -> list[str]:
        chosen = run_id
        if chosen is None:
            import httpx

            async with httpx.AsyncClient(timeout=10) as http:
                runs = (await http.get(url.rstrip("/") + "/api/agents/runs", params={"limit": 1})).json()["runs"]
            chosen = runs[0]["run_id"] if runs else None
        return await screenshot_pages(url, chosen, out)

    with cli_errors():
        saved = run(main())
    emit({"screenshots": saved}, json_out, render=lambda d: console.print("\n".join(d["screenshots"])))
