"""Property: whatever a transform does (valid, invalid, sneaky, or outside its role), the stored
value is always a valid PeerState, and a refused update writes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from swarm.bus.connect import Bus
from swarm.errors import InvalidInput, OwnershipViolation
from swarm.state import ROLE_AREAS, ROLES, PeerState, PeerStateStore, PhaseStatus, Status, changed_areas

PHASES = ("plan", "execute", "express", "review")
BYPASS_FIELDS = ["metadata.status", "metadata.kind", "metadata.occurrences", "phases.plan", "phases.review"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
status_words = st.sampled_from([*Status, *PhaseStatus, "DANCING", "", "planning"])

honest_ops = st.one_of(
    st.tuples(st.just("status"), status_words),
    st.tuples(st.just("phase_status"), st.sampled_from(PHASES), status_words),
    st.tuples(st.just("output"), st.sampled_from(PHASES), json_values),
    st.tuples(st.just("extra"), st.text(max_size=5), json_values),
    st.tuples(st.just("occurrences"), st.integers(min_value=-3, max_value=10**20)),
    st.tuples(st.just("cycle"), st.integers(min_value=-1, max_value=3)),  # an identity change
)
sneaky_ops = st.one_of(  # what assignment validation cannot see
    st.tuples(st.just("output_key"), st.sampled_from(PHASES), json_values),
    st.tuples(st.just("bypass"), st.sampled_from(BYPASS_FIELDS), json_values),
    st.tuples(st.just("backdate"), st.integers(min_value=1, max_value=10**6)),
    st.tuples(st.just("construct"), json_values),  # an unvalidated model with an unknown field
    st.tuples(st.just("not_a_state"), json_values),
)
ops = honest_ops | sneaky_ops
roles = st.sampled_from([*ROLES, "operator", "operator"])  # operator may touch everything: more writes


class TransformBroke(Exception):
    """The transform itself crashed (its own bug): the store must propagate it and write nothing."""


def _transform(steps: list[tuple[Any, ...]]) -> Any:
    def transform(s: PeerState) -> Any:
        try:
            return apply(s)
        except ValidationError:
            raise  # an assignment the model refused: the store turns it into InvalidInput
        except Exception as exc:
            raise TransformBroke(repr(exc)) from exc

    def apply(s: PeerState) -> Any:
        for step in steps:
            kind, *args = step
            if kind == "status":
                s.metadata.status = args[0]
            elif kind == "phase_status":
                s.phase(args[0]).status = args[1]
            elif kind == "output":
                s.phase(args[0]).output = args[1]
            elif kind == "output_key":
                out = s.phase(args[0]).output
                if isinstance(out, dict):
                    out["k"] = args[1]  # in place: no assignment validation
            elif kind == "extra":
                s.metadata.extra[args[0]] = args[1]
            elif kind == "occurrences":
                s.metadata.occurrences = args[0]
            elif kind == "cycle":
                s.metadata.cycle = args[0]
            elif kind == "bypass":
                owner_path, field = args[0].rsplit(".", 1)
                target = s.metadata if owner_path == "metadata" else s.phases
                object.__setattr__(target, field, args[1])  # skips validation entirely
            elif kind == "backdate":
                s.metadata.created_at = s.metadata.updated_at + timedelta(seconds=args[0])
            elif kind == "construct":
                return PeerState.model_construct(metadata=s.metadata, phases=s.phases, surprise=args[0])
            elif kind == "not_a_state":
                return args[0]
        return None

    return transform


@settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(updates=st.lists(st.tuples(roles, st.lists(ops, min_size=1, max_size=3)), min_size=1, max_size=4))
async def test_random_transforms_never_leave_an_invalid_stored_value(bus: Bus, updates: list) -> None:
    store = PeerStateStore(bus)
    state = PeerState.new(f"p{uuid.uuid4().hex[:12]}", "error", 1)
    key, revision = state.key, await store.create(state)
    for role, steps in updates:
        try:
            new, new_rev = await store.update(key, _transform(steps), role)
        except (InvalidInput, OwnershipViolation, TransformBroke):
            assert await store.read(key) == (state, revision)  # refused: nothing written
            continue
        assert changed_areas(state, new) <= ROLE_AREAS[role]
        assert await store.read(key) == (new, new_rev)
        state, revision = new, new_rev
    assert all(h.valid for h in await store.history(key))
    report = await store.doctor(prefix=key)
    assert report.checked == 1 and report.healthy
