"""`swarm demo`: the whole floor in one command, with nothing to install or configure.

    swarm demo            # embedded nats-server, provision namespace `demo`, publish samples, stream report
    swarm demo --json     # the same as one JSON document (progress goes to stderr)

With `NATS_URL` set the demo uses that server instead of starting one. `publish_samples(bus)` is the
reusable part: five realistic reports of which two are duplicates (one repeated verbatim, one
differing only by a request id and a memory address), so JetStream stores three.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from swarm.bus.cli import render_stream_report, stream_report
from swarm.bus.connect import Bus, open_bus
from swarm.bus.embedded import embedded_nats
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings, namespace_value, run
from swarm.models import ErrorReport
from swarm.reporting.reporter import Published, build_report, publish_report

__all__ = ["demo_app", "publish_samples", "sample_reports", "embedded_or_configured"]

demo_app = typer.Typer()

_KEYERROR_STACK = """Traceback (most recent call last):
  File "accounts/api/profile.py", line 57, in get_profile
    return render(user_id=payload["user_id"])
KeyError: 'user_id'
"""
_ORDER_STACK = """Traceback (most recent call last):
  File "shop/orders/service.py", line 131, in confirm
    self.repo.lock(order_id)
  File "shop/orders/repo.py", line 88, in lock
    raise OrderLocked(f"Order {order_id} locked by worker at {hex(id(worker))}")
shop.orders.repo.OrderLocked: Order 3f2a9c1e-8b7d-4e21-9c55-0a1b2c3d4e5f locked by worker at 0x7f3a2c10d4e0
"""
_INVOICE_STACK = """Traceback (most recent call last):
  File "billing/invoice.py", line 118, in line_total
    return amount / quantity
ZeroDivisionError: division by zero
"""


def sample_reports() -> list[ErrorReport]:
    """Five reports from three services; the 2nd and 5th are duplicates of the 1st and 4th."""
    keyerror = dict(
        env="production",
        service="accounts-api",
        stack=_KEYERROR_STACK,
        file="accounts/api/profile.py",
        line=57,
        function="get_profile",
    )
    order = dict(env="staging", service="shop-orders", file="shop/orders/repo.py", line=88, function="lock")
    return [
        build_report("KeyError: 'user_id'", **keyerror, context={"request_id": "req-7f1c", "route": "/profile"}),
        build_report("KeyError: 'user_id'", **keyerror, context={"request_id": "req-91ab", "route": "/profile"}),
        build_report(
            "ZeroDivisionError: division by zero",
            env="production",
            service="billing",
            stack=_INVOICE_STACK,
            file="billing/invoice.py",
            line=118,
            function="line_total",
            context={"invoice": "INV-2291"},
        ),
        build_report(
            "OrderLocked: Order 3f2a9c1e-8b7d-4e21-9c55-0a1b2c3d4e5f locked by worker at 0x7f3a2c10d4e0",
            stack=_ORDER_STACK,
            **order,
        ),
        build_report(
            "OrderLocked: Order 9b0d4e7a-1c2f-4a6b-8d9e-f0e1d2c3b4a5 locked by worker at 0x55d0e1ff20a8",
            stack=_ORDER_STACK.replace("3f2a9c1e-8b7d-4e21-9c55-0a1b2c3d4e5f", "9b0d4e7a-1c2f-4a6b-8d9e-f0e1d2c3b4a5"),
            **order,
        ),
    ]


async def publish_samples(bus: Bus) -> list[tuple[ErrorReport, Published]]:
    """Publish `sample_reports()`; each report with what JetStream answered (stream, sequence, duplicate)."""
    return [(report, await publish_report(bus, report)) for report in sample_reports()]


@contextlib.contextmanager
def embedded_or_configured(settings: Settings, auth: bool = True) -> Iterator[Settings]:
    """The settings when NATS_URL is set; otherwise start an embedded nats-server for the duration (with an
    account for the namespace and a user per role unless `auth` is False) and yield settings for it."""
    if settings.nats_url:
        yield settings
        return
    err_console.print("starting an embedded nats-server with JetStream"
                      + (", an account per namespace and a least-privilege user per role" if auth else "") + " ...",
                      highlight=False)
    with embedded_nats(settings, auth=auth) as embedded:
        yield embedded


async def _demo(settings: Settings, url: str) -> dict[str, Any]:
    streams = load_streams_config(settings.swarm_streams_config)
    async with open_bus(settings, url, role="admin") as admin:  # each step as its role (SWARM_NATS_AUTH)
        err_console.print(f"provisioning namespace {admin.names.ns!r} from {settings.swarm_streams_config} ...",
                          highlight=False)
        await provision(admin.js, admin.names, streams)
    async with open_bus(settings, url, role="reporter") as reporter:
        err_console.print("publishing 5 error reports (2 duplicates) ...", highlight=False)
        published = await publish_samples(reporter)
    async with open_bus(settings, url, role="operator") as operator:
        rows = await stream_report(operator, streams)
    return {
        "server": url,
        "namespace": settings.nats_namespace,
        "published": [{"service": r.service, "error": r.error, **p.as_dict()} for r, p in published],
        "stored": sum(1 for _, p in published if not p.duplicate),
        "duplicates": sum(1 for _, p in published if p.duplicate),
        "streams": rows,
    }


def _render(data: dict[str, Any]) -> None:
    table = Table(title=f"published to {data['server']} (namespace {data['namespace']})", title_justify="left")
    table.add_column("service", no_wrap=True)
    table.add_column("stream", no_wrap=True)
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("JetStream", no_wrap=True)
    table.add_column("error", overflow="fold")
    for p in data["published"]:
        outcome = "[yellow]duplicate[/]" if p["duplicate"] else "[green]stored[/]"
        table.add_row(p["service"], p["stream"], str(p["sequence"]), outcome, p["error"])
    console.print(table)
    console.print(
        f"{data['stored']} stored, {data['duplicates']} dropped as duplicates by their signature\n", highlight=False
    )
    render_stream_report([r for r in data["streams"] if r["kind"] == "stream"], "streams after the demo")


@demo_app.command("demo")
def demo(
    namespace: str = typer.Option("demo", "--namespace", callback=namespace_value,
                                  help="namespace to provision and publish into"),
    publish_only: bool = typer.Option(False, "--publish-only", help="only publish sample reports (no swarm)"),
    workdir: Path = typer.Option(Path(".swarm/demo"), "--workdir", help="where the sample repository is created"),
    comms: bool = typer.Option(True, "--comms/--no-comms", help="store agent messages, screenshot the comms pages"),
    auth: bool = typer.Option(True, "--auth/--no-auth", help="embedded server: an account and a user per role"),
    json_out: bool = JSON_OPTION,
) -> None:
    """The whole story on embedded defaults: a regression, its traceback, the swarm, a reviewed fix.

    With --publish-only: start embedded NATS (unless NATS_URL is set), provision, publish samples, report streams.
    """
    with cli_errors():
        settings = load_settings(nats_namespace=namespace)
        with embedded_or_configured(settings, auth) as settings:
            url = str(settings.nats_url)
            if publish_only:
                data = run(_demo(settings, url))
            else:
                from swarm.config import SwarmConfig
                from swarm.story import run_story

                settings = settings.model_copy(update={"nats_url": url})
                target = workdir.resolve() / time.strftime("%Y%m%d-%H%M%S")
                data = run(run_story(settings, SwarmConfig.load(settings.swarm_config), target))
                if comms:  # agent messages into Postgres, screenshots of the comms pages under the workdir
                    from swarm.comms.snapshot import demo_snapshot

                    data["comms"] = run(demo_snapshot(settings, workdir.resolve()))
    if publish_only:
        emit(data, json_out, render=_render)
        return
    emit(data, json_out, render=_render_story)
    if not data["result"] or data["result"]["status"] != "fixed":
        raise typer.Exit(1)


def _render_story(data: dict[str, Any]) -> None:
    r = data["result"] or {}
    table = Table(title="outcome", title_justify="left", show_header=False)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    good = data["suspect_is_the_regression"]
    check = "[green]= the commit that broke it[/]" if good else "[red]not the regression[/]"

    def tests(counts: dict[str, int] | None) -> str:
        counts = counts or {}
        said = f"{counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed"
        errors = counts.get("errors", 0)  # apart from failures, as the Result's evidence counts them
        return said + (f", {errors} error{'s' if errors > 1 else ''}" if errors else "")

    rows = [
        ("error", f"{data['report']['error']}  ({data['report']['file']}:{data['report']['line']})"),
        ("status", r.get("status", "no result")),
        ("suspect commit", f"{(r.get('suspect_commit') or '-')[:12]} {check}"),
        ("root cause", r.get("root_cause") or "-"),
        ("fix branch", f"{r.get('branch') or '-'} at {(r.get('fix_commit') or '-')[:12]}"),
        ("tests before", tests(r.get("tests_before"))),
        ("tests after", tests(r.get("tests_after"))),
        ("review cycles", str(r.get("cycles", 0))),
        ("repository", data["repository"]),
        ("counters", ", ".join(f"{k} {v}" for k, v in data["counters"].items())),
        ("timings", ", ".join(f"{k} {v}" for k, v in data["timings"].items())),
    ]
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)
    if r.get("summary"):
        console.print(r["summary"], markup=False, highlight=False)
    comms = data.get("comms") or {}
    if comms:
        shots = ", ".join(comms.get("screenshots") or []) or comms.get("skipped") or comms.get("error") or "none"
        console.print(f"agent messages stored: {comms.get('stored', 0)}; comms pages: {shots}", highlight=False)
