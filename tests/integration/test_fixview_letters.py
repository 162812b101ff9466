"""`swarm fixes list`'s dead letters against a real nats-server: a signature dead-lettered after it was
claimed says why, a malformed report is a row of its own."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.cli import app
from swarm.models import DeadLetter, ErrorReport
from swarm.runtime.grouping import SignatureIndex


@pytest.mark.usefixtures("cli_env")
async def test_a_claimed_signature_that_was_dead_lettered_says_why_and_a_malformed_report_is_a_row(bus: Bus) -> None:
    report = ErrorReport(error="ValueError: " + "A" * 300, service="checkout")
    stream = bus.names.error_stream("default")
    index = await SignatureIndex(bus.js, bus.names).open()
    await index.count(report, [(stream, 7)])  # the report of sequence 7 opened its signature
    await index.mark_dead_lettered(report.signature, (stream, 7))
    letters = [
        DeadLetter(reason="gave up after 3 deliveries: MaxPayloadError: nats: maximum payload exceeded",
                   error_type="TransientError", source_stream=stream, source_sequence=7,
                   payload=report.to_bytes().decode()),
        DeadLetter(reason="invalid ErrorReport: error: Field required", source_stream=stream, source_sequence=9,
                   payload='{"service": "checkout"}'),
    ]
    for i, letter in enumerate(letters):
        await bus.publish(bus.names.dead("errors"), letter, msg_id=f"letter-{i}")
    out = await asyncio.to_thread(CliRunner().invoke, app, ["fixes", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["signature"]: r for r in json.loads(out.stdout)}
    held = rows[report.signature]
    assert held["status"] == "dead_lettered", held
    assert held["dead_letter"]["reason"].startswith("gave up after 3 deliveries: MaxPayloadError"), held
    assert held["dead_letter"]["error_type"] == "TransientError" and held["dead_letter"]["source"] == f"{stream}#7"
    malformed = rows[None]
    assert malformed["dead_letter"]["reason"] == "invalid ErrorReport: error: Field required", malformed
    assert malformed["dead_letter"]["source"] == f"{stream}#9" and len(rows) == 2
