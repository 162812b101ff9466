"""`swarm errors report` publishes one error report; `swarm errors tail` watches them arrive.

    swarm errors report --env production --message "KeyError: 'user_id'" --file app/api.py --line 42
    swarm errors report --message "boom" --stack - < traceback.txt --context-json '{"request_id": "r-1"}'
    swarm errors tail --env production --json --count 10

Without `NATS_URL` both reach the `swarm run` of embedded defaults (its store in
`$SWARM_HOME/run-nats/<namespace>`, `swarm.bus.runstore`): through its server while it runs; `report` also
publishes into the store while none runs (the next `swarm run` takes the report up), `tail` needs it running.

`tail` uses a core NATS subscription on the error subject, so it sees every report as it is
published and consumes nothing: the error streams are work queues owned by the `error-fixer`
consumer. It prints its readiness line on stderr once the subscription is registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from typing import Any

import typer
from pydantic import ValidationError

from swarm.bus.connect import Bus, open_bus
from swarm.bus.names import ENVS, HDR_MSG_ID, Names
from swarm.bus.runstore import reach_run_store
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
from swarm.errors import InvalidInput, explain
from swarm.models import ErrorReport
from swarm.reporting.reporter import Published, build_report, publish_report
from swarm.telemetry.tracing import EXIT_FLUSH_S, flush_tracing, setup_tracing

__all__ = ["errors_app", "parse_context"]

errors_app = typer.Typer(help="publish and watch error reports", no_args_is_help=True)
ENV_HELP = f"environment: {', '.join(ENVS)}"


def parse_context(text: str | None) -> dict[str, Any]:
    """The --context-json value as a dict; ValueError naming what is wrong otherwise."""
    if text is None:
        return {}
    try:
        value = json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid --context-json: not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"invalid --context-json: expected a JSON object, got {type(value).__name__}")
    return value


def _not_a_number(name: str) -> float:
    # Python's json reads NaN and Infinity; JSON has neither, and the report would carry null
    raise ValueError(f"invalid --context-json: {name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"invalid --context-json: {text} is out of a number's range")
    return value


def _check_env(env: str) -> str:
    try:
        return Names.env(env)
    except ValueError as exc:
        fail(str(exc), code=2)


def _given(value: str) -> str:
    """--message: a usage error naming the option when it is empty (the report's `error` field is the wire's name)."""
    if not value.strip():
        raise typer.BadParameter("the error message is empty: give the error's text, e.g. -m \"KeyError: 'user_id'\"")
    return value


@errors_app.command("report")
def errors_report(
    message: str = typer.Option(..., "--message", "-m", callback=_given,
                                help="the error message, e.g. \"KeyError: 'user_id'\""),
    env: str = typer.Option("default", "--env", help=ENV_HELP),
    stack: str = typer.Option("", "--stack", help="the traceback text ('-' reads it from stdin)"),
    file: str | None = typer.Option(None, "--file", help="file of the raise site"),
    line: int | None = typer.Option(None, "--line", min=0, help="line of the raise site"),
    function: str | None = typer.Option(None, "--function", help="function of the raise site"),
    service: str = typer.Option("unknown", "--service", help="the service that failed"),
    context_json: str | None = typer.Option(None, "--context-json", help="extra context as a JSON object"),
    release: str | None = typer.Option(None, "--release", envvar="SWARM_RELEASE",
                                       help="the service's release (part of the Msg-Id)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Publish one error report; prints stream, sequence and whether JetStream dropped it as a duplicate."""
    settings = load_settings()
    _check_env(env)
    try:
        context = parse_context(context_json)
    except ValueError as exc:
        fail(str(exc), code=2)
    with cli_errors():
        if stack == "-":
            stack = _read_stdin()
        report = build_report(
            message, env=env, stack=stack, file=file, line=line, function=function, service=service, context=context,
            release=release, message_label="--message",
        )
        with _reached(settings, start=True) as reached:
            published = run(_publish(reached, report))
    emit(published.as_dict(), json_out, render=_render_published)


@contextlib.contextmanager
def _reached(settings: Settings, start: bool) -> Iterator[Settings]:
    """Settings that reach the swarm: NATS_URL's server, else `swarm run`'s on embedded defaults (said on stderr)."""
    with reach_run_store(settings, start=start) as reached:
        if reached.note:
            err_console.print(reached.note, markup=False, highlight=False, soft_wrap=True)
        yield reached.settings


def _read_stdin() -> str:
    """The stack piped in; InvalidInput when it is not UTF-8 (a strict locale decodes it here, others keep
    bad bytes as surrogates that build_report refuses, naming the same field)."""
    try:
        return sys.stdin.read()
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        raise InvalidInput(
            f"invalid input: stack is not UTF-8 text (byte {bad:#04x} at byte {exc.start} of standard input)"
        ) from exc


async def _publish(settings: Settings, report: ErrorReport) -> Published:
    setup_tracing("errors-report", only_when_exporting=True)  # OTEL_TRACES_EXPORTER: the trace starts here
    try:
        async with open_bus(settings, role="reporter") as bus:
            return await publish_report(bus, report)
    finally:
        await asyncio.to_thread(flush_tracing, EXIT_FLUSH_S)


def _render_published(d: dict[str, Any]) -> None:
    what = "[yellow]duplicate: dropped by JetStream[/]" if d["duplicate"] else "[green]stored[/]"
    console.print(
        f"{what}  stream {d['stream']}  sequence {d['sequence']}  signature {d['signature'][:12]}", highlight=False
    )


@errors_app.command("tail")
def errors_tail(
    env: str = typer.Option("default", "--env", help=ENV_HELP),
    count: int | None = typer.Option(None, "--count", "-n", min=1, help="stop after N reports"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show error reports as they are published, without consuming them (one JSON object a line with --json)."""
    settings = load_settings()
    _check_env(env)
    with cli_errors():
        try:
            with _reached(settings, start=False) as reached:
                seen = run(_tail(reached, env, count, json_out))
        except KeyboardInterrupt:
            seen = -1
    if seen >= 0 and not json_out:
        err_console.print(f"{seen} report(s)", highlight=False)


async def _tail(settings: Settings, env: str, count: int | None, json_out: bool) -> int:
    async with open_bus(settings, **said_on_stderr("errors tail")) as bus:
        return await tail_reports(bus, env, count, json_out)


async def tail_reports(bus: Bus, env: str, count: int | None, json_out: bool) -> int:
    subject = bus.names.errors(env)
    sub = await bus.nc.subscribe(subject)
    await bus.nc.flush()  # the server has the subscription now: reports published from here on are seen
    err_console.print(f"tailing {subject} (nothing is consumed; Ctrl-C stops)", highlight=False)
    seen = 0
    async for msg in sub.messages:
        headers = msg.headers or {}
        try:
            report: ErrorReport | None = ErrorReport.model_validate_json(msg.data)
            problem = None
        except ValidationError as exc:
            report, problem = None, explain(exc)
        _print_tail(msg.subject, headers.get(HDR_MSG_ID), report, problem, msg.data, json_out)
        seen += 1
        if count is not None and seen >= count:
            break
    await sub.unsubscribe()
    return seen


def _print_tail(
    subject: str, msg_id: str | None, report: ErrorReport | None, problem: str | None, data: bytes, json_out: bool
) -> None:
    if json_out:
        row: dict[str, Any] = {"subject": subject, "msg_id": msg_id}
        if report is not None:
            row |= {"signature": report.signature, "report": report.model_dump(mode="json")}
        else:
            row |= {"malformed": problem, "data": data.decode("utf-8", "replace")}
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()
        return
    if report is None:
        console.print(f"[red]malformed report on {subject}[/]: {problem}", highlight=False)
        return
    c = report.context
    where = f"{c.file}:{c.line}" if c.file else "-"
    console.print(
        f"{report.timestamp:%H:%M:%S} [bold]{report.environment}[/] {report.service}  {report.error}  "
        f"[dim]{where} {c.function or ''} sig {report.signature[:12]}[/]",
        highlight=False,
        soft_wrap=True,
    )
