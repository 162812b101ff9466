"""Commands that talk to a running swarm or its index: deploy markers, submitted work, the control plane.

    swarm deploy mark --service shop --version 1.4.2 [--env production]   # fixed errors that return reopen
    swarm control status|pause|resume|cancel ID|budget|ping                # nats micro, request-reply
    swarm approve ID [--reason R]   swarm reject ID --reason R             # the approval gate (audited)

Each prints JSON with `--json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from swarm.bus.connect import Bus, open_bus
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, fail, finite, load_settings, login_name, run
from swarm.errors import ConfigError
from swarm.models import DeployMarker
from swarm.runtime.control import control_request, ping
from swarm.runtime.lifecycle import DeployMarkers

__all__ = ["control_app", "deploy_app", "ctl_app", "mark_deploy"]

control_app = typer.Typer()
deploy_app = typer.Typer(help="deploy markers: a fixed error that comes back after one is a regression",
                         no_args_is_help=True)
control_app.add_typer(deploy_app, name="deploy")
ctl_app = typer.Typer(help="ask the running swarm over NATS ({ns}.svc.*, a nats micro service)", no_args_is_help=True)
control_app.add_typer(ctl_app, name="control")


async def mark_deploy(bus: Bus, marker: DeployMarker) -> dict[str, Any]:
    """Put the marker into `{NS}_DEPLOYS` (a KV put: CI can do the same with any NATS client)."""
    try:
        markers = await DeployMarkers(bus.js, bus.names).open()
    except Exception as exc:  # noqa: BLE001 - the bucket is missing: the namespace predates deploy markers
        raise ConfigError(f"no {bus.names.deploy_bucket} bucket: run `swarm streams provision` first ({exc})") from exc
    revision = await markers.mark(marker)
    key = bus.names.deploy_key(marker.service, marker.environment)  # where CI puts the same JSON
    return {**marker.model_dump(mode="json"), "bucket": bus.names.deploy_bucket, "key": key, "revision": revision}


async def _mark(settings: Settings, marker: DeployMarker) -> dict[str, Any]:
    async with open_bus(settings) as bus:
        return await mark_deploy(bus, marker)


@deploy_app.command("mark")
def deploy_mark(
    service: str = typer.Option(..., "--service", help="the service that was deployed"),
    version: str = typer.Option(..., "--version", help="the release now running"),
    env: str | None = typer.Option(None, "--env", help="only this environment (default: every one)"),
    by: str = typer.Option("", "--by", help="who or what deployed (CI job, person)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Record a deploy: a fixed, no_fix or failed error that recurs after it opens a new investigation."""
    settings = load_settings()
    if env is not None and env not in ("default", "staging", "production"):
        fail(f"unknown environment {env!r}: expected default, staging or production", code=2)
    for flag, value in (("--service", service), ("--version", version)):
        if not value.strip():  # a command-line error like the others (2), not a model's validation error (1)
            fail(f"{flag} is empty: name the {flag[2:]} that was deployed", code=2)
    with cli_errors():
        marker = DeployMarker(service=service, version=version, environment=env, by=by)
        data = run(_mark(settings, marker))
    emit(data, json_out, render=lambda d: console.print(
        f"deploy of {d['service']} {d['version']} marked ({d['bucket']} revision {d['revision']})", highlight=False))


def _ask(endpoint: str, body: dict[str, Any] | None, json_out: bool, line: Any,
         refused: Callable[[dict[str, Any]], str | None] | None = None) -> None:
    """Ask the control service; `refused(reply)`, when it names a reason, fails the command with it."""
    settings = load_settings()

    async def ask() -> dict[str, Any]:
        async with open_bus(settings) as bus:
            return await control_request(bus, endpoint, body)

    with cli_errors():
        data = run(ask())
    if refused is not None and (why := refused(data)):
        fail(why)
    emit(data, json_out, render=lambda d: console.print(line(d), highlight=False))


@ctl_app.command("status")
def control_status(json_out: bool = JSON_OPTION) -> None:
    """Paused or not, intake counters, what waits in the streams, pool sizes, the budget."""
    _ask("status", None, json_out, lambda d: (
        f"{'[yellow]paused[/]' if d['paused'] else '[green]running[/]'}  namespace {d['namespace']}\n"
        + "  ".join(f"[bold]{k}[/] {v}" for k, v in d["counters"].items()) + "\n"
        + "  ".join(f"{k}: {v}" for k, v in d["pools"].items())
        + f"  waiting in streams: {sum(d['pending'].values())}"))


@ctl_app.command("pause")
def control_pause(json_out: bool = JSON_OPTION) -> None:
    """Intake stops fetching; in-flight investigations continue; reports wait in their streams."""
    _ask("pause", None, json_out, lambda d: f"paused ({d['intake_actors']} intake actor(s) stopped fetching)")


@ctl_app.command("resume")
def control_resume(json_out: bool = JSON_OPTION) -> None:
    """Intake fetches again."""
    _ask("resume", None, json_out, lambda d: f"resumed ({d['intake_actors']} intake actor(s) fetching)")


def _a_minute_at_most(value: float) -> float:
    """--wait: a finite number of seconds, 60 at most (`1e9` waited for good)."""
    finite(value)
    if value > 60:
        raise typer.BadParameter(f"at most 60 seconds, got {value:g}")
    return value


def _an_id(value: str) -> str:
    """An investigation id as a command line gives it: one subject token (`inv-3f2a…`), said before NATS is asked."""
    if not value.strip() or any(c.isspace() or c in ".*>" for c in value):
        raise typer.BadParameter(f"{value!r} is no investigation id (one token, e.g. inv-3f2a9c01d2e4b5f6)")
    return value


@ctl_app.command("cancel")
def control_cancel(
    investigation_id: str = typer.Argument(..., callback=_an_id, help="the investigation to stop (inv-...)"),
    reason: str = typer.Option("cancelled by an operator", "--reason", help="said in its failed Result"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Stop an investigation at its next step; it ends with a failed Result giving the reason. An id that
    no orchestrator runs (unknown, already finished, between attempts) is an error (exit 1)."""
    _ask("cancel", {"investigation_id": investigation_id, "reason": reason}, json_out,
         lambda d: f"{d['investigation_id']}: cancelling",
         # a swarm of an older version answers `cancelled: false` instead of refusing
         refused=lambda d: None if d.get("cancelled") else f"{investigation_id}: not running (nothing to cancel)")


@ctl_app.command("budget")
def control_budget(json_out: bool = JSON_OPTION) -> None:
    """The swarm-wide budget: admissions, spend over the last hour."""
    _ask("budget", None, json_out, lambda d: "  ".join(f"[bold]{k}[/] {v}" for k, v in d.items() if k != "active_ids"))


@ctl_app.command("ping")
def control_ping(
    all_namespaces: bool = typer.Option(False, "--all", help="every namespace's swarm, not only NATS_NAMESPACE's"),
    wait: float = typer.Option(0.5, "--wait", min=0, callback=_a_minute_at_most, help="seconds to collect answers"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Discover running swarms with `$SRV.PING` (nats micro): id, namespace, endpoints."""
    settings = load_settings()

    async def discover() -> list[dict[str, Any]]:
        async with open_bus(settings) as bus:
            return await ping(bus, wait, all_namespaces)

    with cli_errors():
        found = run(discover())

    def render(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console.print("no swarm answered")
        for r in rows:
            subjects = ", ".join(e["subject"] for e in r.get("endpoints", []))
            console.print(f"{r['name']} {r['id']} ({(r.get('metadata') or {}).get('namespace')}): {subjects}",
                          highlight=False)

    emit(found, json_out, render)


@control_app.command("approve")
def approve(
    investigation_id: str = typer.Argument(..., callback=_an_id, help="the investigation awaiting approval (inv-...)"),
    reason: str = typer.Option("", "--reason", help="why (audited)"),
    by: str = typer.Option(None, "--by", help="who decides (default: the login name)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Let a fix that awaits approval go on (push or pull request); the decision is audited."""
    body = {"investigation_id": investigation_id, "by": by or login_name(), "reason": reason}
    _ask("approve", body, json_out, lambda d: f"{d['investigation_id']}: approved ({d['gate']}) by {d['by']}")


@control_app.command("reject")
def reject(
    investigation_id: str = typer.Argument(..., callback=_an_id, help="the investigation awaiting approval (inv-...)"),
    reason: str = typer.Option(..., "--reason", help="why (audited, and said in the Result)"),
    by: str = typer.Option(None, "--by", help="who decides (default: the login name)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Stop a fix that awaits approval: it stays on its local branch, the Result says no_fix and why."""
    if not reason.strip():
        fail("--reason is empty: say why the fix is rejected (it is audited and given in the Result)", code=2)
    body = {"investigation_id": investigation_id, "by": by or login_name(), "reason": reason}
    _ask("reject", body, json_out, lambda d: f"{d['investigation_id']}: rejected ({d['gate']}) by {d['by']}")
