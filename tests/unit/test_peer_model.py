"""PeerState model, key parsing, ownership rules and the CLI's --set / --jq parsing (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from swarm.errors import InvalidInput, OwnershipViolation
from swarm.state import ROLE_AREAS, PeerState, PhaseStatus, Status, changed_areas, check_ownership, parse_key
from swarm.state.cli import apply_sets, compile_jq, parse_sets
from swarm.state.model import AREAS


def _touch(state: PeerState, area: str) -> PeerState:
    """A copy of `state` with exactly `area` changed."""
    new = state.model_copy(deep=True)
    if area == "schema_version":
        new.schema_version = 2
    elif area == "metadata":
        new.metadata.occurrences += 1
    else:
        new.phase(area.split(".")[1]).status = PhaseStatus.RUNNING
    return new


def test_new_state_has_key_defaults_and_runtime_fields() -> None:
    lease = datetime.now(UTC) + timedelta(minutes=5)
    s = PeerState.new("inv-7", "error", 2, signature="ab", service="api", owner="orch-1", lease_expires_at=lease)
    assert s.key == "peer.error.inv-7.cycle.2"
    assert s.metadata.status is Status.NEW and s.metadata.owner == "orch-1"
    assert s.metadata.lease_expires_at == lease
    assert all(s.phase(p).status is PhaseStatus.PENDING for p in ("plan", "execute", "express", "review"))
    assert PeerState.model_validate_json(s.to_bytes()) == s


@pytest.mark.parametrize(
    "bad",
    [
        {"metadata": {"investigation_id": "inv", "kind": "error", "cycle": 1, "stauts": "NEW"}},  # unknown field
        {"metadata": {"investigation_id": "in v", "kind": "error", "cycle": 1}},  # not a key token
        {"metadata": {"investigation_id": "inv", "kind": "error", "cycle": 0}},  # cycles start at 1
        {"metadata": {"investigation_id": "inv", "kind": "error", "cycle": 1, "status": "DANCING"}},
        {"metadata": {"investigation_id": "inv", "kind": "error"}},  # missing cycle
    ],
)
def test_invalid_states_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        PeerState.model_validate(bad)


def test_updated_before_created_is_invalid() -> None:
    s = PeerState.new("inv")
    data = s.model_dump(mode="json")
    data["metadata"]["updated_at"] = (s.metadata.created_at - timedelta(seconds=1)).isoformat()
    with pytest.raises(ValidationError, match="updated_at"):
        PeerState.model_validate(data)


def test_assignment_is_validated() -> None:
    s = PeerState.new("inv")
    with pytest.raises(ValidationError):
        s.metadata.status = "DANCING"  # type: ignore[assignment]


@pytest.mark.parametrize(
    "key", ["peer.error.inv", "state.error.inv.cycle.1", "peer.error.inv.cycle.x", "peer.error.inv.round.1"]
)
def test_parse_key_rejects_malformed_keys(key: str) -> None:
    with pytest.raises(InvalidInput, match="invalid PEER key"):
        parse_key(key)


def test_parse_key_roundtrip() -> None:
    assert parse_key("peer.error.inv-1.cycle.3") == ("error", "inv-1", 3)


@pytest.mark.parametrize("role", sorted(ROLE_AREAS))
@pytest.mark.parametrize("area", AREAS)
def test_ownership_matrix(role: str, area: str) -> None:
    before = PeerState.new("inv")
    after = _touch(before, area)
    assert changed_areas(before, after) == {area}
    expected_allowed = {
        "orchestrator": {"metadata", "phases.plan", "phases.express"},
        "research": {"metadata", "phases.execute"},
        "implement": {"metadata", "phases.execute"},
        "review": {"metadata", "phases.review"},
        "operator": set(AREAS),
    }[role]
    if area in expected_allowed:
        assert check_ownership(role, before, after) == {area}
    else:
        with pytest.raises(OwnershipViolation, match=f"role '{role}' may not change {area}"):
            check_ownership(role, before, after)


def test_unknown_role_is_invalid_input() -> None:
    s = PeerState.new("inv")
    with pytest.raises(InvalidInput, match="unknown role 'intern'"):
        check_ownership("intern", s, s)


def test_set_paths_into_fields_and_free_json() -> None:
    data = PeerState.new("inv").model_dump(mode="json")
    sets = parse_sets(['metadata.status="PLANNING"', "phases.plan.output.steps=[1, 2]", 'metadata.extra.k={"a":1}'])
    out = PeerState.model_validate(apply_sets(data, sets))
    assert out.metadata.status is Status.PLANNING
    assert out.phases.plan.output == {"steps": [1, 2]}
    assert out.metadata.extra == {"k": {"a": 1}}
    out2 = PeerState.model_validate(
        apply_sets(out.model_dump(mode="json"), parse_sets(["phases.plan.output.steps.1=9"]))
    )
    assert out2.phases.plan.output == {"steps": [1, 9]}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("metadata.status=PLANNING", "invalid JSON in --set"),
        ("metadata.status", "expected PATH=JSON"),
        ("=1", "expected PATH=JSON"),
        ("metadata..status=1", "expected PATH=JSON"),
    ],
)
def test_bad_set_syntax(item: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_sets([item])


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ('metadata.stauts="X"', "no field 'stauts' in metadata"),
        ("phases.design.status=1", "no field 'design' in phases"),
        ("metadata.cycle.x=1", "metadata.cycle is a int"),
        ("phases.plan.output.steps.5=1", "not an index"),
    ],
)
def test_bad_set_paths(item: str, message: str) -> None:
    data = PeerState.new("inv").model_dump(mode="json")
    data["phases"]["plan"]["output"] = {"steps": [1]}
    with pytest.raises(InvalidInput, match=message):
        apply_sets(data, parse_sets([item]))


def test_invalid_jq_filter_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"invalid jq filter '\.metadata \|\|\|'"):
        compile_jq(".metadata |||")
