"""The swarm's own faults are requeued, never dead-lettered: the boundary map and the last delivery."""

from __future__ import annotations

from collections import Counter

import nats.errors
import ray.exceptions

from swarm.bench.ledger import read_stream
from swarm.bloodstream import Bloodstream
from swarm.bus.names import HDR_REQUEUES
from swarm.errors import Settlement, SwarmUnavailable, TransientError
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.settle import Settler, as_swarm_error
from tests.runtime.test_pipeline import report


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
