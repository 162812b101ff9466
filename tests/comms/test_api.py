"""The comms API on a real uvicorn: runs, paged messages, SSE resumed from Last-Event-ID (Postgres,
then NATS) with no gap and no duplicate, and clear 400s for bad input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.comms.ingest import CommsIngest, ingest_floor
from swarm.comms.publisher import CommsPublisher

from .conftest import serve
from .test_ingest import drain

pytestmark = pytest.mark.timeout(120)


async def sse_events(response: httpx.Response) -> AsyncIterator[dict]:
    """Parse an SSE stream into {"id", "data"} events (comments and retry lines skipped)."""
    event: dict = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in event:
                yield event
            event = {}
        elif line.startswith("id: "):
            event["id"] = int(line[4:])
        elif line.startswith("data: "):
            event["data"] = event.get("data", "") + line[6:]


def strict_json(text: str) -> Any:
    """What the browser's JSON.parse accepts: no NaN, Infinity or -Infinity (Python's json reads them)."""
    def refuse(word: str) -> Any:
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


async def take(events: AsyncIterator[dict], n: int) -> list[dict]:
    out = []
    while len(out) < n:
        event = await anext(events)
        out.append(event | {"data": strict_json(event["data"])})
    return out


async def test_runs_and_paged_messages(bus: Bus, settings: Settings, pg_url: str, tmp_path: Path) -> None:
    says = CommsPublisher(bus, "inv-a", "orchestrator-0", outbox_dir=tmp_path)
    for i in range(5):
        await says.say("plan", f"p{i}")
    await says.say("result", "fixed: the guard was removed")
    await CommsPublisher(bus, "inv-b", "research-0", outbox_dir=tmp_path).say("finding", "looking")
    gated = CommsPublisher(bus, "inv-c", "orchestrator-0", outbox_dir=tmp_path)
    await gated.say("result", "fixed: the express phase's verdict")
    await gated.say("status", "awaiting_approval: the fix waits for `swarm approve` or `swarm reject`")
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    await ingest.close()
    async with serve(settings, pg_url, ingest=False) as base, httpx.AsyncClient(base_url=base) as http:
        runs = (await http.get("/api/agents/runs")).json()["runs"]
        assert [(r["run_id"], r["status"], r["messages"]) for r in runs] == [
            ("inv-c", "awaiting_approval", 2),  # not the verdict before the gate: the run waits
            ("inv-b", "running", 1),
            ("inv-a", "fixed", 6),
        ]
        page1 = (await http.get("/api/agents/runs/inv-a/messages", params={"limit": 4})).json()
        assert [m["content"] for m in page1["messages"]] == ["p0", "p1", "p2", "p3"] and page1["next"]
        page2 = (await http.get("/api/agents/runs/inv-a/messages", params={"limit": 4, "after": page1["next"]})).json()
        assert [m["content"] for m in page2["messages"]] == ["p4", "fixed: the guard was removed"]
        assert page2["next"] is None
        for url, params, needle in [
            ("/api/agents/runs/inv-a/messages", {"limit": "0"}, "limit"),
            ("/api/agents/runs/a.b/messages", {}, "run id"),
            ("/api/agents/events", {}, "runId"),
            ("/api/agents/events", {"runId": "x", "channel": "general"}, "exactly one"),
            ("/api/agents/events", {"channel": "secret"}, "channel=general"),
            ("/api/agents/events", {"runId": "inv-a", "lastEventId": "abc"}, "Last-Event-ID"),
        ]:
            r = await http.get(url, params=params)
            assert r.status_code == 400 and needle in r.json()["error"], (url, params, r.text)


async def test_sse_resumes_from_last_event_id_postgres_then_nats_no_gap_no_duplicate(
    bus: Bus, settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    says = CommsPublisher(bus, "inv-s", "research-0", outbox_dir=tmp_path)
    other = CommsPublisher(bus, "inv-other", "research-1", outbox_dir=tmp_path)
    for i in range(4):  # 1..4 of inv-s, interleaved with another run
        await says.say("finding", f"m{i}")
        await other.say("finding", "noise")
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    await ingest.close()
    floor = await ingest_floor(bus)
    for i in range(4, 6):  # published, not yet in Postgres: only NATS has them
        await says.say("finding", f"m{i}")
    # mark what Postgres holds, to see which side served each event
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE workflow_comms.agent_messages SET content = content || ' (pg)' WHERE namespace = %s",
            (bus.names.ns,))
    async with serve(settings, pg_url, ingest=False) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        first = (await http.get("/api/agents/runs/inv-s/messages")).json()["messages"]
        last_seen = first[1]["id"]  # the client saw m0, m1 and reconnects
        async with http.stream("GET", "/api/agents/events", params={"runId": "inv-s"},
                               headers={"Last-Event-ID": str(last_seen)}) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            events = sse_events(resp)
            got = await take(events, 4)

            async def publish_later() -> None:
                await says.say("finding", "m6")

            task = asyncio.create_task(publish_later())
            got += await take(events, 1)
            await task
    contents = [e["data"]["content"] for e in got]
    assert contents == ["m2 (pg)", "m3 (pg)", "m4", "m5", "m6"]
    ids = [e["id"] for e in got]
    assert ids == sorted(set(ids)) and ids[0] > last_seen and ids[1] <= floor < ids[2]
    assert all(e["data"]["id"] == e["id"] and "<article" in e["data"]["html"] for e in got)


async def test_general_channel_over_sse_and_ingest_in_the_app(
    bus: Bus, settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    from swarm.comms.publisher import notice

    await notice(bus, "paused", "intake paused by ops", outbox_dir=tmp_path)
    async with serve(settings, pg_url, ingest=True) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        async with http.stream("GET", "/api/agents/events", params={"channel": "general"}) as resp:
            events = sse_events(resp)
            (first,) = await take(events, 1)
            await notice(bus, "resumed", "intake resumed", outbox_dir=tmp_path)
            (second,) = await take(events, 1)
        assert [first["data"]["kind"], second["data"]["kind"]] == ["paused", "resumed"]
        for _ in range(100):  # the app's own ingest stores them
            if (await http.get("/api/agents/health")).json()["ingest"]["stored"] == 2:
                break
            await asyncio.sleep(0.05)
        page = await http.get("/agents/general")
        assert page.status_code == 200 and "intake resumed" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_sse_data_is_strict_json_when_a_message_carries_nan_or_infinity(
    bus: Bus, settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    """pydantic reads Python's NaN / Infinity, so an agent's `data` may hold them; json.dumps wrote them as bare
    words, which the page's JSON.parse refuses (the feed stopped there). They are sent as null; the event's html,
    rendered from the message as sent, still says NaN."""
    subject = bus.names.comms_run("inv-n", "finding")
    await bus.publish(subject, b'{"run_id": "inv-n", "sender": "research-0", "content": "loss diverged", '
                               b'"data": {"loss": NaN, "bounds": [-Infinity, Infinity], "step": 3, "lr": 0.5}}')
    await CommsPublisher(bus, "inv-n", "research-0", outbox_dir=tmp_path).say("finding", "after it")
    async with (
        serve(settings, pg_url, ingest=False) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", "/api/agents/events", params={"runId": "inv-n"}) as resp,
    ):
        odd, after = await take(sse_events(resp), 2)
    assert odd["data"]["data"] == {"loss": None, "bounds": [None, None], "step": 3, "lr": 0.5}
    assert odd["data"]["content"] == "loss diverged" and odd["data"]["id"] == odd["id"]
    assert "&quot;loss&quot;: NaN" in odd["data"]["html"] and "-Infinity" in odd["data"]["html"]
    assert after["data"]["content"] == "after it" and after["id"] > odd["id"]
