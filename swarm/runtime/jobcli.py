"""`swarm submit` / `swarm submit --stop` / `swarm jobs`: the swarm as a Ray job (swarm.runtime.jobs)."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, fail, finite, load_settings
from swarm.config import SwarmConfig
from swarm.runtime.jobs import READY_LINE, STOP_MARGIN_S, SwarmJobs

__all__ = ["jobs_app"]

jobs_app = typer.Typer()

ADDRESS = typer.Option(None, "--address", help="Ray dashboard: http://head:8265 (default: $RAY_ADDRESS)")


@jobs_app.command("submit")
def submit(
    address: str = ADDRESS,
    working_dir: Path = typer.Option(Path("."), "--working-dir", help="the project directory shipped to the job"),
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml inside the working dir"),
    stop: bool = typer.Option(False, "--stop", help="stop the namespace's swarm job and wait for its drain"),
    timeout: float = typer.Option(None, "--timeout", callback=finite,
                                 help="seconds to wait (300 to start; grace + 90 to stop)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the swarm as a Ray job (one live job per namespace, id swarm-<ns>-<time>); --stop drains it and waits."""
    settings = load_settings()
    if timeout is not None and timeout <= 0:
        fail(f"--timeout {timeout:g}: expected a number of seconds > 0", code=2)
    if not stop and not working_dir.is_dir():
        fail(f"--working-dir {working_dir}: no such directory", code=2)
    if not stop and not settings.nats_url:  # the job would start an embedded server in the cluster, out of reach
        fail("the swarm job needs a NATS server its reporters can reach: set NATS_URL (and NATS_NAMESPACE); "
             "without it the job would start an embedded nats-server inside the cluster that nothing else reaches")
    with cli_errors():
        cfg_path = config or settings.swarm_config
        cfg = SwarmConfig.load(cfg_path)  # a bad config fails here, not in the cluster
        grace = cfg.orchestration.grace_period_s
        jobs = SwarmJobs(address, settings)

        def progress(status: str) -> None:
            err_console.print(f"{jobs.id}: {status}")

        if stop:
            if jobs.find() is None:
                fail(f"no live swarm job to stop in namespace {settings.nats_namespace}")
            jobs.stop()
            err_console.print(f"stopping {jobs.id}: the swarm drains (up to {grace:g} s), then Ray reports STOPPED")
            status = jobs.wait(lambda s, _: False, timeout or grace + STOP_MARGIN_S + 30, progress)
        else:
            status = jobs.start(working_dir, cfg_path, grace, lambda s, logs: s == "RUNNING" and READY_LINE in logs,
                                timeout or 300.0, progress)
    data = {"submission_id": jobs.id, "namespace": settings.nats_namespace, "status": status}
    failed = status == "FAILED" or (not stop and status != "RUNNING")
    if failed:
        data["logs"] = jobs.logs()[-4000:]
        data["message"] = jobs.message()  # Ray's reason (e.g. the runtime env could not be set up)

    def render(d: dict[str, object]) -> None:
        colour = "red" if failed else "green"
        console.print(f"[bold {colour}]{d['status']}[/]  {d['submission_id']}  (namespace {d['namespace']})")
        if d.get("message"):
            console.print(str(d["message"]), highlight=False, markup=False)
        if d.get("logs"):
            console.print(str(d["logs"]), highlight=False, markup=False)

    emit(data, json_out, render)
    if failed:
        raise typer.Exit(1)


@jobs_app.command("jobs")
def list_jobs(address: str = ADDRESS, json_out: bool = JSON_OPTION) -> None:
    """The swarm jobs of the Ray cluster (every namespace), oldest first."""
    settings = load_settings()
    with cli_errors():
        rows = SwarmJobs(address, settings).list()

    def render(data: list[dict[str, object]]) -> None:
        if not data:
            console.print("no swarm jobs")
        for j in data:
            console.print(f"[bold]{j['submission_id']}[/]  {j['status']}  ns {j['namespace']}  {j['entrypoint']}")

    emit(rows, json_out, render)
