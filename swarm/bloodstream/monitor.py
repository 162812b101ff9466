"""Health: who is alive (heartbeats), what is broken (injuries), and the PEER state doctor.

    monitor = HealthMonitor(bloodstream, healer=healer, doctor=PeerStateStore(bus), missed_heartbeats=3)
    await monitor.start()           # seeds from the HEARTBEATS stream, then follows live beats
    ...
    await monitor.close()

    rows = await read_health(bus)   # no monitor needed: the last beat of each service (`swarm health`)

A service silent for `missed_heartbeats` of its own intervals yields one Injury(service_down)
(services already silent for over `seed_horizon_s` when the monitor starts are not tracked);
with a healer and auto_heal the service is restarted, and if it still does not beat within the
same window, it is injured (and restarted) again, up to `max_heal_attempts`; then the injury is
critical and left to a person. A beat with status "stopping" is a clean exit, never an injury.
Doctor findings (corrupt, deleted, purged PEER keys) yield state_corrupted injuries, once per
(key, revision).

Silence the monitor could not observe is not a verdict: while its own NATS connection is down (then
every service is silent), no service is judged and nothing is healed; when NATS is back every service
gets a fresh window plus `outage_grace_s` (event `nats_restored` with the outage's length). A pass that
comes late (the driver was paused, SIGSTOP) shifts every window by the time lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import errors as js_errors
from pydantic import ValidationError

from swarm.bus.connect import Bus
from swarm.errors import ConfigError
from swarm.models import Heartbeat, Injury
from swarm.tasks import stop_tasks

from .healer import SERVICE_DOWN, STATE_CORRUPTED, Healer
from .publisher import Bloodstream

__all__ = ["HealthMonitor", "ServiceHealth", "StateDoctor", "read_health", "Status"]

log = logging.getLogger("swarm.bloodstream.monitor")

Status = Literal["up", "degraded", "down", "restarting", "stopped"]


class StateDoctor(Protocol):
    """swarm.state.PeerStateStore: `doctor()` returns a report with `findings` (key, revision, problem,
    reason, last_valid_revision)."""

    async def doctor(self) -> Any: ...


@dataclass
class ServiceHealth:
    service: str
    role: str = ""
    status: Status = "up"
    interval_s: float = 5.0
    last_seen: datetime | None = None
    heartbeat: Heartbeat | None = None
    heal_attempts: int = 0
    seen_mono: float = field(default_factory=time.monotonic, repr=False)
    heard: bool = field(default=False, repr=False)  # a live beat reached this monitor (not only a stored one)

    def silent_for(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.seen_mono

    def as_dict(self) -> dict[str, Any]:
        age = round(max(0.0, self.silent_for()), 3)
        return {
            "service": self.service,
            "role": self.role,
            "status": self.status,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "age_s": age,
            "interval_s": self.interval_s,
            "active_investigations": self.heartbeat.active_investigations if self.heartbeat else 0,
            "cpu_percent": self.heartbeat.cpu_percent if self.heartbeat else None,
            "memory_mb": self.heartbeat.memory_mb if self.heartbeat else None,
        }


def _status_of(hb: Heartbeat, age_s: float, missed: int) -> Status:
    if hb.status == "stopping":
        return "stopped"
    if age_s > missed * (hb.interval_s or 5.0):
        return "down"
    return "degraded" if hb.status == "degraded" else "up"


async def read_health(bus: Bus, missed_heartbeats: int = 3) -> list[ServiceHealth]:
    """The last heartbeat of every service from the HEARTBEATS stream (one message per service)."""
    stream = bus.names.heartbeat_stream
    try:
        info = await bus.js.stream_info(stream, subjects_filter=bus.names.heartbeats_all)
    except js_errors.NotFoundError as exc:
        raise ConfigError(
            f"stream {stream} does not exist: provision namespace {bus.names.ns!r} with `swarm streams provision`"
        ) from exc
    rows: list[ServiceHealth] = []
    for subject in sorted(info.state.subjects or {}):
        try:
            msg = await bus.js.get_last_msg(stream, subject)
            hb = Heartbeat.model_validate_json(msg.data or b"")
        except js_errors.NotFoundError:
            continue  # expired between the listing and the read
        except ValidationError as exc:
            log.warning("unreadable heartbeat on %s: %s", subject, exc.errors()[0]["msg"])
            continue
        # the clocks read with each beat: a pause of this process during the reads would otherwise date
        # a beat stored after the pause from before it
        now_wall, now_mono = datetime.now(UTC), time.monotonic()
        seen = msg.time or hb.timestamp  # the server's receive time: one clock for every service
        age = max(0.0, (now_wall - seen).total_seconds())
        rows.append(
            ServiceHealth(
                service=hb.service,
                role=hb.role,
                status=_status_of(hb, age, missed_heartbeats),
                interval_s=hb.interval_s,
                last_seen=seen,
                heartbeat=hb,
                seen_mono=now_mono - age,
            )
        )
    return rows


class HealthMonitor:
    def __init__(
        self,
        bloodstream: Bloodstream,
        *,
        healer: Healer | None = None,
        doctor: StateDoctor | None = None,
        missed_heartbeats: int = 3,
        check_interval_s: float = 1.0,
        doctor_interval_s: float = 30.0,
        auto_heal: bool = True,
        max_heal_attempts: int = 3,
        seed_horizon_s: float = 3600.0,
        outage_grace_s: float = 10.0,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.bloodstream, self.healer, self.doctor = bloodstream, healer, doctor
        self.missed_heartbeats, self.check_interval_s = missed_heartbeats, check_interval_s
        self.doctor_interval_s, self.auto_heal, self.max_heal_attempts = doctor_interval_s, auto_heal, max_heal_attempts
        self.seed_horizon_s, self.outage_grace_s = seed_horizon_s, outage_grace_s
        # whether a service is one the swarm runs now: a stored beat of another (an earlier run's replica that
        # was not scaled up again) is nobody's to heal, and its silence no injury
        self.owns = owns
        self.nats_down_since: float | None = None  # monotonic: NATS unreachable from here since
        self.outages = 0
        self._last_pass: float | None = None
        self.services: dict[str, ServiceHealth] = {}
        self.injuries: deque[Injury] = deque(maxlen=200)
        self.invalid_heartbeats = 0
        self._reported: set[tuple[str, int]] = set()  # doctor findings already injured
        self._sub: Subscription | None = None
        self._loop: asyncio.Task[None] | None = None
        self._heals: set[asyncio.Task[None]] = set()
        self._last_doctor = float("-inf")
        self._seeded = False  # the stored last beats read (`start`, else the first pass NATS answers)

    @classmethod
    def from_config(cls, bloodstream: Bloodstream, cfg: Any, **kwargs: Any) -> HealthMonitor:
        """From a SwarmConfig (or its `bloodstream` section)."""
        section = getattr(cfg, "bloodstream", cfg)
        opts = {
            "missed_heartbeats": section.missed_heartbeats,
            "check_interval_s": section.health_check_interval_s,
            "auto_heal": section.auto_heal,
        }
        for name in ("doctor_interval_s", "outage_grace_s"):
            if hasattr(section, name):
                opts[name] = getattr(section, name)
        return cls(bloodstream, **(opts | kwargs))

    @property
    def bus(self) -> Bus:
        return self.bloodstream.bus

    async def start(self) -> HealthMonitor:
        """Subscribe to live beats, seed the services not heard yet from the stored last beats, start the
        periodic checks (the first one a check interval after start)."""
        # live first: beats that arrive while the stored ones are read (a pause of this process included)
        # are newer than what the stream gives back
        self._sub = await self.bus.nc.subscribe(self.bus.names.heartbeats_all, cb=self._on_heartbeat)
        await self._seed_stored()
        self._last_pass = time.monotonic()  # a pause before the first pass is seen like any other
        self._loop = asyncio.create_task(self._run(), name="health-monitor")
        return self

    async def _seed_stored(self) -> None:
        """Seed from the stored last beats; with NATS unreachable (a restart as the swarm starts), the checks
        try again at each pass: a start is no place to fail on a blip, and live beats need no seed."""
        try:
            await self.bus.nc.flush()  # the subscription is live on the server before the seed
            self.seed(await read_health(self.bus, self.missed_heartbeats))
            self._seeded = True
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("stored heartbeats unreadable (%r): the health checks read them again at the next pass", exc)

    def seed(self, rows: list[ServiceHealth]) -> None:
        """Take the stored last beats of services not heard live yet; a live beat is always the newer."""
        for row in rows:
            # silent for longer than the horizon: long gone (scaled away, replaced), not something to heal now
            if row.service in self.services or row.status == "stopped" or row.silent_for() > self.seed_horizon_s:
                continue
            row.status = "up"  # judged by the first check, so a dead one yields its injury
            self.services[row.service] = row

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):  # the connection may already be closed
                await self._sub.unsubscribe()
            self._sub = None
        await stop_tasks(self._loop, *self._heals)
        self._loop = None

    async def __aenter__(self) -> HealthMonitor:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # heartbeats -------------------------------------------------------------------------------
    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            hb = Heartbeat.model_validate_json(msg.data)
        except ValidationError as exc:
            self.invalid_heartbeats += 1
            log.warning("invalid heartbeat on %s: %s", msg.subject, exc.errors()[0]["msg"])
            return
        self.observe(hb)

    def observe(self, hb: Heartbeat) -> None:
        """Record one heartbeat (called for every live beat)."""
        row = self.services.get(hb.service)
        was = row.status if row else None
        if row is None:
            row = self.services[hb.service] = ServiceHealth(service=hb.service)
        row.role, row.interval_s, row.heartbeat = hb.role, hb.interval_s or row.interval_s, hb
        row.last_seen, row.seen_mono, row.heard = datetime.now(UTC), time.monotonic(), True
        row.status = _status_of(hb, 0.0, self.missed_heartbeats)
        if row.status != "stopped" and was in ("down", "restarting"):
            row.heal_attempts = 0
            self._spawn(self.bloodstream.event("service_recovered", {"service": hb.service, "role": hb.role}))

    # checks -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            # the period first: beats a paused process has waiting on its socket are read before a verdict
            await asyncio.sleep(self.check_interval_s)
            try:
                if not self._seeded:
                    await self._seed_stored()
                await self.check()
                if self.doctor is not None and time.monotonic() - self._last_doctor >= self.doctor_interval_s:
                    await self.check_state()
            except Exception as exc:  # one failed pass (NATS blip) must not end the monitor
                log.warning("health check pass failed: %r", exc)

    @property
    def nats_reachable(self) -> bool:
        return self.nats_down_since is None

    def _observe_gaps(self, now: float) -> bool:
        """Account for time this monitor could not observe; False while NATS is unreachable."""
        if self._last_pass is not None:
            lost = now - self._last_pass - self.check_interval_s
            if lost > max(0.5, self.check_interval_s):  # a late pass (paused process): nobody's silence
                log.warning("health monitor paused for %.1f s: every service gets that time back", lost)
                for row in self.services.values():
                    row.seen_mono += lost
        self._last_pass = now
        nc = self.bus.nc
        if not nc.is_connected:
            if self.nats_down_since is None:
                self.nats_down_since = now
                self.outages += 1
                log.warning("NATS unreachable: service verdicts and healing suspended")
            return False
        if self.nats_down_since is not None:
            down_s = now - self.nats_down_since
            self.nats_down_since = None
            log.warning("NATS back after %.1f s: verdicts resume after %.1f s of grace", down_s, self.outage_grace_s)
            for row in self.services.values():  # a fresh window from now, plus the grace
                row.seen_mono = max(row.seen_mono, now + self.outage_grace_s)
            self._spawn(self.bloodstream.event("nats_restored", {"down_s": round(down_s, 3),
                                                                 "grace_s": self.outage_grace_s}))
        return True

    async def check(self) -> list[Injury]:
        """One pass over the known services; returns the injuries raised."""
        now, raised = time.monotonic(), []
        if not self._observe_gaps(now):
            return raised
        for row in list(self.services.values()):
            if row.status in ("down", "stopped"):
                continue
            silent = row.silent_for(now)
            if silent <= self.missed_heartbeats * (row.interval_s or 5.0):
                continue
            if not row.heard and self.owns is not None and not self.owns(row.service):
                row.status = "stopped"
                log.info("%s: a last beat stored by an earlier run, and no replica of this swarm: not judged",
                         row.service)
                continue
            row.status = "down"
            raised.append(await self._service_down(row, silent))
        return raised

    async def _service_down(self, row: ServiceHealth, silent: float) -> Injury:
        can_heal = self.auto_heal and self.healer is not None and row.heal_attempts < self.max_heal_attempts
        gave_up = self.auto_heal and self.healer is not None and not can_heal
        injury = Injury(
            injury_type=SERVICE_DOWN,
            affected_service=row.service,
            severity="critical" if gave_up else "high",
            recommended_action=(
                f"restart by hand: {row.heal_attempts} automatic restarts did not bring it back"
                if gave_up
                else f"restart the {row.role or 'service'} actor {row.service}"
            ),
            auto_heal=can_heal,
            details={
                "role": row.role,
                "silent_for_s": math.ceil(silent * 1000) / 1000,  # rounded up: never under the limit it broke
                "interval_s": row.interval_s,
                "missed_heartbeats": self.missed_heartbeats,
                "last_seen": row.last_seen.isoformat() if row.last_seen else None,
                "heal_attempts": row.heal_attempts,
            },
        )
        await self._raise(injury)
        if can_heal:
            row.heal_attempts += 1
            self._spawn(self._heal_service(row, injury))
        return injury

    async def _heal_service(self, row: ServiceHealth, injury: Injury) -> None:
        assert self.healer is not None
        if not self.nats_reachable:  # a replacement could not connect either: wait for NATS
            row.heal_attempts = max(0, row.heal_attempts - 1)
            row.status, row.seen_mono = "up", time.monotonic()
            return
        await self.healer.heal(injury)
        if row.status == "down":  # no beat arrived meanwhile: give the restarted actor a fresh window
            row.status, row.seen_mono = "restarting", time.monotonic()

    async def check_state(self) -> list[Injury]:
        """Run the PEER state doctor once; each new finding yields a state_corrupted injury."""
        assert self.doctor is not None
        self._last_doctor = time.monotonic()
        report = await self.doctor.doctor()
        raised = []
        for finding in report.findings:
            ident = (finding.key, int(finding.revision))
            if ident in self._reported:
                continue
            self._reported.add(ident)
            good = finding.last_valid_revision
            injury = Injury(
                injury_type=STATE_CORRUPTED,
                affected_service=self.bus.names.peer_bucket,
                severity="high" if good is not None else "critical",
                recommended_action=(
                    f"restore {finding.key} to revision {good}"
                    if good is not None
                    else f"no valid revision kept: inspect `swarm state history {finding.key}`"
                ),
                auto_heal=self.auto_heal and good is not None,
                details={
                    "key": finding.key,
                    "revision": finding.revision,
                    "problem": finding.problem,
                    "reason": finding.reason,
                    "last_valid_revision": good,
                },
            )
            await self._raise(injury)
            raised.append(injury)
            if injury.auto_heal and self.healer is not None:
                self._spawn(self._heal_state(injury, ident))
        return raised

    async def _heal_state(self, injury: Injury, ident: tuple[str, int]) -> None:
        assert self.healer is not None
        if not await self.healer.heal(injury):
            self._reported.discard(ident)  # still broken on the next doctor run: injured (and healed) again

    async def _raise(self, injury: Injury) -> None:
        log.warning("injury %s: %s %s", injury.injury_type, injury.affected_service, injury.details)
        self.injuries.append(injury)
        await self.bloodstream.injury(injury)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._heals.add(task)
        task.add_done_callback(self._heals.discard)
