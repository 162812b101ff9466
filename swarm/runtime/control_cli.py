"""Commands that talk to a running swarm or its index: deploy markers, submitted work, the control plane.

    swarm deploy mark --service shop --version 1.4.2 [--env production]   # fixed errors that return reopen
    swarm submit-investigation ...   (see `swarm investigate --submit`)
    swarm control status|pause|resume|cancel ID|budget                     # nats micro, request-reply

Each prints JSON with `--json`.
"""

from __future__ import annotations

from typing import Any

import typer

from swarm.bus.connect import Bus, open_bus
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, fail, load_settings, run
from swarm.errors import ConfigError
from swarm.models import DeployMarker
from swarm.runtime.lifecycle import DeployMarkers

__all__ = ["control_app", "deploy_app", "mark_deploy"]

control_app = typer.Typer()
deploy_app = typer.Typer(help="deploy markers: a fixed error that comes back after one is a regression",
                         no_args_is_help=True)
control_app.add_typer(deploy_app, name="deploy")


async def mark_deploy(bus: Bus, marker: DeployMarker) -> dict[str, Any]:
    """Put the marker into `{NS}_DEPLOYS` (a KV put: CI can do the same with any NATS client)."""
    try:
        markers = await DeployMarkers(bus.js, bus.names).open()
    except Exception as exc:  # noqa: BLE001 - the bucket is missing: the namespace predates deploy markers
        raise ConfigError(f"no {bus.names.deploy_bucket} bucket: run `swarm streams provision` first ({exc})") from exc
    revision = await markers.mark(marker)
    return {**marker.model_dump(mode="json"), "bucket": bus.names.deploy_bucket, "revision": revision}


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
    with cli_errors():
        marker = DeployMarker(service=service, version=version, environment=env, by=by)
        data = run(_mark(settings, marker))
    emit(data, json_out, render=lambda d: console.print(
        f"deploy of {d['service']} {d['version']} marked ({d['bucket']} revision {d['revision']})", highlight=False))
