"""`swarm run`: the entrypoint `ray job submit` launches (also `python -m swarm.runtime`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import ray
import typer

from swarm.bus.server import EmbeddedNats
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings
from swarm.config import SwarmConfig
from swarm.errors import TransientError
from swarm.models import ErrorReport
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.investigate import investigate_once
from swarm.telemetry.tracing import setup_tracing

__all__ = ["runtime_app", "run_swarm"]

runtime_app = typer.Typer()


async def run_swarm(runtime: SwarmRuntime, until_empty: bool, timeout_s: float | None = None) -> dict[str, int]:
    """Start, then run until SIGTERM/SIGINT (or until the queues are empty); drain; stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def trap() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

    trap()
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
                    raise TransientError(f"the error queues were not empty in time: {exc}") from exc
                if runtime.incidents:
                    err_console.print("rode out: " + "; ".join(runtime.incidents))
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
    timeout: float = typer.Option(None, "--timeout", help="with --until-empty: give up after this many seconds"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the swarm on Ray: intake, orchestrator and role pools, autoscaler; drain on SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    setup_tracing("driver", only_when_exporting=True)  # OTEL_*: the driver's spans are exported too
    settings = load_settings()
    server = None
    with cli_errors():
        cfg = SwarmConfig.load(config or settings.swarm_config)
        if settings.nats_url is None:  # a laptop: an embedded server others can publish to
            server = EmbeddedNats().start()
            settings = settings.model_copy(update={"nats_url": server.url})
            err_console.print(f"NATS_URL is not set: started an embedded nats-server at {server.url}")
        try:
            # Ray forwards worker output to the driver's stdout: only our own output goes there
            with stdout_to_stderr(json_out):
                try:
                    counters = asyncio.run(
                        run_swarm(SwarmRuntime(settings, cfg, address=address), until_empty, timeout))
                finally:
                    if json_out and ray.is_initialized():
                        ray.shutdown()  # its log forwarding ends here, before the JSON is printed
        finally:
            if server is not None:
                server.stop()

    def render(data: dict[str, int]) -> None:
        console.print("  ".join(f"[bold]{k}[/] {v}" for k, v in data.items()))

    emit(counters, json_out, render)


@runtime_app.command("investigate")
def investigate(
    repo: Path = typer.Option(..., "--repo", help="the git repository the error came from"),
    error_file: Path = typer.Option(..., "--error-file", help="an ErrorReport as JSON ('-' for stdin)"),
    test_command: str = typer.Option(None, "--test-command", help="how to run the repository's tests"),
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (default: $SWARM_CONFIG)"),
    address: str = typer.Option(None, "--address", help="Ray address (default: local Ray)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run one investigation (embedded NATS and local Ray unless configured) and print its Result."""
    import uuid

    settings = load_settings()
    with cli_errors():
        try:
            text = sys.stdin.read() if str(error_file) == "-" else error_file.read_text()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read --error-file {error_file}: {exc.strerror}") from exc
        report = ErrorReport.model_validate_json(text)
        cfg = SwarmConfig.load(config or settings.swarm_config)
        server = None
        if settings.nats_url is None:  # a private embedded server: a namespace of its own
            server = EmbeddedNats().start()
            ns = f"investigate-{uuid.uuid4().hex[:8]}"
            settings = settings.model_copy(update={"nats_url": server.url, "nats_namespace": ns})
        try:
            result = asyncio.run(investigate_once(settings, cfg, repo, report, test_command, address=address))
        finally:
            if server is not None:
                server.stop()
    data = {
        "investigation_id": result.investigation_id,
        "status": result.status,
        "suspect_commit": result.suspect_commit,
        "root_cause": result.root_cause,
        "branch": result.branch,
        "fix_commit": result.fix_commit,
        "tests_before": _counts(result.tests_before),
        "tests_after": _counts(result.tests_after),
        "cycles": result.cycles,
        "duration_s": result.duration_s,
        "summary": result.summary,
        "error": result.error,
    }

    def render(d: dict[str, object]) -> None:
        colour = {"fixed": "green", "no_fix": "yellow"}.get(str(d["status"]), "red")
        console.print(
            f"[bold {colour}]{d['status']}[/]  {d['investigation_id']}  ({d['duration_s']} s, {d['cycles']} cycle(s))"
        )
        for key in ("suspect_commit", "branch", "fix_commit", "root_cause", "tests_before", "tests_after", "error"):
            if d.get(key):
                console.print(f"  [bold]{key}[/]: {d[key]}", highlight=False)

    emit(data, json_out, render)
    if result.status == "failed":
        raise typer.Exit(1)


def _counts(counts: object) -> dict[str, int] | None:
    if counts is None:
        return None
    # a test that errors (an exception outside an assertion) is a failing test too
    return {"passed": counts.passed, "failed": counts.failed + counts.errors}  # type: ignore[attr-defined]
