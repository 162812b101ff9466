"""`swarm bench pipeline`: investigations/s and end-to-end latency of the whole swarm, beside raw nats-py.

    swarm bench pipeline                       # embedded nats-server unless NATS_URL is set; local Ray
    swarm bench pipeline --reports 400 --sleep-reports 40 --replicas 2 --concurrency 10 --json

Scenarios, each in a fresh namespace (and so a fresh Ray namespace and fresh actors):
- raw: the baseline. `--raw-messages` reports are put on the error stream, then fetched in batches
  from its `error-fixer` consumer and acked with plain nats-py: the ceiling any intake could reach.
  Run three times first and three times just before the storm (Ray up); the median of the runs is the
  baseline, and each run's rate is reported (one run lasts ~0.1 s and alone varies 2x).
- task path: the baseline of an investigation. `--task-messages` reports, each fetched, parsed, its PEER
  state KV-created and compare-and-set once, a Result published with Nats-Msg-Id, acked (confirmed), as
  many in flight as the swarm has investigation slots: what any investigation must cost on NATS alone.
- Ray floor: the task path again, its PEER state sent through 4 no-op actors in turn between the create
  and the compare-and-set (`PhaseHop`): the actor calls of an investigation's critical path (intake ->
  orchestrator, research, implement, review) and nothing else of the swarm.
- noop: `--reports` distinct reports with agents that do no work (swarm.bench.agents), published as
  one burst into a running swarm; then `--serial` more, one at a time, for the latency of a lone report.
- sleep: `--sleep-reports` with agents that sleep `--sleep-s` per phase call (plan, research,
  implement, express, review: 5 calls on the critical path, the research calls run in parallel).
  Ideal = reports / (waves x critical path) where waves = ceil(reports / investigation slots), the
  slots being the smallest of the budget, the orchestrator pool and the intake slots (and no role
  pool may be the tighter bound); concurrency efficiency = measured / ideal. Memory per investigation in
  flight: RSS growth of the swarm's actors at the most in flight / that number (swarm.bench.storm), the
  idle RSS taken after one warm-up investigation (one-time lazy loads are no cost per investigation).
- storm: `--storm-reports` reports of `--storm-signatures` errors, each copy its own Nats-Msg-Id; intake
  reports/s (first fetch to last batch grouped) beside raw fetch + ack, counts checked exact. Run
  `--storm-runs` times (a fresh swarm each); the run of median rate is the figure, every run's reported
  (a 5,000-report storm lasts ~0.3 s: one run's ratio moved 0.33-0.61 between runs of the same build).

Throughput = reports / (last Result stored - first report published). End-to-end latency of a report =
its Result's JetStream store time - ErrorReport.timestamp (set as it is published; both clocks are this
host's when the server is local). Burst latencies include the wait for a free slot (the last report of a
burst waits for all before it); the one-at-a-time figures are the latency of a lone report.
Actor start-up is outside the window and reported on its own.
Without --json the figures are printed by `swarm.bench.pipeline_table.render`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import ray
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from swarm.bench.agents import BENCH_AGENTS
from swarm.bench.baseline import (
    Progress_,
    bench_report,
    drop_namespace,
    measure_raw,
    measure_ray_floor,
    measure_task_path,
    median_raw,
    median_run,
    quiet,
)
from swarm.bench.cpu import CpuMeter
from swarm.bench.pipeline_table import render
from swarm.bench.storm import RssSampler, measure_storm
from swarm.bus.connect import Bus
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, emit, err_console, finite, load_settings, run
from swarm.config import SwarmConfig
from swarm.errors import SwarmError
from swarm.models import Result
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.telemetry.logs import check_env

__all__ = ["command", "measure", "bench_config", "percentiles"]

RAW_RUNS = 3  # raw baseline runs at the start, and again before the storm

PHASE_CALLS = 5  # plan, research (parallel), implement, express, review: the critical path of one cycle


def percentiles(values: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95/p99 (and mean/max) of `values`, in the values' unit."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}
    s = sorted(values)

    def rank(p: float) -> float:
        return s[max(0, math.ceil(p / 100 * len(s)) - 1)]

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "mean": sum(s) / len(s), "max": s[-1]}


def bench_config(
    outbox: Path, replicas: int, concurrency: int, sleep_s: float, hypotheses: int, intake: int
) -> SwarmConfig:
    """A fixed-size swarm of bench agents: `replicas` per role, `concurrency` investigations per replica."""
    per_call = {"research": concurrency * hypotheses}
    roles = {
        role: {
            "agent": dotted,
            "min_replicas": replicas,
            "max_replicas": replicas,
            "max_concurrency": per_call.get(role, concurrency),
            "options": {"sleep_s": sleep_s, "hypotheses": hypotheses},
        }
        for role, dotted in BENCH_AGENTS.items()
    }
    return SwarmConfig.model_validate(
        {
            # the shipped intake otherwise (three environments' streams, fetch_timeout_s 1.0): a bench on one stream
            # hid idle streams' fetches holding back a storm (one batch a second)
            "intake": {"actors": intake, "batch": 64, "nak_delay_s": 0.5},
            "orchestration": {"max_cycles": 1, "max_hypotheses": hypotheses, "grace_period_s": 5},
            "roles": roles,
            "autoscale": {"enabled": False},
            # a waiting admission is woken by the slot freeing; retry_delay_s only bounds one wait
            "budget": {"max_concurrent_investigations": replicas * concurrency, "retry_delay_s": 1.0},
            "bloodstream": {"outbox_dir": str(outbox)},
        }
    )


def ideal(cfg: SwarmConfig, reports: int, sleep_s: float) -> dict[str, Any]:
    """The best a perfect runtime could do with this pool size: only the agents' sleeps take time."""
    r = cfg.roles
    slots = min(
        cfg.budget.max_concurrent_investigations,
        r["orchestrator"].max_replicas * r["orchestrator"].max_concurrency,
        cfg.intake.actors * max(4, cfg.budget.max_concurrent_investigations * 2),  # IntakeActor.slots
    )
    hyp = int(r["orchestrator"].options.get("hypotheses", 2))
    critical = PHASE_CALLS * sleep_s
    makespan = max(
        math.ceil(reports / slots) * critical,
        reports * hyp * sleep_s / (r["research"].max_replicas * r["research"].max_concurrency),
        reports * sleep_s / (r["implement"].max_replicas * r["implement"].max_concurrency),
        reports * sleep_s / (r["review"].max_replicas * r["review"].max_concurrency),
    )
    return {"slots": slots, "critical_path_s": critical, "ideal_s": makespan, "ideal_per_s": reports / makespan}


class _Results:
    """Collects Results from the RESULTS stream with their store time; wakes waiters as they arrive."""

    def __init__(self) -> None:
        self.stored: dict[str, tuple[Result, datetime]] = {}  # signature -> (Result, store time)
        self.changed = asyncio.Event()

    async def on_msg(self, msg: Any) -> None:
        result = Result.model_validate_json(msg.data)
        self.stored.setdefault(result.signature, (result, msg.metadata.timestamp))
        self.changed.set()

    async def wait_for(
        self, signatures: set[str], label: str, runtime: SwarmRuntime, timeout_s: float, progress: Progress_
    ) -> None:
        deadline = time.monotonic() + timeout_s
        checked = time.monotonic()
        while True:
            done = len(signatures & self.stored.keys())
            progress(label, done, len(signatures))
            if done == len(signatures):
                return
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=1.0)
            if time.monotonic() - checked < 1.0:
                continue  # ask the intake actors at most once a second: they are being measured
            checked = time.monotonic()
            counters = await runtime.counters()
            lost = counters["dead_lettered"] + counters["rejected"]
            if lost or time.monotonic() > deadline:
                why = f"{lost} dead-lettered or rejected" if lost else f"timed out after {timeout_s:.0f}s"
                raise SwarmError(f"{label}: {done}/{len(signatures)} Results, {why}; counters {counters}")


async def operations(runtime: SwarmRuntime) -> dict[str, int]:
    """Every swarm actor's operation counts (swarm.telemetry.ops), summed."""
    handles = list(runtime.intake) + [h for pool in runtime.pools.values() for h in pool.actors.values()]
    total: dict[str, int] = {}
    for got in await asyncio.gather(*(h.ops.remote() for h in handles)):
        for k, v in got.items():
            total[k] = total.get(k, 0) + v
    return total


async def measure_scenario(
    settings: Settings,
    name: str,
    reports: int,
    sleep_s: float,
    serial: int,
    opts: dict[str, int],
    progress: Progress_,
    timeout_s: float,
) -> dict[str, Any]:
    """Start a bench swarm in a fresh namespace, publish a burst of distinct reports, time their Results."""
    ns = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"nats_namespace": ns})
    with tempfile.TemporaryDirectory(prefix="swarm-bench-") as tmp:
        cfg = bench_config(Path(tmp) / "outbox", sleep_s=sleep_s, **opts)
        runtime = SwarmRuntime(settings, cfg)
        bus = await Bus.connect(settings)
        try:
            progress(f"{name}: starting actors", 0, 1)
            began = time.perf_counter()
            await runtime.start()
            startup_s = time.perf_counter() - began
            progress(f"{name}: starting actors", 1, 1)
            collected = _Results()
            sub = await bus.js.subscribe(bus.names.results_all, ordered_consumer=True, cb=collected.on_msg)
            tag = name  # a fresh namespace per scenario: no random token needed (nor one the filter could trip on)
            warmup = 0
            if sleep_s > 0:  # one investigation first: one-time lazy loads are not memory per investigation
                r = bench_report(tag, reports + serial)
                await publish_report(bus, r)
                await collected.wait_for({r.signature}, f"{name}: warm-up", runtime, timeout_s, quiet)
                warmup = 1
            sampler = await RssSampler.start(runtime) if sleep_s > 0 else None
            sampling = asyncio.create_task(sampler.run()) if sampler else None
            meter = await CpuMeter.start(runtime)
            published: dict[str, datetime] = {}
            for i in range(reports):  # built right before it is published: its timestamp is the publish time
                r = bench_report(tag, i)
                await publish_report(bus, r)
                published[r.signature] = r.timestamp
            await collected.wait_for(set(published), f"{name}: Results", runtime, timeout_s, progress)
            cpu = meter.figures(reports)
            if sampling is not None:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling
            lone: dict[str, datetime] = {}
            for i in range(serial):
                r = bench_report(tag, reports + i)
                await publish_report(bus, r)
                lone[r.signature] = r.timestamp
                await collected.wait_for({r.signature}, f"{name}: lone #{i + 1}", runtime, timeout_s, quiet)
            if serial:
                progress(f"{name}: one at a time", serial, serial)
            counters = await runtime.until_empty(poll_s=0.1, timeout_s=timeout_s)
            spent = await operations(runtime)
            await sub.unsubscribe()
        finally:
            await runtime.stop()
            await drop_namespace(bus)
            await bus.close()
    total = reports + serial + warmup
    if counters["results"] != total or counters["investigations"] != total:
        raise SwarmError(f"{name}: expected {total} investigations and Results, counters {counters}")

    def latencies(sent: dict[str, datetime]) -> list[float]:
        return [(collected.stored[s][1] - t).total_seconds() for s, t in sent.items()]

    first = min(published.values())
    last = max(collected.stored[s][1] for s in published)
    window = (last - first).total_seconds()
    out: dict[str, Any] = {
        "namespace": ns,
        "reports": reports,
        "warmup": warmup,  # investigations run before the burst (memory sampling), outside every figure
        "sleep_s": sleep_s,
        "startup_s": startup_s,
        "seconds": window,
        "per_s": reports / window,
        "latency_s": percentiles(latencies(published)),
        "duration_s": percentiles([collected.stored[s][0].duration_s for s in published]),
        "statuses": sorted({collected.stored[s][0].status for s in published}),
        "counters": counters,
        # what one investigation cost, summed over every actor (burst and lone reports together)
        "per_investigation": {k: v / total for k, v in sorted(spent.items())},
        # CPU of the actors during the burst / its reports (swarm.bench.cpu): ms per investigation, by role
        "cpu": cpu,
    }
    if serial:
        out["serial"] = {"reports": serial, "latency_s": percentiles(latencies(lone))}
    if sampler is not None:
        out["memory"] = sampler.figures()
    if sleep_s > 0:
        best = ideal(cfg, reports, sleep_s)
        out["ideal"] = best
        out["efficiency"] = out["per_s"] / best["ideal_per_s"]
        out["overhead_s"] = out["duration_s"]["p50"] - best["critical_path_s"]  # runtime cost per investigation
    return out


async def measure(
    settings: Settings,
    reports: int = 200,
    sleep_reports: int = 40,
    sleep_s: float = 1.0,
    raw_messages: int = 2000,
    task_messages: int = 500,
    serial: int = 10,
    replicas: int = 2,
    concurrency: int = 10,
    hypotheses: int = 2,
    intake: int = 1,
    storm_reports: int = 5000,
    storm_signatures: int = 10,
    storm_runs: int = 3,
    timeout_s: float = 300.0,
    progress: Progress_ = quiet,
) -> dict[str, Any]:
    """Every scenario against `settings`' server on the current (or a new local) Ray; figures per second."""
    opts = {"replicas": replicas, "concurrency": concurrency, "hypotheses": hypotheses, "intake": intake}
    # first: an unreachable server fails fast. Taken again beside the storm (Ray and its actors up, as they
    # are for every scenario): the baseline is the median of all its runs, each run's rate reported
    raws = [{**await measure_raw(settings, raw_messages, 64, progress), "when": "start"} for _ in range(RAW_RUNS)]
    with tempfile.TemporaryDirectory(prefix="swarm-bench-") as tmp:
        slots = ideal(bench_config(Path(tmp) / "outbox", sleep_s=0.0, **opts), 1, 1.0)["slots"]
    task = await measure_task_path(settings, task_messages, slots, progress)
    started_ray = not ray.is_initialized()
    if started_ray:
        # killed actors print their pending nats-py tasks on exit: noise in a figures-only report
        ray.init(include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    try:
        floor = await measure_ray_floor(settings, task_messages, slots, progress)
        noop = await measure_scenario(settings, "noop", reports, 0.0, serial, opts, progress, timeout_s)
        sleep = None
        if sleep_reports:
            sleep = await measure_scenario(settings, "sleep", sleep_reports, sleep_s, 0, opts, progress, timeout_s)
        storm = None
        if storm_reports:
            raws += [{**await measure_raw(settings, raw_messages, 64, progress), "when": "before storm"}
                     for _ in range(RAW_RUNS)]
            with tempfile.TemporaryDirectory(prefix="swarm-bench-") as tmp:
                cfg = bench_config(Path(tmp) / "outbox", sleep_s=0.0, **opts)
                storms = [await measure_storm(settings, cfg, storm_reports, storm_signatures, progress, timeout_s)
                          for _ in range(storm_runs)]
            storm = {**median_run(storms), "namespaces": [run["namespace"] for run in storms]}
    finally:
        if started_ray:
            ray.shutdown()
    raw = median_raw(raws)
    out: dict[str, Any] = {"server": settings.nats_url, **opts, "raw": raw, "task_path": task,
                           "ray_floor": floor, "noop": noop, "sleep": sleep, "storm": storm}
    out["ratios"] = {"noop/raw": noop["per_s"] / raw["per_s"], "noop/task_path": noop["per_s"] / task["per_s"],
                     "ray_floor/task_path": floor["per_s"] / task["per_s"],
                     "noop/ray_floor": noop["per_s"] / floor["per_s"]}
    if storm is not None:
        out["ratios"]["storm/raw"] = storm["per_s"] / raw["per_s"]
    if sleep is not None:
        out["ratios"]["sleep/raw"] = sleep["per_s"] / raw["per_s"]
        out["ratios"]["sleep/ideal"] = sleep["efficiency"]
    return out


def command(
    reports: int = typer.Option(200, "--reports", min=1, help="burst of distinct reports, agents doing no work"),
    sleep_reports: int = typer.Option(40, "--sleep-reports", min=0, help="burst with sleeping agents (0: skip)"),
    sleep_s: float = typer.Option(1.0, "--sleep-s", min=0.01, callback=finite, help="seconds each agent call sleeps"),
    serial: int = typer.Option(10, "--serial", min=0, help="then reports one at a time (lone latency)"),
    raw_messages: int = typer.Option(2000, "--raw-messages", min=1, help="messages of the raw fetch+ack baseline"),
    task_messages: int = typer.Option(500, "--task-messages", min=1, help="reports of the task-path baseline"),
    replicas: int = typer.Option(2, "--replicas", min=1, help="replicas per role pool (fixed: no autoscaling)"),
    concurrency: int = typer.Option(10, "--concurrency", min=1, help="investigations per orchestrator replica"),
    hypotheses: int = typer.Option(2, "--hypotheses", min=1, help="research calls per investigation"),
    intake: int = typer.Option(1, "--intake", min=1, help="intake actors"),
    storm_reports: int = typer.Option(5000, "--storm-reports", min=0, help="storm: reports of a few errors (0: skip)"),
    storm_signatures: int = typer.Option(10, "--storm-signatures", min=1, help="storm: distinct errors"),
    storm_runs: int = typer.Option(3, "--storm-runs", min=1, help="storm: runs (the median run is the figure)"),
    timeout: float = typer.Option(300.0, "--timeout", min=1, callback=finite,
                                  help="give up on a scenario after this many seconds"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Investigations/s and end-to-end latency with no-op and sleeping agents, beside raw fetch+ack/s."""
    if storm_reports and storm_signatures > storm_reports:  # each error of the storm is at least one report
        raise typer.BadParameter(f"{storm_signatures} errors need at least as many reports (--storm-reports "
                                 f"{storm_reports})", param_hint="'--storm-signatures'")
    with cli_errors():
        check_env()  # SWARM_LOG_LEVEL, SWARM_METRICS_PORT: before Ray starts
        settings = load_settings()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console) as bar:
            tasks: dict[str, Any] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done, total=total)

            args: dict[str, Any] = dict(
                reports=reports,
                sleep_reports=sleep_reports,
                sleep_s=sleep_s,
                raw_messages=raw_messages,
                task_messages=task_messages,
                serial=serial,
                replicas=replicas,
                concurrency=concurrency,
                hypotheses=hypotheses,
                intake=intake,
                storm_reports=storm_reports,
                storm_signatures=storm_signatures,
                storm_runs=storm_runs,
                timeout_s=timeout,
                progress=progress,
            )
            if settings.nats_url:
                results = run(measure(settings, **args))
            else:
                err_console.print("[dim]starting an embedded nats-server (NATS_URL is not set)[/]")
                with EmbeddedNats() as server:
                    results = run(measure(settings.model_copy(update={"nats_url": server.url}), **args))
    emit(results, json_out, render)
