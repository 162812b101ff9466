"""Ingest into a real Postgres from a real JetStream: idempotent under redelivery, lossless over a
Postgres restart, invalid payloads dead-lettered; backfill from the outbox in order, without duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from swarm.bus.connect import Bus
from swarm.comms.db import CommsStore, EmbeddedPostgres
from swarm.comms.ingest import CommsIngest, ingest_floor
from swarm.comms.publisher import CommsPublisher, backfill, comms_outbox, notice
from swarm.models import AgentMessage

pytestmark = pytest.mark.timeout(120)


async def drain(ingest: CommsIngest, limit: int = 200) -> None:
    """Step the ingest until the consumer has nothing pending or unacked."""
    for _ in range(limit):
        await ingest.step()
        if await ingest.caught_up():
            return
    raise AssertionError(f"ingest did not catch up: {ingest.counters}")


async def stored(url: str, ns: str) -> list[dict]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT stream_seq, run_id, kind, content, agent_id, role, channel FROM workflow_comms.agent_messages "
            "WHERE namespace = %s ORDER BY stream_seq", (ns,))
        cols = [c.name for c in cur.description or []]
        return [dict(zip(cols, r, strict=True)) for r in await cur.fetchall()]


async def test_messages_are_stored_with_their_run_role_and_channel(bus: Bus, pg_url: str, tmp_path: Path) -> None:
    says = CommsPublisher(bus, "inv-1", "research-0", trace_id="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                          outbox_dir=tmp_path)
    assert await says.say("plan", "two hypotheses") == "published"
    assert await says.say("finding", "**KeyError** at `app.py:12`", {"suspects": 2}) == "published"
    assert await notice(bus, "pool_scaled", "research 1 -> 2", outbox_dir=tmp_path) == "published"
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    rows = await stored(pg_url, bus.names.ns)
    assert [(r["run_id"], r["kind"], r["channel"], r["role"]) for r in rows] == [
        ("inv-1", "plan", "run", "research"),
        ("inv-1", "finding", "run", "research"),
        (None, "pool_scaled", "general", "runtime"),
    ]
    assert ingest.counters.stored == 3 and await ingest_floor(bus) == rows[-1]["stream_seq"]
    page = await CommsStore(pg_url, bus.names.ns).messages("inv-1", after=0, limit=1)
    assert page[0]["trace_id"] == "a" * 32 and page[0]["content"] == "two hypotheses"
    await ingest.close()


async def test_redelivery_stores_nothing_twice(bus: Bus, pg_url: str, tmp_path: Path) -> None:
    says = CommsPublisher(bus, "inv-2", "implement-0", outbox_dir=tmp_path)
    for i in range(5):
        await says.say("tool_call", f"step {i}")
    # a worker stores the batch, then dies before acking: JetStream redelivers every message
    sub = await bus.js.pull_subscribe_bind(durable=bus.names.comms_consumer, stream=bus.names.comms_stream)
    msgs = await sub.fetch(5, timeout=5)
    from swarm.comms.records import message_record

    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        for m in msgs:
            record = message_record(bus.names, m.subject, m.metadata.sequence.stream, m.data)
            assert await CommsStore.insert(conn, record)
    for m in msgs:
        await m.nak()
    await sub.unsubscribe()
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    assert ingest.counters.duplicates == 5 and ingest.counters.stored == 0
    assert [r["content"] for r in await stored(pg_url, bus.names.ns)] == [f"step {i}" for i in range(5)]
    await ingest.close()


async def test_postgres_down_stops_acking_and_resumes_without_loss(
    bus: Bus, postgres: EmbeddedPostgres, pg_url: str, tmp_path: Path
) -> None:
    says = CommsPublisher(bus, "inv-3", "review-0", outbox_dir=tmp_path)
    ingest = CommsIngest(bus, pg_url, max_backoff_s=0.2)
    await says.say("review", "first")
    await drain(ingest)
    postgres.stop()
    try:
        for i in range(4):
            await says.say("review", f"while down {i}")
        assert await ingest.step() == 0 and not ingest.postgres_up
        info = await bus.js.consumer_info(bus.names.comms_stream, bus.names.comms_consumer)
        assert info.num_pending + info.num_ack_pending == 4  # nothing acked while Postgres is down
    finally:
        postgres.start()
    await drain(ingest)
    rows = await stored(pg_url, bus.names.ns)
    assert [r["content"] for r in rows] == ["first"] + [f"while down {i}" for i in range(4)]
    assert ingest.postgres_up and ingest.counters.postgres_errors >= 1
    await ingest.close()


async def test_invalid_payload_is_dead_lettered_with_the_reason(bus: Bus, pg_url: str) -> None:
    await bus.publish(bus.names.comms_run("inv-4", "plan"), b'{"content": "no sender"}')
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    assert ingest.counters.dead_lettered == 1 and await stored(pg_url, bus.names.ns) == []
    dead = bus.names.stream("DEAD_LETTERS")
    sub = await bus.js.pull_subscribe(bus.names.dead("comms"), durable="t-dead", stream=dead)
    (msg,) = await sub.fetch(1, timeout=5)
    letter = json.loads(msg.data)
    assert "sender" in letter["reason"] and letter["source_subject"] == bus.names.comms_run("inv-4", "plan")
    await ingest.close()


async def test_backfill_replays_the_outbox_in_order_without_duplicates(bus: Bus, settings, tmp_path: Path) -> None:
    down = await Bus.connect(settings)
    await down.close()  # an agent whose NATS connection is gone
    says = CommsPublisher(down, "inv-5", "orchestrator-0", outbox_dir=tmp_path)
    assert [await says.say("plan", f"m{i}") for i in range(3)] == ["outboxed"] * 3
    box = comms_outbox(tmp_path, bus.names.ns)
    assert box.count() == 3
    # the first of them did reach JetStream after all (published, then the ack was lost)
    first = AgentMessage.model_validate_json(box.peek(1)[0].data)
    await bus.publish(bus.names.comms_run("inv-5", "plan"), first, msg_id=bus.names.comms_msg_id(first.message_id))
    report = await backfill(bus, box)
    assert (report.replayed, report.duplicates, report.left) == (2, 1, 0)
    again = await backfill(bus, box)
    assert (again.replayed, again.duplicates) == (0, 0)
    sub = await bus.js.subscribe(bus.names.comms_run_all("inv-5"), ordered_consumer=True)
    contents = [json.loads((await sub.next_msg(timeout=5)).data)["content"] for _ in range(3)]
    assert contents == ["m0", "m1", "m2"]
    info = await bus.js.stream_info(bus.names.comms_stream)
    assert info.state.messages == 3
    await sub.unsubscribe()
    box.close()


async def test_a_near_max_payload_message_is_dead_lettered_bounded_with_its_size_and_digest(
    bus: Bus, pg_url: str
) -> None:
    import hashlib

    big = b'{"content": "' + b"x" * (bus.nc.max_payload - 4096) + b'"}'  # no sender: invalid, and near the limit
    await bus.publish(bus.names.comms_run("inv-6", "plan"), big)
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    assert ingest.counters.dead_lettered == 1
    sub = await bus.js.pull_subscribe(bus.names.dead("comms"), durable="t-dead-big",
                                      stream=bus.names.stream("DEAD_LETTERS"))
    (msg,) = await sub.fetch(1, timeout=5)
    letter = json.loads(msg.data)
    assert len(msg.data) < bus.nc.max_payload and letter["payload_truncated"] is True
    assert (letter["payload_size"], letter["payload_sha256"]) == (len(big), hashlib.sha256(big).hexdigest())
    await ingest.close()


async def dead_letters(bus: Bus, durable: str, n: int) -> list[dict]:
    sub = await bus.js.pull_subscribe(bus.names.dead("comms"), durable=durable, stream=bus.names.stream("DEAD_LETTERS"))
    letters = [json.loads(m.data) for m in await sub.fetch(n, timeout=5)]
    await sub.unsubscribe()
    return letters


async def test_nul_characters_are_stored_as_replacement_characters(bus: Bus, pg_url: str) -> None:
    # an error report quoting binary output: the NUL reaches the agents' messages, in text and in data
    says = AgentMessage(run_id="inv-7", sender="research-0", role="re\x00search", kind="finding",
                        content="read b'\x00\x01' at offset 0", data={"raw\x00": ["\x00", {"k": "a\x00b"}], "n": 1})
    await bus.publish(bus.names.comms_run("inv-7", "finding"), says)
    await bus.publish(bus.names.comms_run("inv-7", "plan"), AgentMessage(run_id="inv-7", sender="research-0",
                                                                          kind="plan", content="next"))
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)  # nothing left pending or unacked
    assert (ingest.counters.stored, ingest.counters.dead_lettered) == (2, 0)
    first, second = await CommsStore(pg_url, bus.names.ns).messages("inv-7")
    assert first["content"] == "read b'\ufffd\x01' at offset 0" and first["role"] == "re\ufffdsearch"
    assert first["data"] == {"raw\ufffd": ["\ufffd", {"k": "a\ufffdb"}], "n": 1}
    assert second["content"] == "next"
    await ingest.close()


async def test_a_row_postgres_refuses_is_dead_lettered_and_the_rest_of_its_batch_stored(bus: Bus, pg_url: str) -> None:
    subject = bus.names.comms_run("inv-8", "finding")
    await bus.publish(subject, AgentMessage(run_id="inv-8", sender="review-0", content="before"))
    # valid JSON to pydantic, but JSONB has no NaN: Postgres refuses this one row
    await bus.publish(subject, b'{"run_id": "inv-8", "sender": "review-0", "content": "nan", "data": {"x": NaN}}')
    await bus.publish(subject, AgentMessage(run_id="inv-8", sender="review-0", content="after"))
    ingest = CommsIngest(bus, pg_url)
    await drain(ingest)
    assert (ingest.counters.stored, ingest.counters.dead_lettered) == (2, 1)
    assert [r["content"] for r in await stored(pg_url, bus.names.ns)] == ["before", "after"]
    (letter,) = await dead_letters(bus, "t-dead-nan", 1)
    assert letter["reason"].startswith(f"Postgres refused the message on {subject}: invalid input syntax for type json")
    assert "NaN" in letter["reason"] and letter["source_sequence"] == 2
    await ingest.close()


async def test_comms_ingest_on_the_command_line_says_what_it_stored_when_ctrl_c_stops_it(
    bus: Bus, pg_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`swarm comms ingest` runs until Ctrl-C, then prints its counters: a line of words (it printed a Python
    dict), or the JSON object with --json."""
    import asyncio
    import os
    import signal
    import subprocess

    from tests.support.cli import SWARM

    env = os.environ | cli_env | {"DATABASE_URL": pg_url, "SWARM_HOME": str(tmp_path)}
    says = CommsPublisher(bus, "inv-cli", "research-0", outbox_dir=tmp_path)
    for run, json_out in enumerate((False, True), start=1):
        assert await says.say("plan", f"message {run}") == "published"  # one new message for each run to store
        proc = subprocess.Popen([SWARM, "comms", "ingest", *(["--json"] if json_out else [])], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for _ in range(1200):
                if len(await stored(pg_url, bus.names.ns)) == run or proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        if json_out:
            assert json.loads(out) == {"stored": 1, "duplicates": 0, "dead_lettered": 0, "postgres_errors": 0}, out
        else:
            assert out.strip() == "ingest stopped: stored 1, duplicates 0, dead lettered 0, postgres errors 0", out
