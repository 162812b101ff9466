"""`swarm nats auth generate|check`: accounts per namespace, a user per role, and the proof they hold.

    swarm nats auth generate [--tls] [--namespace payments]   # $SWARM_HOME/auth: server config + seeds
    swarm nats up --auth [--tls]                              # a server running with it
    export SWARM_NATS_AUTH=$PWD/.swarm/auth                   # every swarm process connects as its role
    swarm nats auth check [--role reporter] [--json]          # each role: grants held, the rest refused
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from swarm.bus.auth import Generated, generate, load_auth_config
from swarm.bus.authcheck import check_namespace
from swarm.bus.permissions import ROLES
from swarm.bus.provision import load_streams_config
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, fail, load_settings, namespace_value, one_of, run

__all__ = ["auth_app", "generate_for", "auth_dir"]

auth_app = typer.Typer(help="accounts per namespace, least-privilege users per role, TLS", no_args_is_help=True)


def auth_dir(settings: Settings) -> Path:
    return (settings.swarm_nats_auth or Path(settings.swarm_home) / "auth").resolve()


def generate_for(settings: Settings, out: Path | None = None, tls: bool | None = None,
                 namespaces: list[str] | None = None, config: Path | None = None) -> Generated:
    """configs/auth.yaml plus the settings' namespace (and `namespaces`), written to `out` or $SWARM_HOME/auth."""
    cfg = load_auth_config(config or settings.swarm_auth_config)
    extra = [settings.nats_namespace, *(namespaces or [])]
    cfg = cfg.model_validate(cfg.model_dump() | {"namespaces": cfg.namespaces + extra})
    return generate(cfg, out or auth_dir(settings), load_streams_config(settings.swarm_streams_config), tls)


@auth_app.command("generate")
def auth_generate(
    out: Path | None = typer.Option(None, "--out", help="[default: $SWARM_NATS_AUTH, else $SWARM_HOME/auth]"),
    tls: bool | None = typer.Option(None, "--tls/--no-tls", help="a private CA and server certificate [default: file]"),
    namespace: list[str] = typer.Option([], "--namespace", callback=namespace_value,
                                        help="an account for this namespace too (repeatable)"),
    config: Path | None = typer.Option(None, "--config", help="configs/auth.yaml [default: $SWARM_AUTH_CONFIG]"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Write the nats-server configuration (accounts, users, permissions) and each role's NKey seed."""
    settings = load_settings()
    with cli_errors():
        data = generate_for(settings, out, tls, namespace, config).as_dict()

    def render(d: dict[str, Any]) -> None:
        for ns, users in d["namespaces"].items():
            console.print(f"account [bold]{ns.upper()}[/]: {', '.join(users)}", highlight=False)
        console.print(f"server configuration {d['server_config']}" + (f", CA {d['ca']}" if d["ca"] else ""),
                      highlight=False)
        console.print(f"clients: export SWARM_NATS_AUTH={d['directory']}", highlight=False)

    emit(data, json_out, render)


SHOWN = 10  # failures listed per role in the table (a server without accounts fails every forbidden probe)


@auth_app.command("check")
def auth_check(
    role: list[str] = typer.Option([], "--role", callback=one_of(ROLES, "role"),
                                   help="only this role (repeatable) [default: every role]"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Connect as each role: which granted actions hold, which others the server refuses (exit 1 on a gap)."""
    settings = load_settings()
    with cli_errors():
        data = run(check_namespace(settings, load_streams_config(settings.swarm_streams_config), role or None))
    unenforced = ("the server refused nothing: it enforces no permissions (started without accounts? "
                  "`swarm nats up --auth` serves the generated ones)")

    def render(d: dict[str, Any]) -> None:
        console.print(f"namespace [bold]{d['namespace']}[/] at {d['server']}", highlight=False)
        if not d["enforced"]:
            console.print(f"[red]{unenforced}[/]", highlight=False)
        for name, r in d["roles"].items():
            if not r["connected"]:
                console.print(f"[red]{name:>12}[/] cannot connect: {escape(str(r['error']))}", highlight=False)
                continue
            mark = "[green]ok[/]" if not r["failures"] else "[red]FAIL[/]"
            console.print(f"{name:>12} {mark}  granted held {r['held']}/{r['expected_held']}, "
                          f"forbidden refused {r['refused']}/{r['expected_refused']}", highlight=False)
            if not d["enforced"]:  # every forbidden probe failed, for the one reason said above
                continue
            for f in r["failures"][:SHOWN]:
                what = "refused but granted" if f["expected"] else "accepted but not granted"
                console.print(f"{'':14}{f['action']} {f['subject']}: {what} ({f['why']})", highlight=False)
            if len(r["failures"]) > SHOWN:
                console.print(f"{'':14}... and {len(r['failures']) - SHOWN} more (--json lists every one)",
                              highlight=False)

    emit(data, json_out, render)
    if not data["enforced"]:
        fail(unenforced)
    if not data["ok"]:
        fail("some roles do not hold their grants or are allowed more: see above")
