"""Wire payloads: one model each, JSON round trips, validation naming the field, exported schemas agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from swarm.bus.cli import export_schemas
from swarm.models import PAYLOADS, DeadLetter, ErrorReport, Payload, SecurityRejection
from swarm.signature import signature

# one realistic instance of every payload, as a publisher in another language would send it
SAMPLES: dict[str, dict[str, Any]] = {
    "ErrorReport": {
        "error": "KeyError: 'user_id'",
        "stack": "Traceback ...",
        "environment": "production",
        "service": "accounts",
        "context": {"file": "app/api.py", "line": 42, "function": "get", "request_id": "r-1", "tenant": "acme"},
    },
    "Task": {"kind": "research", "investigation_id": "inv-1", "payload": {"hypothesis": "nil user"}},
    "DeployMarker": {"service": "accounts", "version": "1.4.2", "environment": "production", "by": "ci"},
    "InvestigationStatus": {"investigation_id": "inv-1", "signature": "ab" * 32, "status": "running", "phase": "plan"},
    "Result": {
        "investigation_id": "inv-1",
        "signature": "ab" * 32,
        "status": "fixed",
        "branch": "swarm/fix/inv-1",
        "tests_after": {"passed": 12, "failed": 0, "ok": True},
    },
    "DeadLetter": {"reason": "not JSON", "source_subject": "p.errors", "payload": "{oops"},
    "SecurityRejection": {"reason": "instruction override", "rule_ids": ["override-1"], "excerpt": "ignore all"},
    "Heartbeat": {"service": "intake-0", "role": "intake", "status": "ok"},
    "Audit": {"actor": "review", "action": "tests_run", "target": "swarm/fix/inv-1"},
    "Injury": {"injury_type": "missed_heartbeats", "affected_service": "research-1", "severity": "high"},
    "DomainEvent": {"event_type": "investigation_started", "investigation_id": "inv-1"},
    "BrainDead": {"brain": "claude", "reason": "HTTP 529 overloaded", "attempts": 3, "fallback": "offline"},
    "AgentMessage": {"run_id": "run-1", "sender": "orchestrator", "kind": "plan", "content": "look at users.py"},
}


def test_every_payload_of_the_design_flow_has_one_model() -> None:
    assert set(PAYLOADS) == set(SAMPLES)
    assert all(issubclass(m, Payload) for m in PAYLOADS.values())


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_json_round_trip_is_lossless(name: str) -> None:
    model = PAYLOADS[name].model_validate(SAMPLES[name])
    again = PAYLOADS[name].model_validate_json(model.to_bytes())
    assert again == model and again.schema_version == 1


def test_error_report_keeps_free_context_and_its_signature_ignores_the_time() -> None:
    a = ErrorReport.model_validate(SAMPLES["ErrorReport"])
    b = ErrorReport.model_validate(SAMPLES["ErrorReport"] | {"timestamp": datetime(2020, 1, 1, tzinfo=UTC)})
    assert a.context.model_extra == {"tenant": "acme"}
    assert a.signature == b.signature == signature("KeyError: 'user_id'", "app/api.py", 42)
    assert ErrorReport(error="x").environment == "default" and ErrorReport(error="x").service == "unknown"
    assert a.texts()["context.tenant"] == "acme" and a.texts()["context.line"] == "42"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"error": ""}, "error"),
        ({"environment": "qa"}, "environment"),
        ({"context": {"line": -1}}, "context.line"),
        ({"timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_an_invalid_error_report_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ErrorReport.model_validate(SAMPLES["ErrorReport"] | change)
    assert [".".join(map(str, e["loc"])) for e in info.value.errors()] == [field]


def test_untrusted_excerpts_are_cut_and_binary_payloads_survive() -> None:
    assert len(SecurityRejection(reason="r", excerpt="x" * 500).excerpt) == 100
    assert DeadLetter.encode_payload(b"\xff\x00bin") == "b64:/wBiaW4="
    assert DeadLetter.encode_payload('{"ok": "é"}'.encode()) == '{"ok": "é"}'


def test_exported_schemas_accept_what_the_models_accept(tmp_path: Path) -> None:
    paths = {p.name: p for p in export_schemas(tmp_path)}
    for name, sample in SAMPLES.items():
        schema = json.loads(paths[f"{name}.schema.json"].read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        wire = json.loads(PAYLOADS[name].model_validate(sample).to_bytes())
        jsonschema.validate(sample, schema)  # what a foreign publisher writes
        jsonschema.validate(wire, schema)  # what swarm itself publishes
    required = json.loads(paths["ErrorReport.schema.json"].read_text())["required"]
    assert required == ["error"]
