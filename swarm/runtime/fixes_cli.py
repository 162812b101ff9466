"""`swarm fixes list|follow`: the signature index as operators see it, and one pass of following the
proposed fixes' pull requests (swarm.runtime.follow).

    swarm fixes list [--status proposed] [--json]    # each distinct error: status, investigation, pull request
    swarm fixes follow [--config C] [--json]         # merged -> fixed, closed unmerged -> no_fix
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from swarm.bloodstream import Bloodstream
from swarm.bus.connect import open_bus
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, fail, load_settings, run
from swarm.config import SwarmConfig
from swarm.errors import ConfigError
from swarm.runtime.follow import PullRequestFollower
from swarm.runtime.grouping import SignatureIndex

__all__ = ["fixes_app"]

fixes_app = typer.Typer(help="the distinct errors and their fixes: list, follow pull requests", no_args_is_help=True)
STATUSES = ("open", "proposed", "fixed", "no_fix", "failed", "rejected", "dead_lettered")


async def _index(bus: Any) -> SignatureIndex:
    try:
        return await SignatureIndex(bus.js, bus.names).open()
    except Exception as exc:  # noqa: BLE001 - the bucket is missing
        raise ConfigError(f"no {bus.names.signature_bucket} bucket: run `swarm streams provision` first") from exc


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    pull = entry.get("pull_request") or {}
    return {"signature": entry.get("signature"), "status": entry.get("status"), "service": entry.get("service"),
            "environment": entry.get("environment"), "investigation_id": entry.get("investigation_id"),
            "occurrences": entry.get("occurrences"), "generation": entry.get("generation", 1),
            "regression": bool(entry.get("regression")), "pull_request": pull.get("url"),
            "pull_request_state": pull.get("state"), "last_seen_at": entry.get("last_seen_at")}


@fixes_app.command("list")
def list_fixes(
    status: str | None = typer.Option(None, "--status", help=f"only this status: {', '.join(STATUSES)}"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Each distinct error of the namespace with its status, investigation and pull request."""
    if status is not None and status not in STATUSES:
        fail(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}", code=2)
    settings = load_settings()

    async def go(s: Settings) -> list[dict[str, Any]]:
        async with open_bus(s) as bus:
            entries = await (await _index(bus)).entries()
        rows = [_row(e) for e in entries if status is None or e.get("status") == status]
        return sorted(rows, key=lambda r: str(r["last_seen_at"] or ""), reverse=True)

    with cli_errors():
        rows = run(go(settings))

    def render(data: list[dict[str, Any]]) -> None:
        if not data:
            console.print("no errors in the index" + (f" with status {status}" if status else ""))
        for r in data:
            pr = f"  {r['pull_request']}" if r["pull_request"] else ""
            console.print(f"[bold]{r['status']:<13}[/] {r['investigation_id']}  {r['service']}  "
                          f"x{r['occurrences']}{pr}", highlight=False)

    emit(rows, json_out, render)


@fixes_app.command("follow")
def follow(
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (its repositories name the providers)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Ask each proposed fix's pull request once: merged -> fixed, closed without merge -> no_fix."""
    settings = load_settings()
    with cli_errors():
        cfg = SwarmConfig.load(config or settings.swarm_config)

        async def go() -> dict[str, Any]:
            async with open_bus(settings) as bus:
                blood = await Bloodstream.from_config(bus, cfg).start()  # fix_merged / fix_closed, as the swarm's
                try:
                    follower = PullRequestFollower(await _index(bus), cfg.repositories, blood)
                    return (await follower.follow_once()).to_dict()
                finally:
                    await blood.close()

        data = run(go())

    def render(d: dict[str, Any]) -> None:
        console.print(f"{d['checked']} pull request(s) asked, {len(d['settled'])} settled", highlight=False)
        for s in d["settled"]:
            console.print(f"  {s['investigation_id']}: {s['state']} -> {s['status']}  {s['pull_request']}",
                          highlight=False)
        for e in d["errors"]:
            console.print(f"  [red]{escape(str(e['investigation_id']))}: {escape(str(e['error']))}[/]", highlight=False)

    emit(data, json_out, render)
    if data["errors"]:
        raise typer.Exit(1)
