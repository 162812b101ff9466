"""Health monitor and healer: a killed Ray actor is injured and restarted; a corrupted PEER key is
injured and restored. Real nats-server, real Ray (session fixture), real JetStream KV."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import ray

from swarm.bloodstream import Bloodstream, Healer, HealthMonitor
from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.models import Audit, Heartbeat, Injury
from swarm.state import PeerState, PeerStateStore

pytestmark = pytest.mark.timeout(120)
BEAT_S = 0.2


async def until(cond: Callable[[], Any], what: str, timeout_s: float = 20.0) -> None:
    """Wait for a condition (sync or async) with a deadline."""
    deadline = time.monotonic() + timeout_s
    while not ((await r) if inspect.isawaitable(r := cond()) else r):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


class Watch:
    """Collects injuries and audits as they are published (core subscription on the live subjects)."""

    def __init__(self) -> None:
        self.injuries: list[Injury] = []
        self.audits: list[Audit] = []

    async def start(self, bus: Bus) -> Watch:
        async def injury(msg: Any) -> None:
            self.injuries.append(Injury.model_validate_json(msg.data))

        async def audit(msg: Any) -> None:
            self.audits.append(Audit.model_validate_json(msg.data))

        await bus.nc.subscribe(bus.names.injury, cb=injury)
        await bus.nc.subscribe(bus.names.audit, cb=audit)
        await bus.nc.flush()
        return self

    async def injury(self, pred: Callable[[Injury], bool], what: str) -> Injury:
        await until(lambda: any(pred(i) for i in self.injuries), what)
        return next(i for i in self.injuries if pred(i))

    async def audit(self, pred: Callable[[Audit], bool], what: str) -> Audit:
        await until(lambda: any(pred(a) for a in self.audits), what)
        return next(a for a in self.audits if pred(a))


@pytest.fixture
async def bs(bus: Bus, tmp_path: Path) -> AsyncIterator[Bloodstream]:
    b = await Bloodstream(bus, tmp_path / "outbox").start()
    yield b
    await b.close()


@ray.remote(num_cpus=0)
class Beater:
    """A stand-in role actor: beats through its own Bloodstream, as the runtime's actors do."""

    def __init__(self, url: str, ns: str, service: str, outbox: str) -> None:
        self.settings = Settings(nats_url=url, nats_namespace=ns, _env_file=None)
        self.service, self.outbox = service, outbox

    async def start(self) -> int:
        self.bus = await Bus.connect(self.settings)
        self.bs = Bloodstream(self.bus, self.outbox)
        self.bs.start_heartbeat(self.service, role="research", interval_s=BEAT_S)
        return os.getpid()

    async def stop(self) -> None:
        await self.bs.close()  # a clean stop: a last beat with status "stopping"
        await self.bus.close()


class RayRestarter:
    """The runtime's side of ActorRestarter, in small: recreate the service's actor and start it."""

    def __init__(self, settings: Settings, outbox: Path) -> None:
        self.settings, self.outbox = settings, outbox
        self.actors: dict[str, Any] = {}
        self.pids: dict[str, list[int]] = {}

    async def launch(self, service: str) -> int:
        actor = Beater.remote(self.settings.nats_url, self.settings.nats_namespace, service, str(self.outbox))
        pid = await actor.start.remote()
        self.actors[service] = actor
        self.pids.setdefault(service, []).append(pid)
        return pid

    async def restart(self, service: str) -> bool:
        return await self.launch(service) > 0


@pytest.mark.usefixtures("ray_session")
async def test_a_killed_actor_is_injured_and_restarted_a_clean_stop_is_not(
    bus: Bus, bs: Bloodstream, settings: Settings, tmp_path: Path
) -> None:
    watch = await Watch().start(bus)
    restarter = RayRestarter(settings, tmp_path / "actor-outbox")
    monitor = HealthMonitor(bs, healer=Healer(bs, restarter=restarter), missed_heartbeats=3, check_interval_s=0.05)
    await monitor.start()
    try:
        first_pid = await restarter.launch("research-0")
        await restarter.launch("review-0")
        await until(lambda: {"research-0", "review-0"} <= set(monitor.services), "both actors' first beats")

        await restarter.actors["review-0"].stop.remote()
        await until(lambda: monitor.services["review-0"].status == "stopped", "review-0's stopping beat")
        ray.kill(restarter.actors["research-0"], no_restart=True)

        injury = await watch.injury(lambda i: i.affected_service == "research-0", "research-0's injury")
        assert (injury.injury_type, injury.severity, injury.auto_heal) == ("service_down", "high", True)
        assert injury.details["missed_heartbeats"] == 3 and injury.details["silent_for_s"] > 3 * BEAT_S
        assert injury.details["role"] == "research" and "restart" in injury.recommended_action

        audit = await watch.audit(lambda a: a.action == "restart_actor", "the healer's audit")
        assert (audit.actor, audit.target, audit.outcome) == ("healer", "research-0", "ok")
        assert audit.details["injury_id"] == injury.injury_id
        await until(lambda: monitor.services["research-0"].status == "up", "the restarted actor's beats")
        assert len(restarter.pids["research-0"]) == 2 and restarter.pids["research-0"][1] != first_pid

        assert [i.affected_service for i in watch.injuries] == ["research-0"]  # the clean stop: no injury
        assert monitor.services["research-0"].heal_attempts == 0
    finally:
        await monitor.close()
        for actor in restarter.actors.values():
            ray.kill(actor, no_restart=True)


class NeverRestarts:
    def __init__(self) -> None:
        self.calls = 0

    async def restart(self, service: str) -> bool:
        self.calls += 1
        return False


async def test_a_service_that_stays_down_is_retried_then_left_to_a_person(bus: Bus, bs: Bloodstream) -> None:
    watch = await Watch().start(bus)
    restarter = NeverRestarts()
    monitor = HealthMonitor(bs, healer=Healer(bs, restarter=restarter), check_interval_s=0.02, max_heal_attempts=2)
    await monitor.start()
    try:
        await bs.heartbeat(Heartbeat(service="flaky-0", role="implement", interval_s=0.05))  # then silence
        await until(lambda: len(watch.injuries) == 3, "two healable injuries and a final one")
        assert [i.auto_heal for i in watch.injuries] == [True, True, False]
        assert [i.severity for i in watch.injuries] == ["high", "high", "critical"]
        assert "restart by hand" in watch.injuries[2].recommended_action
        await until(lambda: len(watch.audits) == 2, "an audit per restart attempt")
        assert [(a.action, a.outcome) for a in watch.audits] == [("restart_actor", "failed")] * 2
        assert restarter.calls == 2
    finally:
        await monitor.close()


async def test_a_service_dead_before_the_monitor_started_is_found_from_the_stream(bus: Bus, bs: Bloodstream) -> None:
    await bs.heartbeat(Heartbeat(service="ghost-0", role="review", interval_s=0.01))

    async def stored() -> bool:
        return (await bus.js.stream_info(bus.names.heartbeat_stream)).state.messages == 1

    await until(stored, "the beat to be stored")
    watch = await Watch().start(bus)
    async with HealthMonitor(bs, check_interval_s=0.02) as monitor:  # no healer: report only
        injury = await watch.injury(lambda i: i.affected_service == "ghost-0", "ghost-0's injury")
        assert injury.auto_heal is False and monitor.services["ghost-0"].status == "down"


async def test_a_stored_beat_of_a_service_the_swarm_does_not_run_is_no_injury(bus: Bus, bs: Bloodstream) -> None:
    """A new user's restarted job: `review-2` of the job before (scaled up, killed without its last beat) was
    judged down by every later job, three restarts failed and the critical alert fired. A monitor told what
    the swarm runs (`owns`) leaves such a stored beat unjudged; one of its own is judged as before."""
    await bs.heartbeat(Heartbeat(service="review-2", role="review", interval_s=0.01))
    await bs.heartbeat(Heartbeat(service="review-0", role="review", interval_s=0.01))

    async def stored() -> bool:
        return (await bus.js.stream_info(bus.names.heartbeat_stream)).state.messages == 2

    await until(stored, "the beats to be stored")
    watch = await Watch().start(bus)
    restarter = NeverRestarts()
    healer = Healer(bs, restarter=restarter)
    async with HealthMonitor(bs, healer=healer, check_interval_s=0.02, owns=lambda s: s == "review-0") as monitor:
        await watch.injury(lambda i: i.affected_service == "review-0", "review-0's injury")
        await until(lambda: monitor.services["review-2"].status == "stopped", "review-2 left unjudged")
        assert not [i for i in watch.injuries if i.affected_service == "review-2"], watch.injuries
        assert monitor.services["review-0"].status in ("down", "restarting")


def beat_from_another_process(settings: Settings, service: str, outbox: Path, stop: threading.Event) -> None:
    """A live service beating every 0.1 s on its own connection and event loop (a thread standing in for an
    actor's process), whatever the test's own loop is doing."""

    async def main() -> None:
        bus = await Bus.connect(settings)
        blood = await Bloodstream(bus, outbox).start()
        try:
            while not stop.is_set():
                await blood.heartbeat(Heartbeat(service=service, role="research", interval_s=0.1))
                await asyncio.sleep(0.1)  # the beat period
        finally:
            await blood.close()
            await bus.close()

    asyncio.run(main())


async def test_a_monitor_paused_as_it_starts_judges_no_live_service_down(
    bus: Bus, bs: Bloodstream, settings: Settings, tmp_path: Path
) -> None:
    """The driver can be stopped (SIGSTOP, a VM pause) the moment its monitor has started, its stored beats
    read: the services beat on meanwhile. Woken, the monitor reads those beats before any verdict, and the
    pause is its own, not their silence. (It judged every live service down: a full CI run caught it.)"""
    stop = threading.Event()
    beater = threading.Thread(target=beat_from_another_process, args=(settings, "live-0", tmp_path / "o2", stop))
    beater.start()
    try:
        async def stored() -> bool:
            return (await bus.js.stream_info(bus.names.heartbeat_stream)).state.messages >= 1

        await until(stored, "a stored beat of live-0")
        watch = await Watch().start(bus)
        monitor = await HealthMonitor(bs, check_interval_s=0.05, missed_heartbeats=3).start()
        try:
            time.sleep(1.5)  # the fault: this whole event loop stopped, 5 x the 0.3 s a silence may last
            await asyncio.sleep(1.0)  # then 20 passes of the woken monitor
            assert monitor.services["live-0"].status == "up"
            assert not watch.injuries, [(i.affected_service, i.details) for i in watch.injuries]
        finally:
            await monitor.close()
    finally:
        stop.set()
        beater.join(timeout=10)


async def test_a_corrupted_peer_key_is_injured_and_restored(bus: Bus, bs: Bloodstream) -> None:
    store = PeerStateStore(bus)
    state = PeerState.new("inv-1", "error", 1, signature="sig-1", service="api")
    good = await store.create(state)
    kv = await store.kv()
    await kv.put(state.key, b'{"metadata": "written behind the store\'s back"')
    hopeless = "peer.error.inv-2.cycle.1"
    await kv.create(hopeless, b"never a valid state")
    watch = await Watch().start(bus)
    monitor = HealthMonitor(
        bs, healer=Healer(bs, state=store), doctor=store, check_interval_s=0.02, doctor_interval_s=0.05
    )
    await monitor.start()
    try:
        injury = await watch.injury(lambda i: i.details.get("key") == state.key, "the corrupted key's injury")
        assert (injury.injury_type, injury.affected_service, injury.auto_heal) == (
            "state_corrupted",
            bus.names.peer_bucket,
            True,
        )
        assert injury.details["last_valid_revision"] == good and injury.details["problem"] == "corrupt"
        audit = await watch.audit(lambda a: a.action == "restore_state", "the healer's restore audit")
        assert (audit.target, audit.outcome, audit.details["restored_revision"]) == (state.key, "ok", good)
        restored, revision = await store.read(state.key)
        assert restored == state and revision == audit.details["new_revision"]

        lost = await watch.injury(lambda i: i.details.get("key") == hopeless, "the hopeless key's injury")
        assert (lost.severity, lost.auto_heal, lost.details["last_valid_revision"]) == ("critical", False, None)
        assert await monitor.check_state() == []  # each finding is injured once, not on every run
        assert [a.target for a in watch.audits] == [state.key]  # nothing tried on the hopeless one
        assert [f.key for f in (await store.doctor()).findings] == [hopeless]
    finally:
        await monitor.close()
