"""A dead letter stays under the server's max payload whatever the size of the original."""

from __future__ import annotations

import base64
import hashlib
import json

from swarm.models import DeadLetter
from swarm.runtime.settle import requeue_delay_s

LIMIT = 1024 * 1024 - 8192


def test_a_near_1mb_report_becomes_a_bounded_prefix_with_size_and_sha256() -> None:
    # JSON escaping makes this grow: quotes and backslashes double, control characters become \\u00XX
    original = (json.dumps({"message": 'x"\\\x01' * 250_000})).encode()[: 1024 * 1024 - 100]
    dl = DeadLetter.bounded(original, max_bytes=LIMIT, reason="malformed", headers={"h": "v" * 5000})
    assert len(dl.model_dump_json().encode()) <= LIMIT
    assert dl.payload_truncated and dl.payload_size == len(original)
    assert dl.payload_sha256 == hashlib.sha256(original).hexdigest()
    assert original.startswith(dl.payload.encode()) and len(dl.payload) > 1000
    assert len(dl.headers["h"]) == 1024


def test_binary_originals_are_cut_before_base64_and_small_ones_kept_whole() -> None:
    binary = bytes(range(256)) * 4096  # 1 MiB, not utf-8
    dl = DeadLetter.bounded(binary, max_bytes=LIMIT, reason="r")
    assert len(dl.model_dump_json().encode()) <= LIMIT
    assert dl.payload.startswith("b64:") and binary.startswith(base64.b64decode(dl.payload[4:]))
    small = DeadLetter.bounded(b'{"a": 1}', max_bytes=LIMIT, reason="r")
    assert small.payload == '{"a": 1}' and not small.payload_truncated and small.payload_size == 8


def test_a_cut_never_splits_a_utf8_character() -> None:
    text = ("é" * 100_000).encode()
    dl = DeadLetter.bounded(text, max_bytes=LIMIT, prefix_bytes=1001, reason="r")
    assert dl.payload_truncated and set(dl.payload) == {"é"} and len(dl.payload) == 500


def test_requeue_delays_double_from_the_nak_delay_up_to_the_ack_wait() -> None:
    delays = [requeue_delay_s(2.0, n, 600.0) for n in range(1, 11)]
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0] and delays[-1] == 600.0 and max(delays) == 600.0
