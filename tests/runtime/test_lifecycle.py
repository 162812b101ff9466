"""Errors that come back, end to end on real Ray and a real nats-server with the test agents.

One running swarm: an error is investigated and fixed; the same error again (a new release, no deploy
marker, inside the quiet period) is one more occurrence; after `swarm deploy mark` it is a regression
and a second investigation that links the first; back after the quiet period, a third.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.cli import app
from swarm.models import ErrorReport, utcnow
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.grouping import SignatureIndex, investigation_id_for
from swarm.state import PeerStateStore, Status
from tests.support.results import results
from tests.support.runtime import runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]
runner = CliRunner()


def report(release: str) -> ErrorReport:
    return ErrorReport(
        error="KeyError: 'coupon' came back",
        stack='Traceback (most recent call last):\n  File "app/cart.py", line 31, in total\nKeyError',
        service="shop",
        release=release,
        context={"file": "app/cart.py", "line": 31, "function": "total"},
    )


async def events(bus: Bus) -> list[dict]:
    info = await bus.js.stream_info(bus.names.bloodstream_stream, subjects_filter=bus.names.events_all(1))
    count = sum((info.state.subjects or {}).values())
    sub = await bus.js.subscribe(bus.names.events_all(1), ordered_consumer=True)
    try:
        return [json.loads((await sub.next_msg(timeout=5)).data) for _ in range(count)]
    finally:
        await sub.unsubscribe()


async def test_a_fixed_error_back_after_a_deploy_is_a_regression_with_a_linked_investigation(
    bus, settings, cli_env, tmp_path
) -> None:
    config = runtime_config(tmp_path, lifecycle={"quiet_period_s": 3600})
    runtime = SwarmRuntime(settings, config)
    await runtime.start()
    try:
        index = await SignatureIndex(bus.js, bus.names).open()
        first = report("1.0")
        sig, inv1 = first.signature, investigation_id_for(first.signature)
        assert (await publish_report(bus, first)).msg_id.endswith("-1.0")  # the release is in the Msg-Id
        await runtime.until_empty(timeout_s=300)
        entry = await index.get(sig)
        assert entry is not None and entry["status"] == "fixed" and entry["investigation_id"] == inv1
        assert entry["release"] == "1.0"

        # the same error in a new release: stored (new Msg-Id), but no deploy marker, inside the quiet period
        again = await publish_report(bus, report("1.1"))
        assert not again.duplicate
        counters = await runtime.until_empty(timeout_s=300)
        assert counters["investigations"] == 1 and counters["duplicates"] == 1
        assert [r.investigation_id for r in await results(bus)] == [inv1]
        assert (await index.get(sig))["status"] == "fixed"

        # a deploy, then the error again: a regression, investigated anew and linked to the first
        marked = await asyncio.to_thread(
            runner.invoke, app, ["deploy", "mark", "--service", "shop", "--version", "1.2", "--json"])
        assert marked.exit_code == 0, marked.output
        assert json.loads(marked.stdout)["version"] == "1.2"
        await publish_report(bus, report("1.2"))
        counters = await runtime.until_empty(timeout_s=300)
        assert counters["investigations"] == 2 and counters["results"] == 2

        # unseen for longer than the quiet period (the entry says so: two hours ago), then back: new again
        kv = await bus.js.key_value(bus.names.signature_bucket)
        entry = json.loads((await kv.get(sig)).value)
        long_ago = (utcnow() - timedelta(hours=2)).isoformat()
        await kv.put(sig, json.dumps({**entry, "last_seen_at": long_ago}).encode())  # closed after the deploy
        await publish_report(bus, report("1.3"))
        counters = await runtime.until_empty(timeout_s=300)
        assert counters["investigations"] == 3 and counters["results"] == 3
    finally:
        await runtime.stop()
    third = await index.get(sig)
    assert third["generation"] == 3 and third["reopen_reason"] == "quiet" and third["status"] == "fixed"
    assert [h["investigation_id"] for h in third["history"]][-1] == investigation_id_for(sig) + "-2"

    got = await results(bus)
    assert [r.investigation_id for r in got][0] == inv1 and len(got) == 3
    second = got[1]
    assert second.investigation_id != inv1 and second.signature == sig
    assert second.previous_investigation_id == inv1 and second.regression and second.release == "1.2"
    assert got[2].previous_investigation_id == second.investigation_id and got[2].regression
    assert third["occurrences"] == 4
    state, _ = await PeerStateStore(bus).read(bus.names.peer_key("error", second.investigation_id, 1))
    assert state.metadata.status == Status.COMPLETED
    regression = [e for e in await events(bus) if e["event_type"] == "regression"]
    assert [e["data"]["reason"] for e in regression] == ["deploy", "quiet"]
    assert regression[0]["investigation_id"] == second.investigation_id
    assert regression[0]["data"]["previous_investigation_id"] == inv1
    assert regression[0]["data"]["reason"] == "deploy" and regression[0]["data"]["deploy"]["version"] == "1.2"

    # `streams purge --reset-index` forgets the environment's signatures: the error is new again
    purged = await asyncio.to_thread(
        runner.invoke, app, ["streams", "purge", "--env", "default", "--yes", "--reset-index", "--json"])
    assert purged.exit_code == 0, purged.output
    assert json.loads(purged.stdout)["signatures_reset"] == 1
    assert (await index.get(sig))["reset"] is True
    # the next occurrence is a new investigation with a fresh id (never one whose Result already exists)
    back = await index.count(report("1.4"), sources=[(bus.names.stream("ERROR_REPORTS"), 999)])
    assert back.kinds == ["new"] and back.entry["reopen_reason"] == "reset" and back.entry["regression"] is False
    assert back.investigation_id == investigation_id_for(sig) + "-4" and "reset" not in back.entry
    assert back.investigation_id not in {r.investigation_id for r in got}
