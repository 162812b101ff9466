"""The runtime end to end on real Ray and a real nats-server, with test agents."""

from __future__ import annotations

import json

import pytest

from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from swarm.state import PeerStateStore, PhaseStatus, Status
from tests.support.results import results
from tests.support.runtime import run_until_empty, runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]


def report(i: int, **kw: object) -> ErrorReport:
    return ErrorReport(
        error=f"ValueError: widget {i} is broken beyond repair",
        stack=f'Traceback (most recent call last):\n  File "app/w{i}.py", line {10 + i}, in run\nValueError',
        service="shop",
        context={"file": f"app/w{i}.py", "line": 10 + i, "function": "run"},
        **kw,
    )


async def test_fifty_distinct_reports_give_fifty_completed_investigations(bus, settings, tmp_path) -> None:
    for i in range(50):
        await publish_report(bus, report(i))
    counters = await run_until_empty(settings, runtime_config(tmp_path), timeout_s=600)
    assert counters == {
        "received": 50,
        "investigations": 50,
        "duplicates": 0,
        "dead_lettered": 0,
        "rejected": 0,
        "results": 50,
        "handed_back": 0,
    }
    got = await results(bus)
    assert len(got) == 50 and len({r.investigation_id for r in got}) == 50
    assert {r.status for r in got} == {"fixed"}
    store = PeerStateStore(bus)
    for r in got[:10]:
        state, _ = await store.read(bus.names.peer_key("error", r.investigation_id, 1))
        assert state.metadata.status == Status.COMPLETED
        phases = [state.phase(p) for p in ("plan", "execute", "express", "review")]
        assert all(p.status == PhaseStatus.DONE for p in phases)
        times = [(p.started_at, p.completed_at) for p in phases]
        assert all(a <= b for a, b in times)
        assert all(times[i][1] <= times[i + 1][0] for i in range(3)), "phases ran out of order"
        assert set(state.phases.execute.output["research"]) == {"h0", "h1"}


async def test_copies_of_five_signatures_give_five_investigations_with_occurrences(bus, settings, tmp_path) -> None:
    for i in range(200):
        # no Msg-Id: like a publisher outside the dedup window, every copy is stored
        await bus.js.publish(bus.names.errors(), report(i % 5).to_bytes())
    counters = await run_until_empty(settings, runtime_config(tmp_path), timeout_s=600)
    assert counters["received"] == 200
    assert counters["investigations"] == 5
    assert counters["duplicates"] == 195
    assert counters["results"] == 5
    kv = await bus.js.key_value(bus.names.signature_bucket)
    occurrences = [json.loads((await kv.get(k)).value)["occurrences"] for k in await kv.keys()]
    assert sorted(occurrences) == [40] * 5


async def test_malformed_reports_are_dead_lettered_and_the_rest_processed(bus, settings, tmp_path) -> None:
    await publish_report(bus, report(1))
    await bus.js.publish(bus.names.errors(), b"{not json")
    await bus.js.publish(bus.names.errors(), json.dumps({"stack": "no error field"}).encode())
    await publish_report(bus, report(2))
    counters = await run_until_empty(settings, runtime_config(tmp_path), timeout_s=600)
    assert counters["dead_lettered"] == 2 and counters["results"] == 2
    sub = await bus.js.subscribe(bus.names.dead_all, ordered_consumer=True)
    reasons = []
    for _ in range(2):
        msg = await sub.next_msg(timeout=5)
        reasons.append(json.loads(msg.data))
    await sub.unsubscribe()
    assert any("invalid JSON" in d["reason"] or "json" in d["reason"].lower() for d in reasons)
    assert any("error" in d["reason"] and "Field required" in d["reason"] for d in reasons)
    assert {d["payload"] for d in reasons} == {"{not json", json.dumps({"stack": "no error field"})}


async def test_an_agent_that_raises_gives_a_failed_result_without_redelivery(bus, settings, tmp_path) -> None:
    await publish_report(bus, report(7))
    counters = await run_until_empty(settings, runtime_config(tmp_path, {"implement": {"fail": True}}), timeout_s=600)
    assert counters["results"] == 1 and counters["dead_lettered"] == 0
    (result,) = await results(bus)
    assert result.status == "failed" and "failed on purpose" in (result.error or "")
    info = await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")
    assert info.num_redelivered == 0 and info.num_ack_pending == 0 and info.num_pending == 0
    state, _ = await PeerStateStore(bus).read(bus.names.peer_key("error", result.investigation_id, 1))
    assert state.metadata.status == Status.FAILED
    assert state.phases.execute.status == PhaseStatus.FAILED


async def test_review_requesting_changes_starts_another_cycle_with_feedback(bus, settings, tmp_path) -> None:
    await publish_report(bus, report(3))
    await run_until_empty(
        settings, runtime_config(tmp_path, {"review": {"request_changes_cycles": [1]}}), timeout_s=600
    )
    (result,) = await results(bus)
    assert result.status == "fixed" and result.cycles == 2
    info = await bus.js.stream_info(bus.names.stream("BLOODSTREAM"), subjects_filter=bus.names.events_all(1))
    count = sum((info.state.subjects or {}).values())
    sub = await bus.js.subscribe(bus.names.events_all(1), ordered_consumer=True)
    events = [json.loads((await sub.next_msg(timeout=5)).data)["event_type"] for _ in range(count)]
    await sub.unsubscribe()
    assert events == [
        "investigation_started",
        "fix_committed",
        "review_rejected",
        "fix_committed",
        "review_approved",
        "investigation_completed",
    ], events
    state, _ = await PeerStateStore(bus).read(bus.names.peer_key("error", result.investigation_id, 2))
    assert state.phases.execute.output["implement"]["feedback_seen"] == "cycle 1: add a test"


async def test_a_report_that_names_no_environment_is_of_the_one_its_subject_names(bus, settings, tmp_path) -> None:
    """Another language's client publishes JSON on `{ns}.errors.production` and need not repeat the
    environment; a payload that does name one keeps it."""
    bare = report(5).model_dump(mode="json")
    del bare["environment"]
    await bus.js.publish(bus.names.errors("production"), json.dumps(bare).encode(), headers={"Nats-Msg-Id": "raw-5"})
    named = report(6).model_dump(mode="json") | {"environment": "default"}
    await bus.js.publish(bus.names.errors("production"), json.dumps(named).encode(), headers={"Nats-Msg-Id": "raw-6"})
    counters = await run_until_empty(settings, runtime_config(tmp_path), timeout_s=600)
    assert counters["results"] == 2, counters
    by_signature = {r.signature: r.environment for r in await results(bus)}
    assert by_signature == {report(5).signature: "production", report(6).signature: "default"}
