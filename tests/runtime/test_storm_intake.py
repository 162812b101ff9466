"""The storm path of intake, piece by piece against the real nats-server: the bulk pull fetch answers as
nats-py's fetch does (order, sizes, statuses, the idle wait), `duplicate_grouped` events gather a
signature's batches without losing a count, and a batch's signatures share one deploy-marker read
that never misses a marker stored before the batch was fetched."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import FetchTimeoutError

from swarm.bloodstream import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.fetch import fetch
from swarm.bus.names import ERROR_CONSUMER
from swarm.models import DeployMarker
from swarm.runtime.grouped import GroupedEvents
from swarm.runtime.lifecycle import DeployMarkers
from tests.support.bloodstream import stored

pytestmark = pytest.mark.timeout(120)


async def _publish(bus: Bus, n: int, start: int = 0) -> None:
    await asyncio.gather(*(bus.js.publish(bus.names.errors(), f"r{i}".encode()) for i in range(start, start + n)))


async def test_a_backlog_is_fetched_in_stream_order_in_batches_of_the_size_asked(bus: Bus) -> None:
    await _publish(bus, 300)
    sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=bus.names.error_stream("default"))
    first = await fetch(sub, 256, timeout=5)
    rest = await fetch(sub, 256, timeout=5)  # fewer than asked: what there is (the server's 404 ends it)
    got = first + rest
    assert [len(first), len(rest)] == [256, 44]
    assert [m.data for m in got] == [f"r{i}".encode() for i in range(300)]
    assert [m.metadata.sequence.stream for m in got] == list(range(1, 301))
    for m in got[:-1]:
        await m.ack()
    await got[-1].ack_sync()
    with pytest.raises((NatsTimeout, FetchTimeoutError, TimeoutError)):  # nothing left: as nats-py's fetch
        await fetch(sub, 64, timeout=0.3)
    assert sub._sub._pending_size == 0  # the subscription's books stay right: no bytes held in the client
    # the expired wait's late status (408) is still queued: the next fetch drops it and takes what is new
    await _publish(bus, 5, start=300)
    assert [m.data for m in await fetch(sub, 16, timeout=5)] == [f"r{i}".encode() for i in range(300, 305)]


async def test_an_idle_fetch_waits_for_the_next_report(bus: Bus) -> None:
    sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=bus.names.error_stream("default"))
    waiting = asyncio.create_task(fetch(sub, 16, timeout=10))
    await asyncio.sleep(0.2)  # the fetch is parked on an empty consumer (not a readiness wait: the point)
    assert not waiting.done()
    await _publish(bus, 3)
    got = await asyncio.wait_for(waiting, 10)
    assert 1 <= len(got) <= 3 and got[0].data == b"r0"
    more = [] if len(got) == 3 else await fetch(sub, 16, timeout=5)
    assert [m.data for m in got + more] == [b"r0", b"r1", b"r2"]


async def test_grouped_events_sum_a_signatures_batches_and_flush_loses_nothing(bus: Bus, tmp_path: Path) -> None:
    blood = Bloodstream(bus, tmp_path / "outbox")
    events = GroupedEvents(lambda: blood, every_s=60)  # only the explicit flush emits in this test
    events.add("sig-a", "inv-a", occurrences=101, counted=100)
    events.add("sig-b", "inv-b", occurrences=11, counted=10)
    events.add("sig-a", "inv-a", occurrences=356, counted=255)
    await events.flush()
    await blood.settled(timeout_s=10)
    got = {e["data"]["signature"]: e for e in await stored(bus, bus.names.event("duplicate_grouped", 1))}
    assert {s: (e["data"]["counted"], e["data"]["occurrences"], e["data"]["batches"], e["investigation_id"])
            for s, e in got.items()} == {"sig-a": (355, 356, 2, "inv-a"), "sig-b": (10, 11, 1, "inv-b")}
    # on its own timer too: a batch added later is told once the period is over
    quick = GroupedEvents(lambda: blood, every_s=0.05)
    quick.add("sig-c", "inv-c", occurrences=3, counted=2)
    deadline = time.monotonic() + 10
    while len(got := await stored(bus, bus.names.event("duplicate_grouped", 1))) < 3:
        assert time.monotonic() < deadline, "the timed flush never came"
        await asyncio.sleep(0.05)
    assert got[-1]["data"] == {"signature": "sig-c", "occurrences": 3, "counted": 2, "batches": 1}


async def test_a_batch_shares_one_marker_read_that_never_predates_its_fetch(bus: Bus) -> None:
    markers = await DeployMarkers(bus.js, bus.names).open()
    fetched = time.monotonic()
    assert await markers.latest("shop", "production", fresh_since=fetched) is None
    assert await markers.latest("shop", "production", fresh_since=fetched) is None  # the same read, shared
    assert len(markers._reads) == 1
    await markers.mark(DeployMarker(service="shop", version="2.0", environment="production"))
    # a batch fetched after the marker was stored reads again: the marker is seen
    seen = await markers.latest("shop", "production", fresh_since=time.monotonic())
    assert seen is not None and seen.version == "2.0"
    # the service-wide marker applies too, the newer one wins
    await markers.mark(DeployMarker(service="shop", version="2.1"))
    seen = await markers.latest("shop", "production", fresh_since=time.monotonic())
    assert seen is not None and seen.version == "2.1"
    assert (await markers.latest("shop", "production")).version == "2.1"  # no batch: a plain read
