"""`swarm run`: the entrypoint `ray job submit` launches (also `python -m swarm.runtime`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ray
import typer
from rich.text import Text

from swarm.bus.connect import open_bus
from swarm.bus.embedded import embedded_nats, run_store
from swarm.bus.settings import Settings
from swarm.bus.store_lock import StoreInUse
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, fail, finite, load_settings
from swarm.config import SwarmConfig
from swarm.errors import ConfigError, InvalidInput, TransientError
from swarm.models import ErrorReport
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.investigate import Interrupted, Investigated, investigate_once, repository_for
from swarm.runtime.localrepos import local_repositories_checked
from swarm.runtime.raycluster import local_ray_reaped
from swarm.runtime.tasks import read_report_file, submit_investigation
from swarm.secretenv import export_job_env
from swarm.telemetry.logs import check_env
from swarm.telemetry.tracing import setup_tracing

__all__ = ["runtime_app", "run_swarm", "render_investigated"]

runtime_app = typer.Typer()
AUTH_HELP = "with no NATS_URL: the embedded server has an account and a least-privilege user per role"


def trap_signals(handler: Callable[[], None]) -> Callable[[], None]:
    """Install `handler` for SIGTERM and SIGINT on the running loop, and return the call that installs it again
    (ray.init replaces the SIGTERM handler with one that exits at once). A loop without signal support (not the
    main thread, Windows) keeps the default handlers."""
    loop = asyncio.get_running_loop()

    def trap() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, handler)

    trap()
    return trap


async def run_swarm(runtime: SwarmRuntime, until_empty: bool, timeout_s: float | None = None) -> dict[str, int]:
    """Start, then run until SIGTERM/SIGINT (or until the queues are empty); drain; stop."""
    stop = asyncio.Event()
    trap = trap_signals(stop.set)
    try:
        await runtime.start()
        trap()  # ray.init installs its own SIGTERM handler (exit at once); ours drains first
        if until_empty:
            waiter = asyncio.create_task(runtime.until_empty(timeout_s=timeout_s))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if waiter in done:
                try:
                    counters = waiter.result()
                except TimeoutError as exc:
                    # as on SIGTERM, the work in flight goes back to the queue (at once: the time is up),
                    # not cancelled with its actors under an error
                    err_console.print("not empty in time: draining, in-flight reports go back to the queue")
                    back = "?"
                    with contextlib.suppress(Exception):
                        back = str((await runtime.drain(grace_s=0))["handed_back"])
                    raise TransientError(f"the error queues were not empty in time: {exc}; {back} in-flight "
                                         "report(s) handed back for redelivery") from exc
                if runtime.incidents:
                    err_console.print("rode out: " + "; ".join(runtime.incidents), markup=False, soft_wrap=True)
                return counters
            waiter.cancel()
        else:
            err_console.print(
                f"swarm running in Ray namespace {runtime.ray_namespace}; Ctrl-C or SIGTERM drains and stops"
            )
            await stop.wait()
        err_console.print("draining: no new reports; in-flight investigations finish or go back to the queue")
        return await runtime.drain()
    finally:
        await runtime.stop()


def _embedded(stack: contextlib.ExitStack, settings: Settings, auth: bool, store: Path | None = None) -> Settings:
    """An embedded server for this command; `store`: a JetStream store that outlives it (else a temporary one)."""
    try:
        settings = stack.enter_context(embedded_nats(settings, auth=auth, store_dir=store))
    except StoreInUse as exc:
        raise ConfigError(
            f"the embedded nats-server's JetStream store {exc.store} is in use by another nats-server "
            f"({exc.holder}), most likely another `swarm run` of namespace {settings.nats_namespace} (or a "
            "`swarm fixes list|show` reading it, for as long as that command runs): stop it first, or give this run "
            "a store of its own with another SWARM_HOME (or NATS_NAMESPACE), or set NATS_URL to a running server"
        ) from None
    notes = ([f"store {store}"] if store else []) + (
        [f"accounts and role users: SWARM_NATS_AUTH={settings.swarm_nats_auth}"] if settings.swarm_nats_auth else [])
    err_console.print(f"NATS_URL is not set: started an embedded nats-server at {settings.nats_url}"
                      + (f" ({'; '.join(notes)})" if notes else ""), highlight=False, soft_wrap=True)
    return settings


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """File descriptor 1 points at stderr meanwhile (Ray's log forwarding, C-level prints included)."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@runtime_app.command("run")
def run(
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (default: $SWARM_CONFIG)"),
    address: str = typer.Option(None, "--address", help="Ray address: auto, ray://host:10001 (default: local Ray)"),
    until_empty: bool = typer.Option(False, "--until-empty", help="return once the error queues are drained"),
    timeout: float = typer.Option(None, "--timeout", min=0, callback=finite,
                                 help="with --until-empty: give up after this many seconds"),
    auth: bool = typer.Option(True, "--auth/--no-auth", help=AUTH_HELP),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the swarm on Ray: intake, orchestrator and role pools, autoscaler; drain on SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    export_job_env()  # in a job of `swarm submit`: its NATS password, token, OTLP headers (swarm.secretenv)
    settings = load_settings()
    with cli_errors(), contextlib.ExitStack() as stack:
        check_env()  # SWARM_LOG_LEVEL, SWARM_METRICS_PORT: before a server or Ray starts
        setup_tracing("driver", only_when_exporting=True)  # OTEL_*: the driver's spans are exported too
        cfg = SwarmConfig.load(config or settings.swarm_config)
        local_repositories_checked(cfg, address)  # a wrong path is said before a server or Ray starts
        if settings.nats_url is None:  # a laptop: an embedded server others can publish to, its store kept
            settings = _embedded(stack, settings, auth, store=run_store(settings))
        # Ray forwards worker output to the driver's stdout: only our own output goes there
        with stdout_to_stderr(json_out):
            ray_before = ray.is_initialized()
            try:
                with local_ray_reaped(address):  # a local Ray ends with the run, nothing of it left behind
                    counters = asyncio.run(run_swarm(SwarmRuntime(settings, cfg, address=address), until_empty,
                                                     timeout))
            finally:
                if json_out and not ray_before and ray.is_initialized():
                    ray.shutdown()  # its log forwarding ends here, before the JSON is printed

    def render(data: dict[str, int]) -> None:
        # one line whatever the width: rich wraps at 80 columns when stdout is no terminal (a log, a pipe)
        console.print("  ".join(f"[bold]{k}[/] {v}" for k, v in data.items()), soft_wrap=True)

    emit(counters, json_out, render)


@runtime_app.command("investigate")
def investigate(
    repo: Path = typer.Option(None, "--repo", help="the git repository the error came from (not with --submit)"),
    error_file: Path = typer.Option(..., "--error-file", help="an ErrorReport as JSON ('-' for stdin)"),
    test_command: str = typer.Option(None, "--test-command", help="how to run the repository's tests; default: "
                                     "python -m pytest -q at the root, or `cd DIR && python -m pytest -q` when one "
                                     "top-level DIR has the tests"),
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (default: $SWARM_CONFIG)"),
    address: str = typer.Option(None, "--address", help="Ray address (default: local Ray)"),
    submit: bool = typer.Option(False, "--submit", help="ask the running swarm (NATS_URL, else the local swarm "
                                "run) instead: put the investigation on {ns}.tasks.investigation and return"),
    auth: bool = typer.Option(True, "--auth/--no-auth", help=AUTH_HELP),
    strict: bool = typer.Option(False, "--strict", help="exit 3 when no fix is claimed (status no_fix or rejected)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run one investigation (embedded NATS and local Ray unless configured) and print its Result. Exit 0 when
    it ran (1 when it failed); with --strict, 3 when it found no fix."""
    import uuid

    settings = load_settings()
    with cli_errors():
        try:
            report = read_report_file(error_file)
        except InvalidInput as exc:
            raise typer.BadParameter(str(exc)) from exc
        if submit and repo is not None:
            raise typer.BadParameter("--repo is not used with --submit: the running swarm's configuration names "
                                     "the repository")
        if submit:
            _submit(settings, report, json_out)
            return
        if repo is None:
            raise typer.BadParameter("--repo is required (unless --submit asks a running swarm)")
        cfg = SwarmConfig.load(config or settings.swarm_config)
        repository_for(repo, test_command, cfg, report.service)  # a wrong --repo is said before a server starts
        check_env()  # SWARM_LOG_LEVEL, SWARM_METRICS_PORT: so are they
        with contextlib.ExitStack() as stack:
            if settings.nats_url is None:  # a private embedded server: a namespace of its own
                # ... but the fix branch and worktrees are the user's namespace's (`swarm/fix/<id>` by default),
                # so that running it again resets its branch instead of adding one per run
                cfg = cfg.model_copy(update={"fix_namespace": cfg.fix_scope(settings.nats_namespace.lower())})
                ns = f"investigate-{uuid.uuid4().hex[:8]}"
                settings = _embedded(stack, settings.model_copy(update={"nats_namespace": ns}), auth)
            try:
                with local_ray_reaped(address):
                    done = asyncio.run(_investigate_until_stopped(settings, cfg, repo, report, test_command, address))
            except Interrupted as exc:
                fail(str(exc), code=130)
    result = done.result
    data = {
        "investigation_id": result.investigation_id,
        "status": result.status,
        "suspect_commit": result.suspect_commit,
        "suspect_method": result.suspect_method,
        "root_cause": result.root_cause,
        "repro": result.repro.model_dump(mode="json") if result.repro else None,
        "fix": _fix_line(result.summary),
        "branch": result.branch,
        "fix_commit": result.fix_commit,
        "tests_before": _counts(result.tests_before),
        "tests_after": _counts(result.tests_after),
        "regression_test": result.regression_test,
        "pushed_to": result.pushed_to,
        "cycles": result.cycles,
        "duration_s": result.duration_s,
        "summary": result.summary,
        "error": result.error,
        "review": done.review,
        "earlier": done.earlier,
    }
    if done.earlier:  # nothing ran: say so, and how to have it investigated anew
        err_console.print(
            f"this error was investigated before in namespace {settings.nats_namespace}: its Result is shown, "
            "unchanged; a deploy of its service (`swarm deploy mark`) or `swarm streams purge --reset-index` makes "
            "its next report a new investigation", highlight=False, soft_wrap=True)

    emit(data, json_out, render_investigated)
    if result.status == "failed":
        raise typer.Exit(1)
    if strict and result.status in ("no_fix", "rejected"):
        raise typer.Exit(3)


async def _investigate_until_stopped(settings: Settings, cfg: SwarmConfig, repo: Path, report: ErrorReport,
                                     test_command: str | None, address: str | None) -> Investigated:
    """investigate_once, ended early by SIGINT or SIGTERM: the work stops at once, its worktrees go (Interrupted)."""
    stop = asyncio.Event()

    def interrupted() -> None:
        if not stop.is_set():
            err_console.print("interrupted: stopping the investigation (its worktrees are removed)", highlight=False)
        stop.set()

    trap = trap_signals(interrupted)
    return await investigate_once(settings, cfg, repo, report, test_command, address=address, stop=stop,
                                  started=trap)


def _submit(settings: Settings, report: ErrorReport, json_out: bool) -> None:
    """Put the investigation on the tasks subject of NATS_URL's swarm (without it, the `swarm run` running here)."""

    async def submit() -> dict[str, Any]:
        async with open_bus(settings) as bus:
            return await submit_investigation(bus, report, by="swarm investigate --submit")

    data = asyncio.run(submit())
    emit(data, json_out, lambda d: console.print(
        f"submitted {d['task_id']} ({d['stream']} #{d['sequence']}) for signature {d['signature'][:12]}",
        highlight=False))


def render_investigated(d: dict[str, object]) -> None:
    """`swarm investigate`'s text: status, suspect (and how found), branch, root cause, fix, tests, review."""
    colour = {"fixed": "green", "no_fix": "yellow"}.get(str(d["status"]), "red")
    console.print(
        f"[bold {colour}]{d['status']}[/]  {d['investigation_id']}  ({d['duration_s']} s, {d['cycles']} cycle(s))"
    )
    for key in ("suspect_commit", "branch", "fix_commit", "root_cause", "fix", "tests_before", "tests_after",
                "error"):
        value = d.get(key)
        if isinstance(value, dict):  # test counts
            value = ", ".join(f"{n} {what}" for what, n in value.items())
        if key == "suspect_commit" and value and d.get("suspect_method"):
            value = f"{value} ({d['suspect_method']})"
        if value:
            _field(key, str(value))
    repro = d.get("repro")
    if isinstance(repro, dict) and repro.get("kind") not in (None, "none"):
        _field("repro", f"{repro['kind']} {repro.get('target', '')}: {repro.get('detail', '')}")
    review = d.get("review")
    if isinstance(review, dict):
        why = "; ".join(str(r) for r in review.get("reasons") or []) or str(review.get("feedback") or "")
        _field("review", f"{review['verdict']}" + (f" ({why})" if why else ""))


def _field(name: str, value: str) -> None:
    # values are text, not markup: a test id's `[param]` or a message's brackets print as they are
    console.print(Text.assemble(("  " + name, "bold"), ": ", value), highlight=False, soft_wrap=True)


def _fix_line(summary: str) -> str | None:
    """The summary's "**Fix.**" paragraph: what the fix changed, and how it was validated."""
    for line in summary.splitlines():
        if line.startswith("**Fix.**"):
            return line.removeprefix("**Fix.**").strip() or None
    return None


def _counts(counts: object) -> dict[str, int] | None:
    if counts is None:
        return None
    # a test that errors (an exception outside an assertion) is a failing test too
    return {"passed": counts.passed, "failed": counts.failed + counts.errors}  # type: ignore[attr-defined]
