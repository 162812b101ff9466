"""Error storms: one error thousands of times. Counters and occurrence counts stay exact with two intake
actors and a redelivered batch; duplicates never scale a pool, distinct reports do."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from swarm.bus.connect import Bus
from swarm.bus.names import ERROR_CONSUMER
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.autoscale import Load
from swarm.runtime.grouping import SignatureIndex
from tests.runtime.test_pipeline import report, results
from tests.runtime.test_resilience import wait_for
from tests.support.bloodstream import stored
from tests.support.runtime import run_until_empty, runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]

REPORTS, SIGNATURES, LOST = 600, 6, 80


async def occurrences(bus: Bus) -> dict[str, int]:
    kv = await bus.js.key_value(bus.names.signature_bucket)
    return {k: json.loads((await kv.get(k)).value)["occurrences"] for k in await kv.keys()}


async def test_storm_counters_are_exact_with_two_intake_actors_and_a_redelivered_batch(bus, settings, tmp_path) -> None:
    sent: Counter[str] = Counter()
    for i in range(REPORTS):
        r = report(i % SIGNATURES)  # no Msg-Id: every copy is stored, like copies outside the dedup window
        await bus.js.publish(bus.names.errors(), r.to_bytes())
        sent[r.signature] += 1
    # an intake that counted a batch and lost its acks: the same reports come back to the swarm
    stream = bus.names.error_stream("default")
    sub = await bus.js.pull_subscribe_bind(ERROR_CONSUMER, stream=stream)
    lost = await sub.fetch(LOST, timeout=5)
    assert len(lost) == LOST
    index = await SignatureIndex(bus.js, bus.names).open()
    groups: dict[str, list] = {}
    for msg in lost:
        groups.setdefault(ErrorReport.model_validate_json(msg.data).signature, []).append(msg)
    opened_here = duplicates_here = 0
    for msgs in groups.values():
        tally = await index.count(ErrorReport.model_validate_json(msgs[0].data),
                                  [(stream, m.metadata.sequence.stream) for m in msgs])
        opened_here += tally.kinds.count("new")
        duplicates_here += tally.kinds.count("duplicate")
    for msg in lost:
        await msg.nak()
    await sub.unsubscribe()

    counters = await run_until_empty(settings, runtime_config(tmp_path, intake={"actors": 2}), timeout_s=600)
    assert await occurrences(bus) == dict(sent)  # each report counted once, the redelivered ones too
    assert opened_here == len(groups) and duplicates_here == LOST - len(groups)
    assert counters == {
        "received": REPORTS - LOST,  # the lost batch was first delivered to the test
        "investigations": SIGNATURES - opened_here,  # the test opened these; the swarm resumed them
        "duplicates": REPORTS - SIGNATURES - duplicates_here,
        "dead_lettered": 0,
        "rejected": 0,
        "results": SIGNATURES,
        "handed_back": 0,
    }
    got = await results(bus)
    assert len(got) == SIGNATURES and {r.signature for r in got} == set(sent)


def test_an_investigation_admitted_between_the_two_load_readings_counts_once() -> None:
    # intake said inv-b waits; by the time the budget actor answered, it had admitted it (CI saw 13 of 12)
    load = Load.of(waiting={"inv-a", "inv-b"}, running=["inv-b", "inv-c"])
    assert (load.waiting, load.running, load.total) == (1, 2, 3)


async def test_a_storm_is_grouped_before_its_investigations_start_and_distinct_reports_never_wait(
    bus, settings, tmp_path
) -> None:
    sent: Counter[str] = Counter()
    for i in range(1500):  # three errors, 500 times each: the first fetch holds all three
        r = report(700 + i % 3)
        await bus.js.publish(bus.names.errors(), r.to_bytes())
        sent[r.signature] += 1
    # a hold long enough that only catching up lets them go, however slow the machine
    cfg = runtime_config(tmp_path, intake={"batch": 16, "max_batch": 64, "open_hold_s": 600})
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=600)
        for i in range(5):  # five distinct errors: nothing to catch up with, none waits
            await publish_report(bus, report(800 + i))
        later = await runtime.until_empty(timeout_s=600)
    finally:
        await runtime.stop()
    assert counters["investigations"] == 3 and counters["duplicates"] == 1497 and counters["results"] == 3
    assert later["investigations"] == 8 and later["results"] == 8
    assert (await occurrences(bus)).items() >= sent.items()
    held = {e["data"]["signature"]: e["data"] for e in await stored(bus, bus.names.event("opening_held"))}
    # each of the storm's investigations started once the backlog left was one fetch or less
    assert set(held) == set(sent)
    assert all(h["released"] == "caught_up" and h["backlog"] <= 64 and h["held_s"] > 0 for h in held.values()), held


async def test_a_storm_on_one_stream_is_not_held_back_by_the_idle_streams_lingering_fetches(
    bus, settings, tmp_path
) -> None:
    for i in range(1200):
        await bus.js.publish(bus.names.errors("production"), report(750 + i % 2, environment="production").to_bytes())
    # three streams, two of them idle, whose fetches wait fetch_timeout_s for a report: they once held the
    # intake's two batch turns, and the storm got one batch per wait (19 batches, over 3 minutes here)
    cfg = runtime_config(tmp_path, intake={"envs": ["default", "staging", "production"], "fetch_timeout_s": 10,
                                           "batch": 16, "max_batch": 64})
    counters = await run_until_empty(settings, cfg, timeout_s=90)
    assert counters["investigations"] == 2 and counters["duplicates"] == 1198 and counters["results"] == 2


async def test_a_burst_of_distinct_reports_beyond_the_slots_is_never_held_for_the_backlog(
    bus, settings, tmp_path
) -> None:
    # a storm opens its one investigation while a backlog is behind it: that opening is held (it starts after
    # the duplicates are grouped); it need not wait for the whole backlog, for it can never be caught up
    for _ in range(30):
        await bus.js.publish(bus.names.errors(), report(999).to_bytes())
    for i in range(60):  # more distinct errors than a fetch, and few slots: the backlog cannot be caught up
        await publish_report(bus, report(1000 + i))
    cfg = runtime_config(tmp_path, intake={"batch": 8, "max_batch": 16, "open_hold_s": 600},
                         budget={"max_concurrent_investigations": 3, "retry_delay_s": 0.2})
    # were they held until the hold ran out, this would take 600 s: the slots running out lets them go
    counters = await run_until_empty(settings, cfg, timeout_s=240)
    assert counters["investigations"] == 61 and counters["results"] == 61
    held = [e["data"] for e in await stored(bus, bus.names.event("opening_held"))]
    assert held and {h["released"] for h in held} <= {"no_slots", "caught_up"}
    assert any(h["released"] == "no_slots" and h["backlog"] > 16 for h in held), held


async def test_duplicates_never_scale_a_pool_and_distinct_reports_do(bus, settings, tmp_path) -> None:
    cfg = runtime_config(
        tmp_path,
        # research long enough that twelve investigations are still there when a tick of a starved machine comes
        {"research": {"sleep_s": 1.0}},
        autoscale={"enabled": True, "interval_s": 0.2, "upscale_delay_s": 0, "downscale_delay_s": 600},
    )
    cfg.roles["research"].target_per_replica = 2
    cfg.roles["research"].max_replicas = 3
    cfg.roles["research"].max_concurrency = 2
    events = await bus.js.subscribe(bus.names.event("pool_scaled"), ordered_consumer=True)
    notices = await bus.js.subscribe(bus.names.comms_general_all, ordered_consumer=True)
    for _ in range(400):  # a storm of one error: one investigation, however long the stream
        await bus.js.publish(bus.names.errors(), report(900).to_bytes())
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=600)
        assert counters["investigations"] == 1 and counters["duplicates"] == 399
        assert runtime.decisions == [] and runtime.sizes()["research"] == 1

        for i in range(12):  # twelve distinct errors: twelve investigations of load
            await publish_report(bus, report(910 + i))
        await runtime.until_empty(timeout_s=600)

        # a decision is recorded (and told) once its pool has scaled; on a loaded machine the new replicas may
        # start after the twelve are answered: stopping then would cancel the tick, record and all
        async def research_scaled() -> bool:
            return max((d.desired for d in runtime.decisions if d.role == "research"), default=0) == 3

        await wait_for(research_scaled, what="the research pool to be scaled to 3 and the decision recorded")
        msg = await events.next_msg(timeout=60)  # published after its record, in the same tick
    finally:
        await runtime.stop()
    research = [d for d in runtime.decisions if d.role == "research"]
    assert research and research[0].desired > research[0].current and max(d.desired for d in research) == 3
    assert all(d.load.total <= 12 for d in runtime.decisions)
    data = json.loads(msg.data)["data"]
    assert data["load"] == data["waiting"] + data["running"] > 0
    assert data["to"] > data["from"]
    notice = json.loads((await notices.next_msg(timeout=5)).data)  # the humans watching are told, too
    assert notice["kind"] == "pool_scaled" and notice["run_id"] == "" and notice["data"] == data
    assert f"**{data['role']}** pool" in notice["content"] and "waiting" in notice["content"]
