"""The whole story on embedded defaults (`swarm demo`): a regression in, a reviewed fix out.

1. a sample repository whose later commits introduce a regression (and unrelated changes after it);
2. its code runs and crashes: a real traceback, reported through the logging handler (twice: the
   second occurrence is dropped by JetStream as a duplicate of the same signature);
3. the swarm runs on a local Ray until its queues are empty: intake, orchestrator, research,
   implement (fix on branch swarm/fix/<id>), review (tests on the fix branch);
4. the outcome: suspect commit (checked against the commit that really broke it), fix branch,
   tests before and after, timings.

The sample repository comes from the agents' regression generator, loaded by dotted path (swarm
never imports agents/).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from swarm.bus.connect import Bus, open_bus
from swarm.bus.kvlist import bucket_keys
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.clikit import err_console
from swarm.config import RepositoryConfig, SwarmConfig
from swarm.models import Result
from swarm.reporting.handler import NatsErrorHandler
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.grouping import investigation_id_for
from swarm.runtime.investigate import fetch_result

__all__ = ["run_story"]


def _say(text: str) -> None:
    err_console.print(text, highlight=False)


def _git_log(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "log", "--format=%h %s"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()


def _crash_and_report(case: Any, settings: Settings) -> tuple[str, int]:
    """Run the sample's code in this process; the handler reports the traceback it raises."""
    handler = NatsErrorHandler(settings, service=case.report.service, root=str(case.path))
    logger = logging.getLogger(f"sample.{case.report.service}")
    logger.propagate = False
    logger.addHandler(handler)
    sys.path.insert(0, str(case.path))
    try:
        for _ in range(2):  # the same error twice: one investigation, the repeat is a duplicate
            try:
                exec(compile(case.crash_code, "<sample-app>", "exec"), {})  # noqa: S102 - our own sample
            except Exception:
                logger.exception("request failed")
        handler.flush(timeout=30)
        return handler.published, handler.duplicates
    finally:
        sys.path.remove(str(case.path))
        logger.removeHandler(handler)
        handler.close()


async def run_story(settings: Settings, config: SwarmConfig, workdir: Path, seed: int = 7) -> dict[str, Any]:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    make_case = config.support.load("demo_case")
    _say(f"1. creating a sample repository with a regression under {workdir} ...")
    case = make_case(workdir / "sample-repo", "later_commits", seed=seed)
    history = _git_log(case.path)
    for line in history:
        marker = "   <- the regression" if case.regression_commit.startswith(line.split()[0]) else ""
        _say(f"     {line}{marker}")
    async with open_bus(settings, role="admin") as bus:  # the error streams must exist before the app reports
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
    _say("2. running the sample app: it crashes; the logging handler reports the traceback (twice) ...")
    published, duplicates = _crash_and_report(case, settings)
    _say(f"     {published} report(s) published, {duplicates} dropped by JetStream as duplicates")
    repo = RepositoryConfig(**case.repository)
    config = config.model_copy(
        update={
            "repositories": {case.report.service: repo},
            "workspace_root": str(workdir / "workspaces"),
            "bloodstream": config.bloodstream.model_copy(update={"outbox_dir": str(workdir / "outbox")}),
        }
    )
    _say("3. starting the swarm on a local Ray (intake, orchestrator, research, implement, review) ...")
    runtime = SwarmRuntime(settings, config)
    t1 = time.monotonic()
    await runtime.start()
    timings["swarm_start_s"] = round(time.monotonic() - t1, 2)
    if runtime.dashboard_url:
        _say(f"   Ray dashboard: http://{runtime.dashboard_url} (actors intake-0, orchestrator-0, research-0, ...)")
    try:
        _say("   investigating until the queues are empty ...")
        t2 = time.monotonic()
        counters = await runtime.until_empty(timeout_s=1800)
        timings["investigation_wall_s"] = round(time.monotonic() - t2, 2)
        async with open_bus(settings, role="operator") as operator:
            result = await _result(operator, case)
    finally:
        await runtime.stop()
    timings["total_s"] = round(time.monotonic() - t0, 2)
    if result is not None:
        timings["investigation_s"] = result.duration_s
    return {
        "namespace": settings.nats_namespace,
        "repository": str(case.path),
        "history": history,
        "regression_commit": case.regression_commit,
        "report": {"error": case.report.error, "file": case.report.context.file, "line": case.report.context.line},
        "published": published,
        "duplicates_dropped": duplicates,
        "counters": counters,
        "result": result.model_dump(mode="json") if result else None,
        "suspect_is_the_regression": bool(result and result.suspect_commit == case.regression_commit),
        "timings": timings,
    }


async def _result(bus: Bus, case: Any) -> Result | None:
    """The Result in the demo's namespace (its one investigation), found through the signature index."""
    for key in await bucket_keys(bus.js, bus.names.signature_bucket):
        return await fetch_result(bus, investigation_id_for(key))
    return None
