"""`swarm bench scenarios configs/scenarios/*.yaml`: run scenarios on a real swarm, judge what it did.

    swarm bench scenarios configs/scenarios/poison.yaml configs/scenarios/injection.yaml [--json]

Each scenario (swarm.bench.scenario) runs in a namespace of its own on one local Ray: the runner taps the
namespace's bloodstream events, results, dead letters and security rejections, publishes the scenario's
reports, injects its faults when their trigger is seen, runs the swarm until its queues are empty, and
judges: every expected event in order within its bound, the exact counts, nothing stranded in a stream
(swarm.bench.ledger). The table (or `--json`) gives each scenario's verdict and its first unexpected or
missing event; the exit code is 1 when one failed.

Without NATS_URL the runner starts its own nats-server (the `nats_outage` fault needs one it owns).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from nats.aio.msg import Msg
from pydantic import ValidationError
from rich.table import Table

from swarm.bench.baseline import drop_namespace
from swarm.bench.ledger import Ledger
from swarm.bench.scenario import Fault, Scenario
from swarm.bus.connect import Bus
from swarm.bus.names import HDR_MSG_ID
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings
from swarm.config import RepositoryConfig, SwarmConfig
from swarm.errors import ConfigError, InvalidInput, explain
from swarm.models import DeadLetter, DomainEvent, ErrorReport, Result, SecurityRejection
from swarm.reporting.reporter import build_report, publish_report
from swarm.runtime.app import SwarmRuntime

__all__ = ["command", "run_scenario", "Tap", "judge"]


@dataclass
class Tap:
    """What the namespace said, with the time (s from the scenario's start) it was seen."""

    started: float = field(default_factory=time.monotonic)
    seen: list[tuple[float, str]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def open(self, bus: Bus) -> list[Any]:
        names = bus.names
        taps = [("events", names.events_all(), lambda d: DomainEvent.model_validate_json(d).event_type),
                ("results", names.results_all, lambda d: Result.model_validate_json(d).status),
                ("dead_letters", names.dead_all, lambda d: DeadLetter.model_validate_json(d).error_type),
                ("rejections", names.security_rejected, lambda d: SecurityRejection.model_validate_json(d).category)]
        subs = []
        for on, subject, name_of in taps:
            async def cb(msg: Msg, on: str = on, name_of: Any = name_of) -> None:
                try:
                    name = name_of(msg.data)
                except Exception:
                    name = "unreadable"
                self.seen.append((round(time.monotonic() - self.started, 3), f"{on}:{name}"))
                self.changed.set()

            subs.append(await bus.nc.subscribe(subject, cb=cb))
        await bus.nc.flush()
        return subs

    async def wait_for(self, key: str) -> float:
        while True:
            for t, k in self.seen:
                if _matches(key, k):
                    return t
            self.changed.clear()
            await self.changed.wait()


def _matches(pattern: str, key: str) -> bool:
    return pattern == key or (pattern.endswith(":*") and key.startswith(pattern[:-1]))


def judge(scenario: Scenario, seen: list[tuple[float, str]], stranded: dict[str, int] | None = None) -> str | None:
    """The first problem (a missing, late or unexpected event; something stranded), or None: passed."""
    pos = 0
    for exp in scenario.expect:
        hit = next((i for i in range(pos, len(seen)) if _matches(exp.event, seen[i][1])), None)
        if hit is None:
            return f"missing: {exp.event} (within {exp.within_s:g} s)"
        t = seen[hit][0]
        if t > exp.within_s:
            return f"late: {exp.event} at {t:g} s (within {exp.within_s:g} s)"
        pos = hit + 1
    for pattern, n in scenario.counts.items():
        hits = [(t, k) for t, k in seen if _matches(pattern, k)]
        if len(hits) > n:
            t, k = hits[n]
            return f"unexpected: {k} at {t:g} s (expected {n} {pattern})"
        if len(hits) < n:
            return f"missing: {pattern} seen {len(hits)} times, expected {n}"
    if stranded:
        return f"stranded: {stranded}"
    return None


def _reports(scenario: Scenario, case: Any) -> list[tuple[bytes | ErrorReport, bool, str]]:
    out: list[tuple[bytes | ErrorReport, bool, str]] = []
    for p in scenario.publish:
        item: bytes | ErrorReport
        if p.raw is not None:
            item = p.raw.encode()
        elif p.report == "case":
            if case is None:
                raise ConfigError(f"scenario {scenario.name}: report 'case' needs `repository: demo_case`")
            item = case.report
        else:
            item = build_report(env=p.env, **dict(p.report or {}))
        out += [(item, p.msg_id, p.env)] * p.copies
    return out


async def _publish(bus: Bus, items: list[tuple[bytes | ErrorReport, bool, str]]) -> None:
    for item, msg_id, env in items:
        if isinstance(item, ErrorReport) and msg_id:
            await publish_report(bus, item)
        else:
            data = item.to_bytes() if isinstance(item, ErrorReport) else item
            await bus.js.publish(bus.names.errors(env), data, headers={HDR_MSG_ID: uuid.uuid4().hex})


async def _inject(fault: Fault, tap: Tap, runtime: SwarmRuntime, server: EmbeddedNats | None) -> str:
    if fault.after:
        await tap.wait_for(fault.after)
    await asyncio.sleep(fault.after_s)
    at = round(time.monotonic() - tap.started, 3)
    if fault.do == "kill_actor":
        pid = (await runtime.pids())[fault.actor]
        os.kill(pid, signal.SIGKILL)
        return f"kill -9 {fault.actor} (pid {pid}) at {at:g} s"
    if server is None:
        raise ConfigError("the nats_outage fault needs the runner's own nats-server: unset NATS_URL")
    port = server.port
    await asyncio.to_thread(server.stop)
    await asyncio.sleep(fault.duration_s)  # the fault itself
    server.requested_port = int(port or 0)
    await asyncio.to_thread(server.start)
    return f"NATS stopped at {at:g} s for {fault.duration_s:g} s"


def _config(base: SwarmConfig, scenario: Scenario, workdir: Path, case: Any) -> SwarmConfig:
    data = base.model_dump(mode="json")
    for key, value in scenario.config.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    data["workspace_root"] = str(workdir / "workspaces")
    data["bloodstream"] = {**data["bloodstream"], "outbox_dir": str(workdir / "outbox")}
    if case is not None:
        data["repositories"] = {case.report.service: RepositoryConfig(**case.repository).model_dump(mode="json")}
    return SwarmConfig.model_validate(data)


async def run_scenario(scenario: Scenario, settings: Settings, base: SwarmConfig, workdir: Path,
                       server: EmbeddedNats | None = None) -> dict[str, Any]:
    """Run one scenario in a fresh namespace; its verdict, what was seen, the faults injected, the ledger."""
    ns = f"scn-{scenario.name}-{uuid.uuid4().hex[:6]}".lower().replace("_", "-")
    settings = settings.model_copy(update={"nats_namespace": ns})
    workdir = workdir / ns
    case = None
    if scenario.repository == "demo_case":
        case = base.support.load("demo_case")(workdir / "repo", "later_commits", seed=7)
    cfg = _config(base, scenario, workdir, case)
    items = _reports(scenario, case)
    bus = await Bus.connect(settings)
    runtime = SwarmRuntime(settings, cfg)
    tap, injected, problem, ledger = Tap(), [], None, None
    try:
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
        subs = await tap.open(bus)
        await runtime.start()
        tap.started = time.monotonic()  # bounds count from the first report, not from Ray's start-up
        await _publish(bus, items)
        faults = [asyncio.create_task(_inject(f, tap, runtime, server)) for f in scenario.faults]
        try:
            await runtime.until_empty(timeout_s=scenario.timeout_s)
            if faults:
                done, pending = await asyncio.wait(faults, timeout=5.0)
                for task in done:
                    injected.append(task.result())
                injected += [f"not injected: its trigger {f.after} never came" for f, t in
                             zip(scenario.faults, faults, strict=True) if t in pending]
        except TimeoutError as exc:
            problem = f"timed out: {exc}"
        finally:
            for task in faults:
                task.cancel()
        await asyncio.sleep(1.0)  # events published just before the queues emptied are still on their way
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        ledger = await Ledger.read(bus, cfg.intake.envs)
        problem = problem or judge(scenario, tap.seen, {k: v for k, v in ledger.leftovers.items() if v})
    except Exception as exc:  # a scenario that cannot run fails with the reason; the others still run
        problem = f"could not run: {type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            await runtime.stop()
        with contextlib.suppress(Exception):
            await drop_namespace(bus)
        await bus.close()
    return {
        "scenario": scenario.name,
        "file": scenario.path,
        "passed": problem is None,
        "problem": problem,
        "duration_s": round(time.monotonic() - tap.started, 2),
        "faults": injected,
        "seen": [{"t_s": t, "event": k} for t, k in tap.seen if not k.startswith("events:pool_scaled")],
        "ledger": ledger.summary() if ledger else None,
    }


def _start_ray(tries: int = 2) -> None:
    """One local Ray for every scenario (each has its own Ray namespace); a loaded machine may need two tries."""
    import ray

    for attempt in range(1, tries + 1):
        if ray.is_initialized():
            return
        try:
            ray.init(logging_level="WARNING")
        except Exception as exc:
            if attempt == tries:
                raise ConfigError(f"Ray did not start: {exc}") from exc
            err_console.print(f"Ray did not start ({exc}); trying again", highlight=False, markup=False)
            with contextlib.suppress(Exception):
                ray.shutdown()


async def run_all(paths: list[Path], settings: Settings, base: SwarmConfig, workdir: Path) -> list[dict[str, Any]]:
    scenarios = [Scenario.load(p) for p in paths]  # all of them valid before any runs
    for scenario in scenarios:  # their `config:` too, merged over the base as the run will
        try:
            _config(base, scenario, workdir, None)
        except ValidationError as exc:
            where = explain(exc)
            raise InvalidInput(f"scenario {scenario.path}: config: {where}") from exc
    _start_ray()
    server = None
    if settings.nats_url is None:
        server = EmbeddedNats(store_dir=workdir / "nats-store").start()
        settings = settings.model_copy(update={"nats_url": server.url})
    try:
        out = []
        for i, scenario in enumerate(scenarios, 1):
            err_console.print(f"[{i}/{len(scenarios)}] {scenario.name}: {scenario.description}", highlight=False,
                              markup=False)
            row = await run_scenario(scenario, settings, base, workdir, server)
            err_console.print(f"    {'passed' if row['passed'] else 'FAILED: ' + str(row['problem'])} "
                              f"({row['duration_s']} s)", highlight=False, markup=False)
            out.append(row)
        return out
    finally:
        if server is not None:
            server.stop()


def _render(rows: list[dict[str, Any]]) -> None:
    table = Table(title="scenarios", title_justify="left")
    for col in ("scenario", "verdict", "s", "events seen", "faults", "first unexpected or missing"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["scenario"], "[green]pass[/]" if r["passed"] else "[red]FAIL[/]", str(r["duration_s"]),
                      str(len(r["seen"])), "; ".join(r["faults"]), r["problem"] or "")
    console.print(table)


def command(
    paths: list[Path] = typer.Argument(..., help="scenario files, e.g. configs/scenarios/*.yaml"),
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (default: $SWARM_CONFIG)"),
    workdir: Path = typer.Option(None, "--workdir", help="repositories and workspaces (default: a temp dir)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run scenarios (reports, faults, expected events) on a real swarm; a pass/fail table."""
    from swarm.runtime.cli import stdout_to_stderr

    settings = load_settings()
    with cli_errors():
        base = SwarmConfig.load(config or settings.swarm_config)
        root = workdir.resolve() if workdir else Path(tempfile.mkdtemp(prefix="swarm-scenarios-"))
        with stdout_to_stderr(json_out):  # Ray's forwarded worker output never precedes the JSON
            rows = asyncio.run(run_all(list(paths), settings, base, root))
            import ray

            if json_out and ray.is_initialized():
                ray.shutdown()
    emit(rows, json_out, _render)
    if not all(r["passed"] for r in rows):
        raise typer.Exit(1)


