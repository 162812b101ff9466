"""`swarm nats`, `swarm streams` and `swarm schemas`: the floor's commands.

    swarm nats up --port 4222                    # foreground nats-server with JetStream
    swarm nats up --auth [--tls]                 # ... with an account per namespace, a user per role
    swarm nats auth generate|check               # see swarm/bus/auth_cli.py
    swarm streams provision [--apply]            # create what configs/streams.yaml declares; list drift
    swarm streams report [--json]                # subjects, retention, messages, bytes, consumers, pending
    swarm streams purge --env staging [--yes] [--reset-index]   # empty one error stream (and its signatures)
    swarm schemas export schemas/                # one JSON Schema per wire payload

Commands that talk to NATS connect to `NATS_URL` and say clearly when it is unset or nothing answers.
`stream_report` and `render_stream_report` are reused by `swarm demo`.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar

import nats.errors
import nats.js.errors
import typer
from nats.js.errors import NotFoundError
from rich.table import Table

from swarm.bus.auth_cli import auth_app, generate_for
from swarm.bus.connect import Bus, open_bus, redacted
from swarm.bus.names import ENVS, Names
from swarm.bus.provision import PlanItem, StreamsConfig, load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, fail, load_settings, run
from swarm.errors import ConfigError, NatsUnavailable
from swarm.models import PAYLOADS

__all__ = [
    "nats_app",
    "streams_app",
    "schemas_app",
    "stream_report",
    "render_stream_report",
    "export_schemas",
    "configured_streams",
]

T = TypeVar("T")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

nats_app = typer.Typer(help="run a local nats-server with JetStream", no_args_is_help=True)
streams_app = typer.Typer(help="provision and inspect the namespace's streams", no_args_is_help=True)
schemas_app = typer.Typer(
    help="JSON Schemas of every wire payload, for publishers in other languages", no_args_is_help=True
)
nats_app.add_typer(auth_app, name="auth")


async def _with_bus(settings: Settings, work: Callable[[Bus], Awaitable[T]], role: str | None = None) -> T:
    """Connect (clear error when nothing answers), run `work`, map JetStream refusals to ConfigError."""
    async with open_bus(settings, role=role) as bus:
        try:
            return await work(bus)
        except nats.js.errors.APIError as exc:
            if not isinstance(exc, nats.js.errors.ServiceUnavailableError):
                raise ConfigError(f"JetStream refused: {exc.description or exc} (code {exc.err_code})") from exc
            raise NatsUnavailable(
                f"JetStream does not answer at NATS_URL={redacted(settings.nats_url or '')}; is the server started "
                "with JetStream (-js)? (`swarm nats up` does that)"
            ) from exc
        except (TimeoutError, nats.errors.NoRespondersError) as exc:
            # after a refusal (never answered under SWARM_NATS_AUTH) open_bus says the refusal instead
            raise NatsUnavailable(
                f"JetStream does not answer at NATS_URL={redacted(settings.nats_url or '')} ({type(exc).__name__}); "
                "is the server started with JetStream (-js)?"
            ) from exc


# nats ------------------------------------------------------------------------------------
def _a_path(value: str | None) -> str | None:
    """A path option or argument: an empty one is a usage error (it read as the current directory)."""
    if value is not None and not value.strip():
        raise typer.BadParameter("an empty path; give a directory (`.` for this one)")
    return value


@nats_app.command("up")
def nats_up(
    port: int = typer.Option(4222, "--port", min=-1, max=65535, help="client port (-1: a free one, printed)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    store_dir: str | None = typer.Option(None, "--store-dir", callback=_a_path,
                                         help="JetStream store [default: $SWARM_HOME/nats]"),
    monitor_port: int | None = typer.Option(None, "--monitor-port", min=0, max=65535,
                                            help="HTTP monitoring port (off if unset)"),
    auth: bool = typer.Option(False, "--auth", help="accounts per namespace, a user per role (configs/auth.yaml)"),
    tls: bool | None = typer.Option(None, "--tls/--no-tls", help="with --auth: TLS with a generated CA"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run nats-server with JetStream in the foreground until Ctrl-C."""
    settings = load_settings()
    with cli_errors():
        if tls and not auth:
            fail("--tls needs --auth (the CA and certificate are written with the accounts)", code=2)
        store = Path(store_dir) if store_dir else settings.swarm_home / "nats"
        _make_store(store)  # before anything is written or started: a file in its way is named, not a traceback
        generated = generate_for(settings, tls=tls) if auth else None
        if port == -1:  # a free one now, so the URL printed below is the one the server listens on
            port = _free_port(host)
        server = EmbeddedNats(
            port=port, host=host, store_dir=store, monitor_port=monitor_port,
            config_file=generated.server_config if generated else None,
        )
        command = server.command()

    def announce(listening: int) -> None:
        info = {
            "url": f"nats://{host}:{listening}",
            "store_dir": str(store),
            "monitor_port": monitor_port,
            "command": command,
            "auth": generated.as_dict() if generated else None,
        }
        _announce(info, generated.directory if generated else None, json_out)

    # a plain `kill` (SIGTERM) must stop the child server too, as Ctrl-C does, instead of orphaning it; and
    # SIGINT gets its handler even when inherited as ignored (a non-interactive shell's background job starts
    # so, and Python then installs no KeyboardInterrupt: Ctrl-C / `kill -INT` would do nothing)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with cli_errors():  # a server that cannot start: one line with its reason, and no success object
            code = server.run_foreground(ready=announce)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    raise typer.Exit(code)


def _make_store(store: Path) -> None:
    if store.exists() and not store.is_dir():
        raise ConfigError(f"the JetStream store (--store-dir) {store} exists and is not a directory")
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent that is a file, a read-only place
        raise ConfigError(f"cannot create the JetStream store (--store-dir) {store}: {exc.strerror or exc}") from exc


def _announce(info: dict[str, Any], auth_dir: Path | None, json_out: bool) -> None:
    exports = f"NATS_URL={info['url']}" + (f" SWARM_NATS_AUTH={auth_dir}" if auth_dir else "")
    emit(
        info,
        json_out,
        render=lambda d: console.print(
            f"nats-server with JetStream on [bold]{d['url']}[/], store {d['store_dir']}"
            + (f", accounts {', '.join(d['auth']['namespaces'])}" if d["auth"] else "")
            + (" and TLS" if d["auth"] and d["auth"]["ca"] else "")
            + f"\nin another shell: export {exports}   (Ctrl-C stops the server)",
            highlight=False,
            soft_wrap=True,  # the export line is pasted: never broken at the terminal's (or a pipe's 80) columns
        ),
    )


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


# streams ---------------------------------------------------------------------------------
def configured_streams(names: Names, cfg: StreamsConfig) -> list[tuple[str, str]]:
    """(kind, JetStream stream name) of everything streams.yaml declares for this namespace."""
    out = [("stream", names.stream(s.name)) for s in cfg.streams]
    return out + [("kv", f"KV_{names.stream(kv.name)}") for kv in cfg.kv]


async def stream_report(bus: Bus, cfg: StreamsConfig) -> list[dict[str, Any]]:
    """One row per configured stream: subjects, retention, messages, bytes, consumers with pending counts."""
    rows: list[dict[str, Any]] = []
    for kind, name in configured_streams(bus.names, cfg):
        try:
            info = await bus.js.stream_info(name)
        except NotFoundError:
            rows.append(
                {
                    "stream": name,
                    "kind": kind,
                    "missing": True,
                    "subjects": [],
                    "retention": None,
                    "messages": 0,
                    "bytes": 0,
                    "consumers": [],
                }
            )
            continue
        consumers = await bus.js.consumers_info(name)
        rows.append(
            {
                "stream": name,
                "kind": kind,
                "missing": False,
                "subjects": list(info.config.subjects or []),
                "retention": getattr(info.config.retention, "value", info.config.retention),
                "messages": info.state.messages,
                "bytes": info.state.bytes,
                "consumers": [
                    {"name": c.name, "num_pending": c.num_pending, "num_ack_pending": c.num_ack_pending}
                    for c in sorted(consumers, key=lambda c: c.name)
                ],
            }
        )
    return rows


def render_stream_report(rows: list[dict[str, Any]], title: str = "streams") -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("stream", no_wrap=True)
    table.add_column("subjects", overflow="fold")
    table.add_column("retention", no_wrap=True)
    table.add_column("msgs", justify="right", no_wrap=True)
    table.add_column("bytes", justify="right", no_wrap=True)
    table.add_column("consumer pending/ack-pending", overflow="fold")
    for r in rows:
        if r["missing"]:
            table.add_row(r["stream"], "[red]missing: run `swarm streams provision`[/]", "", "", "", "")
            continue
        consumers = ", ".join(f"{c['name']} {c['num_pending']}/{c['num_ack_pending']}" for c in r["consumers"])
        table.add_row(
            r["stream"],
            "\n".join(r["subjects"]),
            str(r["retention"]),
            str(r["messages"]),
            str(r["bytes"]),
            consumers or "-",
        )
    console.print(table)


_STYLE = {"create": "green", "ok": "dim", "drift": "yellow", "update": "cyan", "conflict": "bold red"}


def _render_plan(data: dict[str, Any]) -> None:
    for item in data["items"]:
        console.print(
            f"[{_STYLE[item['action']]}]{item['action']:>8}[/] {item['kind']:<8} {item['name']}", highlight=False
        )
        for d in item["diffs"]:
            console.print(f"{'':18}{d['field']}: server {d['server']!r} -> file {d['file']!r}", highlight=False)
    console.print(data["summary"], highlight=False, markup=False)


def _summary(items: list[PlanItem], apply: bool, config: Path) -> str:
    count = {a: sum(1 for i in items if i.action == a) for a in _STYLE}
    if count["conflict"]:
        return (
            f"{count['conflict']} item(s) conflict with {config} in a field the server cannot "
            "change in place (retention or storage): delete and re-create them, then provision again"
        )
    if count["drift"]:
        return (
            f"{count['drift']} item(s) differ from {config}; nothing changed. "
            "Run `swarm streams provision --apply` to change them"
        )
    if count["create"] == count["update"] == 0:
        return f"nothing to change: the server matches {config}"
    return f"created {count['create']}, updated {count['update']}, unchanged {count['ok']} (from {config})"


@streams_app.command("provision")
def streams_provision(
    apply: bool = typer.Option(False, "--apply", help="also change items that drifted from the file"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create the namespace's streams, consumers and KV buckets; list drift (changed only with --apply)."""
    settings = load_settings()
    with cli_errors():
        cfg = load_streams_config(settings.swarm_streams_config)
        items = run(_with_bus(settings, lambda bus: provision(bus.js, bus.names, cfg, apply=apply), role="admin"))
    data = {
        "namespace": settings.nats_namespace,
        "config": str(settings.swarm_streams_config),
        "apply": apply,
        "items": [i.as_dict() for i in items],
        "summary": _summary(items, apply, settings.swarm_streams_config),
    }
    emit(data, json_out, render=_render_plan)
    if any(i.action == "conflict" for i in items):
        fail(data["summary"])


@streams_app.command("report")
def streams_report(json_out: bool = JSON_OPTION) -> None:
    """Each stream of the namespace: subjects, retention, messages, bytes, consumers and pending counts."""
    settings = load_settings()
    with cli_errors():
        cfg = load_streams_config(settings.swarm_streams_config)
        rows = run(_with_bus(settings, lambda bus: stream_report(bus, cfg)))
    emit(
        {"namespace": settings.nats_namespace, "streams": rows},
        json_out,
        render=lambda d: render_stream_report(d["streams"], f"namespace {d['namespace']}"),
    )


@streams_app.command("purge")
def streams_purge(
    env: str = typer.Option(..., "--env", help=f"error stream to empty: {', '.join(ENVS)}"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
    reset_index: bool = typer.Option(False, "--reset-index",
                                     help="also forget the environment's signatures: each error is new again"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Empty one error stream (e.g. staging after a deploy); asks first unless --yes."""
    settings = load_settings()
    try:
        stream = Names(settings.nats_namespace).error_stream(env)
    except ValueError as exc:
        fail(str(exc), code=2)
    if not yes:  # the question and its echo on stderr: stdout carries the result alone (--json)
        err_console.print(f"delete every message of {stream}? [y/N]: ", end="", highlight=False, markup=False)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            fail("nothing purged (not confirmed; pass --yes to skip the question)")

    async def purge(bus: Bus) -> dict[str, Any]:
        try:
            before = (await bus.js.stream_info(stream)).state.messages
        except NotFoundError as exc:
            raise ConfigError(f"stream {stream} does not exist: run `swarm streams provision` first") from exc
        await bus.js.purge_stream(stream)
        out: dict[str, Any] = {"stream": stream, "purged": before}
        if reset_index:
            from swarm.runtime.grouping import SignatureIndex  # the runtime's index, only when asked

            try:
                index = await SignatureIndex(bus.js, bus.names).open()
            except NotFoundError:  # no index yet: nothing to reset
                out["signatures_reset"] = 0
            else:
                out["signatures_reset"] = await index.reset_environment(env)
        return out

    with cli_errors():
        data = run(_with_bus(settings, purge))
    emit(
        data,
        json_out,
        render=lambda d: console.print(
            f"purged {d['purged']} message(s) from {d['stream']}"
            + (f"; {d['signatures_reset']} signature(s) count as new at their next occurrence"
               if "signatures_reset" in d else ""),
            highlight=False),
    )


# schemas ---------------------------------------------------------------------------------
def export_schemas(directory: Path) -> list[Path]:
    """Write `<Model>.schema.json` (JSON Schema 2020-12) for every payload in swarm.models.PAYLOADS."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory")
    paths = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, model in sorted(PAYLOADS.items()):
            schema = {"$schema": JSON_SCHEMA_DIALECT, "$id": f"{name}.schema.json", **model.model_json_schema()}
            path = directory / f"{name}.schema.json"
            path.write_text(json.dumps(schema, indent=2, sort_keys=False) + "\n")
            paths.append(path)
    except OSError as exc:  # a read-only place, a parent that cannot be made: name it
        raise ConfigError(f"cannot write the schemas to {directory}: {exc.strerror or exc}") from exc
    return paths


@schemas_app.command("export")
def schemas_export(
    directory: str = typer.Argument(..., callback=_a_path, help="where to write one <Model>.schema.json per payload"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Write the JSON Schema of every wire payload (ErrorReport, Result, ...)."""
    with cli_errors():
        paths = export_schemas(Path(directory))
    emit(
        {"directory": str(directory), "files": [str(p) for p in paths]},
        json_out,
        render=lambda d: console.print(
            f"wrote {len(d['files'])} schemas to {d['directory']}: " + ", ".join(Path(f).name for f in d["files"]),
            highlight=False,
        ),
    )
