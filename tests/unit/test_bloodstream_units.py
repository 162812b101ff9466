"""Bloodstream pieces that need no server: the sqlite outbox, subject patterns, event encoding."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from swarm.bloodstream import Outbox, encode_event
from swarm.bloodstream.cli import resolve_patterns
from swarm.bus.names import Names
from swarm.errors import ConfigError, InvalidInput
from swarm.models import DomainEvent


def _write_in_another_process(directory: str, n: int) -> None:
    box = Outbox(directory, "payments")
    for i in range(n):
        box.put("audit", "payments.hive.audit", f"child-{i}", b"{}", {})
    # no close(): a process that dies without cleaning up must not lose acknowledged rows


def test_outbox_keeps_order_and_survives_the_process_that_wrote_it(tmp_path: Path) -> None:
    box = Outbox(tmp_path, "payments")
    assert box.count() == 0 and not box.path.exists()  # counting does not create the file
    seqs = [box.put("audit", "payments.hive.audit", f"a-{i}", f"{i}".encode(), {"traceparent": "tp"}) for i in range(3)]
    assert seqs == sorted(seqs)
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_write_in_another_process, args=(str(tmp_path), 2))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    box.close()

    reopened = Outbox(tmp_path, "payments")
    items = reopened.peek()
    assert [i.msg_id for i in items] == ["a-0", "a-1", "a-2", "child-0", "child-1"]
    assert items[0].data == b"0" and items[0].headers == {"traceparent": "tp"}
    reopened.failed_attempt(items[0].seq, "TimeoutError()")
    reopened.delete(items[1].seq)
    first, second = reopened.peek(2)
    assert (first.msg_id, first.attempts, first.last_error) == ("a-0", 1, "TimeoutError()")
    assert second.msg_id == "a-2" and reopened.count() == 4
    assert json.loads(json.dumps(first.as_dict()))["bytes"] == 1
    assert Outbox(tmp_path, "other").count() == 0  # one file per namespace
    reopened.close()


def test_an_unusable_outbox_directory_is_a_clear_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot open the bloodstream outbox"):
        Outbox(blocker / "outbox", "payments").put("audit", "s", "id", b"", {})


def test_tail_patterns_are_made_absolute_in_the_namespace() -> None:
    n = Names("payments")
    assert resolve_patterns(n, None) == ["payments.hive.>", "payments.core.>"]
    assert resolve_patterns(n, "hive.events.>") == ["payments.hive.events.>"]
    assert resolve_patterns(n, "payments.hive.audit") == ["payments.hive.audit"]
    assert resolve_patterns(n, "hive.*.v2.>") == ["payments.hive.*.v2.>"]


@pytest.mark.parametrize("bad", ["hive..audit", "hive.>.x", "hive.au*", "hive. audit", "", "hive.>>"])
def test_bad_tail_patterns_are_refused_naming_them(bad: str) -> None:
    with pytest.raises(InvalidInput, match="invalid --subject"):
        resolve_patterns(Names("payments"), bad)


def test_heartbeat_subjects_are_one_token_per_service() -> None:
    n = Names("payments")
    assert n.heartbeat_of("research-0") == "payments.hive.heartbeat.research-0"
    assert n.heartbeat_of("a.b c*>") == "payments.hive.heartbeat.a_b_c__"
    assert n.heartbeats_all == "payments.hive.heartbeat.>"
    assert n.heartbeat_stream == "PAYMENTS_HEARTBEATS" and n.bloodstream_stream == "PAYMENTS_BLOODSTREAM"


def test_event_encoding_stamps_the_subject_version_and_keeps_the_rest() -> None:
    evt = DomainEvent(event_type="review_approved", investigation_id="inv-3", data={"cycle": 2})
    v1, v2 = json.loads(encode_event(evt, 1)), json.loads(encode_event(evt, 2))
    assert (v1["schema_version"], v2["schema_version"]) == (1, 2)
    assert {k: v for k, v in v1.items() if k != "schema_version"} == {
        k: v for k, v in v2.items() if k != "schema_version"
    }
    assert evt.schema_version == 1  # the caller's object is not changed
