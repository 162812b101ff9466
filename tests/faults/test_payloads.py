"""Poison and huge payloads: malformed input is dead-lettered (bounded, under the server's max payload),
valid large reports are investigated, and nothing else is lost."""

from __future__ import annotations

import hashlib
import json

import pytest

from swarm.bench.ledger import Ledger, read_stream
from swarm.bus.connect import Bus
from swarm.bus.provision import load_streams_config, provision
from swarm.models import DeadLetter, ErrorReport
from swarm.reporting.reporter import publish_report
from tests.faults.conftest import fault_config, short_streams
from tests.runtime.test_pipeline import report
from tests.support.runtime import run_until_empty

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(240)]
ENVS = ["default", "production"]


def near_max(bus, fill: str) -> bytes:
    """A malformed report as large as the server lets one be (its max payload, less room for headers)."""
    size = int(bus.nc.max_payload) - 2048
    return (json.dumps({"error": "x", "context": {"file": 1}, "pad": ""})[:-2] + fill * size)[:size].encode()


def web_stack(size: int = 213_000) -> str:
    """A long web stack trace with the encodings the filter decodes (%20, &amp;, \\x41)."""
    frame = ('  File "/srv/app/views.py", line {n}, in render\n    url = "/search?q=a%20b&amp;page={n}"'
             ' + "\\x41\\x42"\n')
    out, n = ["Traceback (most recent call last):\n"], 0
    while sum(map(len, out)) < size:
        out.append(frame.format(n=n))
        n += 1
    return "".join(out) + "ValueError: bad page"


async def test_poison_and_1mb_payloads_are_dead_lettered_bounded_and_the_rest_is_fixed(
    fault_bus, fault_settings, tmp_path
) -> None:
    bus = fault_bus
    subject = bus.names.errors("default")
    huge_text = near_max(bus, "\\\"")  # JSON escaping doubles it: the letter must still fit
    huge_binary = b"\xff\xfe" + bytes(range(256)) * (len(huge_text) // 256 - 1)
    poison = [b"{not json", b'{"error": ""}', b"\x00\x01\x02", huge_text, huge_binary]
    for data in poison:
        await bus.js.publish(subject, data)
    good = [report(900 + i) for i in range(2)]
    for r in good:
        await publish_report(bus, r)
    counters = await run_until_empty(fault_settings, fault_config(tmp_path), timeout_s=150)
    ledger = await Ledger.read(bus, ENVS)
    assert not ledger.problems({r.signature for r in good}, malformed=len(poison)), ledger.problems(
        {r.signature for r in good}, malformed=len(poison))
    assert counters["dead_lettered"] == len(poison) and counters["results"] == len(good)
    letters = {d.payload_sha256: d for d in ledger.dead_letters}
    for data in poison:  # every original is accounted for by size and hash, its prefix kept
        dl = letters[hashlib.sha256(data).hexdigest()]
        assert dl.payload_size == len(data) and dl.error_type == "InvalidInput"
        assert dl.payload_truncated == (len(data) > 64 * 1024)
    raw = await read_stream(bus, bus.names.stream("DEAD_LETTERS"))
    assert max(len(r.data) for r in raw) < bus.nc.max_payload
    assert letters[hashlib.sha256(huge_text).hexdigest()].payload.encode() == huge_text[: 64 * 1024]


async def test_with_dead_letter_objects_the_whole_original_is_kept_in_the_object_store(
    fault_bus, fault_settings, tmp_path
) -> None:
    bus = fault_bus
    huge = near_max(bus, "y")
    await bus.js.publish(bus.names.errors("default"), huge)
    counters = await run_until_empty(fault_settings, fault_config(tmp_path, intake={"dead_letter_objects": True}),
                                     timeout_s=150)
    assert counters["dead_lettered"] == 1
    (raw,) = await read_stream(bus, bus.names.stream("DEAD_LETTERS"))
    dl = DeadLetter.model_validate_json(raw.data)
    bucket, name = dl.payload_object.split("/", 1)
    assert bucket == bus.names.dead_letter_objects
    stored = await (await bus.js.object_store(bucket)).get(name)
    assert stored.data == huge and hashlib.sha256(stored.data).hexdigest() == dl.payload_sha256


async def investigated(settings, tmp_path, r: ErrorReport) -> tuple[dict[str, int], Ledger]:
    """One valid report through a swarm until empty: its counters and ledger (nothing lost, nothing else)."""
    # this fault is the size, not time: the ack wait leaves the filter room to read a large report on a loaded machine
    settings = settings.model_copy(update={"swarm_streams_config": short_streams(tmp_path, ack_wait_s=60)})
    bus = await Bus.connect(settings)
    try:
        await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
        await publish_report(bus, r)
        counters = await run_until_empty(settings, fault_config(tmp_path), timeout_s=150)
        ledger = await Ledger.read(bus, ENVS)
    finally:
        await bus.close()
    assert not ledger.problems({r.signature}), ledger.problems({r.signature})
    assert counters["results"] == 1 and counters["dead_lettered"] == 0, counters
    return counters, ledger


async def test_a_valid_213kb_web_stack_trace_is_investigated_not_dead_lettered(settings, tmp_path) -> None:
    r = ErrorReport(error="ValueError: bad page", stack=web_stack(), service="shop",
                    context={"file": "app/views.py", "line": 12, "function": "render"})
    _, ledger = await investigated(settings, tmp_path, r)
    (result,) = ledger.results[r.signature]
    assert result.status == "fixed", f"{result.status}: {result.error}"


async def test_a_valid_report_near_the_max_payload_gets_a_result_not_a_dead_letter(settings, tmp_path) -> None:
    """A 900 KB message is valid input (under the 1 MB max payload): what swarm keeps about it (its PEER state
    holds the report, the phases' outputs that quote it and the Result) must fit the server too."""
    r = ErrorReport(error="ValueError: " + "A" * 900_000, service="checkout")
    assert len(r.to_bytes()) < 1024 * 1024 - 8192  # what `swarm errors report` publishes as it is
    _, ledger = await investigated(settings, tmp_path, r)
    (result,) = ledger.results[r.signature]
    assert result.status in {"fixed", "no_fix", "failed"}, result
