"""Publishing against the session's real nats-server: subjects, versions, dedup, heartbeats, CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from swarm.agent import EventPublisher
from swarm.bloodstream import Bloodstream, Delivery, HealthMonitor, read_health
from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.cli import app
from swarm.config import SwarmConfig
from swarm.errors import InvalidInput
from swarm.models import Audit, DomainEvent, Heartbeat
from tests.support.bloodstream import stored

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]


async def until(cond: Callable[[], Any], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


async def test_domain_events_dual_publish_to_v1_and_v2_with_their_schema_version(bus: Bus, tmp_path: Path) -> None:
    def v2(event: DomainEvent, version: int) -> bytes:  # a migration's new shape: `type` instead of `event_type`
        body = event.model_dump(mode="json") | {"schema_version": version, "type": event.event_type}
        del body["event_type"]
        return json.dumps(body).encode()

    bs = Bloodstream(bus, tmp_path, event_versions=[2, 1], encoders={2: v2})
    assert await bs.event("fix_committed", {"branch": "swarm/fix/inv-1"}, investigation_id="inv-1") is True
    [one] = await stored(bus, bus.names.event("fix_committed", 1))
    [two] = await stored(bus, bus.names.event("fix_committed", 2))
    assert one["schema_version"] == 1 and one["event_type"] == "fix_committed" and "type" not in one
    assert two["schema_version"] == 2 and two["type"] == "fix_committed" and "event_type" not in two
    assert one["event_id"] == two["event_id"] and one["investigation_id"] == two["investigation_id"] == "inv-1"
    assert one["data"] == two["data"] == {"branch": "swarm/fix/inv-1"}
    # a bad event type is the caller's bug, yet best effort never raises: it is counted and logged
    assert await bs.event("not.a.token", {}) is False
    assert bs.by_kind["event"].published == 2 and bs.by_kind["event"].failed == 1


async def test_construction_from_config_and_its_validation(bus: Bus, settings: Settings, tmp_path: Path) -> None:
    cfg = SwarmConfig.load(settings.swarm_config)
    cfg.bloodstream.event_versions, cfg.bloodstream.outbox_dir = [1, 2], str(tmp_path / "ob")
    bs = Bloodstream.from_config(bus, cfg)
    assert bs.event_versions == [1, 2] and bs.outbox.path.parent == tmp_path / "ob"
    assert not bs.outbox.path.parent.exists()  # construction does no I/O
    assert await bs.event("pool_scaled", {"replicas": 2})
    assert len(await stored(bus, bus.names.events_all())) == 2
    monitor = HealthMonitor.from_config(bs, cfg, check_interval_s=0.5)
    assert (monitor.missed_heartbeats, monitor.doctor_interval_s, monitor.check_interval_s) == (3, 30.0, 0.5)
    for bad in ([], [0], ["v2"]):
        with pytest.raises(InvalidInput, match="event_versions must be positive integers"):
            Bloodstream(bus, tmp_path, event_versions=bad)  # type: ignore[arg-type]


async def test_guaranteed_kinds_carry_their_id_as_msg_id_and_are_stored_once(bus: Bus, tmp_path: Path) -> None:
    bs = Bloodstream(bus, tmp_path)
    audit = Audit(actor="orchestrator", action="open_investigation", target="inv-1")
    assert await bs.audit(audit) == Delivery.PUBLISHED
    assert await bs.audit(audit) == Delivery.PUBLISHED  # e.g. a caller retrying after a lost ack
    assert [a["audit_id"] for a in await stored(bus, bus.names.audit)] == [audit.audit_id]
    assert bs.by_kind["audit"].published == 1 and bs.by_kind["audit"].duplicates == 1
    await bs.injury(injury_type="service_down", affected_service="review-1", severity="high", auto_heal=True)
    [injury] = await stored(bus, bus.names.injury)
    assert (injury["affected_service"], injury["severity"], injury["auto_heal"]) == ("review-1", "high", True)
    with pytest.raises(ValueError, match="invalid Audit"):  # InvalidInput: missing actor/action
        await bs.audit(target="x")


async def test_the_agents_event_publisher_is_bound_to_one_investigation(bus: Bus, tmp_path: Path) -> None:
    bs = Bloodstream(bus, tmp_path)
    events: EventPublisher = bs.for_investigation("inv-7", actor="implement-0")
    await events.event("fix_committed", {"commit": "abc123"})
    await events.audit("git_commit", "swarm/fix/inv-7", "ok", {"files": 2})
    await events.brain_dead("claude", "HTTP 529 overloaded", 3, "offline")
    [evt] = await stored(bus, bus.names.event("fix_committed"))
    [audit] = await stored(bus, bus.names.audit)
    [dead] = await stored(bus, bus.names.brain_dead)
    assert evt["investigation_id"] == audit["investigation_id"] == dead["investigation_id"] == "inv-7"
    assert (audit["actor"], audit["action"], audit["target"], audit["details"]) == (
        "implement-0",
        "git_commit",
        "swarm/fix/inv-7",
        {"files": 2},
    )
    assert (dead["brain"], dead["attempts"], dead["fallback"]) == ("claude", 3, "offline")


async def test_heartbeat_loop_beats_and_says_stopping_when_stopped(bus: Bus, tmp_path: Path) -> None:
    bs = Bloodstream(bus, tmp_path)
    beats: asyncio.Queue[Heartbeat] = asyncio.Queue()

    async def got(msg: Any) -> None:
        await beats.put(Heartbeat.model_validate_json(msg.data))

    await bus.nc.subscribe(bus.names.heartbeat_of("research-0"), cb=got)
    await bus.nc.flush()
    bs.start_heartbeat("research-0", role="research", interval_s=0.05, probe=lambda: {"active_investigations": 2})
    for _ in range(2):
        hb = await asyncio.wait_for(beats.get(), 5)
        assert (hb.role, hb.status, hb.active_investigations, hb.interval_s) == ("research", "ok", 2, 0.05)
        assert hb.memory_mb > 0
    await bs.close()
    while (hb := await asyncio.wait_for(beats.get(), 5)).status == "ok":
        continue
    assert hb.status == "stopping" and hb.role == "research"


async def test_heartbeat_stream_keeps_one_beat_per_service_and_health_reads_it(
    bus: Bus, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    bs = Bloodstream(bus, tmp_path)
    for _ in range(4):
        await bs.heartbeat(Heartbeat(service="research-0", role="research", interval_s=60))
    await bs.heartbeat(Heartbeat(service="implement-0", role="implement", interval_s=1e-6))  # long overdue at once
    await bs.heartbeat(Heartbeat(service="review-0", role="review", status="stopping", interval_s=0))
    await bs.heartbeat(Heartbeat(service="odd.name *", role="research", interval_s=60))  # not a subject token
    stream = bus.names.heartbeat_stream

    async def four_services() -> bool:
        return (await bus.js.stream_info(stream)).state.messages == 4

    await until(four_services, "the HEARTBEATS stream to hold one beat per service")
    rows = {r.service: r.status for r in await read_health(bus)}
    assert rows == {"research-0": "up", "implement-0": "down", "review-0": "stopped", "odd.name *": "up"}

    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, app, ["health", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["healthy"] is False and data["down"] == ["implement-0"]
    assert {s["service"]: s["role"] for s in data["services"]}["research-0"] == "research"
    strict = await asyncio.to_thread(runner.invoke, app, ["health", "--strict"])
    assert strict.exit_code == 1 and "down: implement-0" in strict.stderr
    table = await asyncio.to_thread(runner.invoke, app, ["health"])
    assert table.exit_code == 0 and "research-0" in table.stdout and "stopped" in table.stdout


async def test_events_tail_follows_live_and_filters_by_subject(
    bus: Bus, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    bs = Bloodstream(bus, tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "swarm.cli",
        "events",
        "tail",
        "--subject",
        "hive.audit",
        "--json",
        "--count",
        "2",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ready = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert f"tailing {bus.names.audit}" in ready.decode()
        await bs.event("pool_scaled", {"role": "research", "replicas": 3})  # filtered out
        await bs.audit(actor="autoscaler", action="scale", target="research")
        await bs.audit(actor="autoscaler", action="scale", target="review")
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 0
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [(m["subject"], m["payload"]["target"]) for m in lines] == [
        (bus.names.audit, "research"),
        (bus.names.audit, "review"),
    ]


def test_events_tail_refuses_a_bad_subject_pattern(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["events", "tail", "--subject", "hive.>.audit"])
    assert result.exit_code == 1
    assert "invalid --subject 'hive.>.audit'" in result.stderr


async def test_events_tail_for_people_prints_untrusted_text_verbatim(
    bus: Bus, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    bs = Bloodstream(bus, tmp_path)
    args = ["events", "tail", "-s", "hive.audit", "-n", "1"]
    job = asyncio.ensure_future(asyncio.to_thread(CliRunner().invoke, app, args))
    while not job.done():  # the runner shows no readiness line: publish until the tail has one
        await bs.audit(actor="x", action="[bold red]not markup[/]", target="inv-1")
        await asyncio.wait([job], timeout=0.05)
    result = job.result()
    assert result.exit_code == 0, result.output
    assert "hive.audit" in result.stdout and "action=[bold red]not markup[/] target=inv-1" in result.stdout


async def test_events_tail_for_people_shows_an_event_s_own_fields(bus: Bus, tmp_path: Path,
                                                                  cli_env: dict[str, str]) -> None:
    """A new user's `swarm events tail` showed `event_type=pool_scaled` and nothing of the role, from, to or load
    the README promises; they were only in `--json`."""
    bs = Bloodstream(bus, tmp_path)
    args = ["events", "tail", "-s", "hive.events.>", "-n", "1"]
    job = asyncio.ensure_future(asyncio.to_thread(CliRunner().invoke, app, args))
    while not job.done():
        await bs.event("pool_scaled", {"role": "research", "from": 1, "to": 3, "load": 6, "reason": "scale up"})
        await asyncio.wait([job], timeout=0.05)
    result = job.result()
    assert result.exit_code == 0, result.output
    line = " ".join(result.stdout.split())
    assert "event_type=pool_scaled" in line and "role=research from=1 to=3 load=6" in line, result.stdout
