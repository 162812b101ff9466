"""The swarm's own faults are requeued, never dead-lettered: the boundary map and the last delivery."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import nats.errors
import ray.exceptions

from swarm.bench.ledger import read_stream
from swarm.bloodstream import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.names import HDR_REQUEUES
from swarm.bus.settings import Settings
from swarm.errors import Settlement, SwarmUnavailable, TransientError
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.intake import IntakeActor
from swarm.runtime.settle import Settler, as_swarm_error
from tests.runtime.test_pipeline import report

ROOT = Path(__file__).resolve().parents[2]


def test_nats_trouble_and_dead_or_missing_actors_are_the_swarms_fault() -> None:
    for exc in (nats.errors.ConnectionClosedError(), nats.errors.TimeoutError(), nats.errors.NoServersError(),
                ray.exceptions.ActorDiedError(), ValueError("Failed to look up actor with name 'orchestrator-0'"),
                RuntimeError("role pool 'research' has no replicas")):
        assert isinstance(as_swarm_error(exc), SwarmUnavailable), exc
        assert as_swarm_error(exc).settlement == Settlement.REQUEUE
    for exc in (ValueError("bad value"), KeyError("x"), RuntimeError("boom")):  # the report's own trouble
        assert type(as_swarm_error(exc)) is TransientError, exc


async def test_the_last_delivery_of_a_requeued_report_is_republished_not_dead_lettered(bus, tmp_path) -> None:
    r = report(1400)
    await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    blood = Bloodstream(bus, str(tmp_path / "outbox"))
    index = await SignatureIndex(bus.js, bus.names).open()
    counters: Counter[str] = Counter()
    settler = Settler(bus, blood, index, counters, max_deliver={stream: 3}, nak_delay_s=0.05, actor="t")
    settler.ack_wait_s[stream] = 0.2
    sub = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    await index.count(r, [(stream, 1)])  # the report holds its signature's investigation
    for delivery in (1, 2, 3):
        (msg,) = await sub.fetch(1, timeout=10)
        assert msg.metadata.num_delivered == delivery
        await settler.settle(stream, msg, ray.exceptions.ActorDiedError())
    assert counters["dead_lettered"] == 0
    assert await read_stream(bus, bus.names.stream("DEAD_LETTERS")) == []
    (copy,) = await sub.fetch(1, timeout=10)  # a re-published copy took its place, delivered afresh
    assert copy.metadata.num_delivered == 1 and ErrorReport.model_validate_json(copy.data) == r
    assert copy.metadata.sequence.stream > 1
    # the attempts so far travel with it: its next nak waits longer, not the nak delay again
    assert copy.headers[HDR_REQUEUES] == "3"
    await copy.ack()


class _Intake:
    """IntakeActor's own steps that run a report's work and settle it (on a real Settler and connection)."""

    _guarded, _settle, _count_once = IntakeActor._guarded, IntakeActor._settle, IntakeActor._count_once

    def __init__(self, settler: Settler, counters: Counter[str]) -> None:
        self.settler, self.counters, self.name = settler, counters, "intake-t"
        self.counted: dict[tuple[str, str], None] = {}


async def test_a_result_counts_once_its_reports_ack_is_confirmed_not_before(bus, settings, tmp_path) -> None:
    """An intake that loses its connection (or dies) before a report's ack is confirmed has not counted
    that report's Result: the report comes back and whoever settles it counts it, once in all."""
    r1, r2 = report(1410), report(1411)
    for r in (r1, r2):
        await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    own = await Bus.connect(settings)  # the intake's own connection
    index = await SignatureIndex(own.js, own.names).open()
    counters: Counter[str] = Counter()
    settler = Settler(own, Bloodstream(own, str(tmp_path / "outbox")), index, counters, max_deliver={stream: 3},
                      nak_delay_s=0.05, actor="intake-t")
    intake = _Intake(settler, counters)
    sub = await own.js.pull_subscribe_bind("error-fixer", stream=stream)
    first, second = await sub.fetch(2, timeout=10)

    async def investigated(inv: str) -> str:  # the work's outcome: a Result of `inv` to count
        return inv

    await intake._guarded(stream, first, lambda: investigated("inv-a"), (r1.signature, "inv-a"))
    assert counters["results"] == 1
    await own.close()  # gone before the second report's ack
    await intake._guarded(stream, second, lambda: investigated("inv-b"), (r2.signature, "inv-b"))
    assert counters["results"] == 1, "a Result counted although its report's ack never reached the server"
    info = await bus.js.consumer_info(stream, "error-fixer")
    assert info.num_ack_pending == 1  # it comes back, to be settled and counted by whoever takes it


def _hand_back_and_exit(settings: Settings, tmp_path: Path, max_deliver: int) -> int:
    """Run tests.faults.hand_back_exit: one report handed back, then the process dies at once."""
    env = {**os.environ, "NATS_URL": settings.nats_url or "", "NATS_NAMESPACE": settings.nats_namespace,
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tests.faults.hand_back_exit", str(tmp_path / "outbox"),
                           str(max_deliver)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


async def _settled_within(bus, stream: str, seconds: float) -> bool:
    """Whether the error consumer has nothing ack-pending within `seconds` (its ack wait is 600 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        info = await bus.js.consumer_info(stream, "error-fixer")
        if info.num_ack_pending == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_hand_back_reaches_the_server_before_the_process_dies(bus, settings, tmp_path) -> None:
    """A drain stops the actor right after its hand-backs: a nak still in the client's buffer would die with
    it, and the report would wait out the whole ack wait (600 s) before anyone saw it again."""
    r = report(1401)
    await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    assert _hand_back_and_exit(settings, tmp_path, max_deliver=3) == 1
    sub = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    (again,) = await sub.fetch(1, timeout=20)  # the nak arrived: delivered again at once, not in 600 s
    assert again.metadata.num_delivered == 2 and ErrorReport.model_validate_json(again.data) == r
    await again.ack()


async def test_a_last_delivery_hand_back_reaches_the_server_before_the_process_dies(bus, settings, tmp_path) -> None:
    """On the last delivery the hand-back re-publishes the report and terms the original: the term must
    reach the server too, or the original stays ack-pending for the ack wait beside its copy."""
    r = report(1402)
    await publish_report(bus, r)
    stream = bus.names.error_stream("default")
    index = await SignatureIndex(bus.js, bus.names).open()
    await index.count(r, [(stream, 1)])
    assert _hand_back_and_exit(settings, tmp_path, max_deliver=1) == 1
    assert await _settled_within(bus, stream, 20.0), "the original's term was lost with the process"
    sub = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    (copy,) = await sub.fetch(1, timeout=20)
    assert copy.metadata.sequence.stream > 1 and ErrorReport.model_validate_json(copy.data) == r
    await copy.ack()
