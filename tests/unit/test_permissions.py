"""Role grants: least privilege derived from the wire names and the streams configuration."""

from __future__ import annotations

import pytest

from swarm.bus.names import Names
from swarm.bus.permissions import ROLES, allows, auth_role, covers, role_grants
from swarm.bus.provision import load_streams_config
from swarm.bus.settings import DEFAULT_CONFIG_DIR
from swarm.errors import ConfigError

CFG = load_streams_config(DEFAULT_CONFIG_DIR / "streams.yaml")
N = Names("payments")


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("a.*", "a.b", True), ("a.*", "a.b.c", False), ("a.>", "a.b.c", True), ("a.>", "a", False),
        ("a.>", "a.>", True), ("a.b.>", "a.>", False), ("a.*", "a.*", True), ("a.b", "a.*", False),
        ("a.*.c", "a.*.c", True), (">", "x.y", True), ("a.*", "a.>", False),
    ],
)
def test_covers_follows_nats_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert covers(pattern, subject) is expected


def test_no_role_gets_a_jetstream_api_wildcard_and_every_api_grant_names_a_stream_of_the_namespace() -> None:
    streams = ({N.stream(s.name) for s in CFG.streams} | {f"KV_{N.stream(kv.name)}" for kv in CFG.kv}
               | {f"OBJ_{N.dead_letter_objects}"})  # the dead letters' object store (intake creates it)
    account_wide = {"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST"}
    for role in ROLES:
        for subject in role_grants(N, CFG, role).publish:
            assert not covers(subject, "$JS.API.STREAM.DELETE.OTHER_STREAM"), (role, subject)
            if subject.startswith("$JS.API.") and subject not in account_wide:
                assert any(f".{s}" in subject for s in streams), (role, subject)


def test_least_privilege_where_it_matters() -> None:
    grants = {role: role_grants(N, CFG, role) for role in ROLES}
    assert set(grants["reporter"].publish) == set(N.errors_all)
    assert grants["reporter"].subscribe == ("_INBOX.reporter.>",)
    forged = N.result("fixed", "inv-1")
    assert [r for r in ROLES if allows(grants[r].publish, forged)] == ["orchestrator"]
    assert [r for r in ROLES if allows(grants[r].publish, N.errors("production"))] == ["reporter", "intake"]
    delete = f"$JS.API.STREAM.DELETE.{N.error_stream('production')}"
    assert [r for r in ROLES if allows(grants[r].publish, delete)] == ["admin"]
    purge = f"$JS.API.STREAM.PURGE.{N.error_stream('staging')}"
    assert [r for r in ROLES if allows(grants[r].publish, purge)] == ["operator", "admin"]
    peer = f"$KV.{N.peer_bucket}.{N.peer_key('error', 'inv-1', 1)}"
    assert [r for r in ROLES if allows(grants[r].publish, peer)] == ["orchestrator", "agent", "monitor", "operator"]
    assert not allows(grants["agent"].publish, N.heartbeat) and allows(grants["agent"].publish, N.heartbeat_of("r-0"))
    # a person's decision is audited (`swarm fixes release`), and the application may not forge one
    assert allows(grants["operator"].publish, N.audit) and not allows(grants["reporter"].publish, N.audit)
    signatures = f"$KV.{N.signature_bucket}.{'a' * 64}"  # the release's write
    assert [r for r in ROLES if allows(grants[r].publish, signatures)] == ["intake", "monitor", "operator"]


def test_grants_follow_the_streams_configuration() -> None:
    renamed = CFG.model_copy(deep=True)
    next(s for s in renamed.streams if s.name == "RESULTS").name = "RESULTS_V2"
    admin, comms = role_grants(N, renamed, "admin").publish, role_grants(N, renamed, "comms").publish
    assert "$JS.API.STREAM.CREATE.PAYMENTS_RESULTS_V2" in admin
    assert "$JS.API.STREAM.CREATE.PAYMENTS_RESULTS" not in admin
    assert "$JS.API.STREAM.MSG.GET.PAYMENTS_RESULTS_V2" in comms  # the stream found by the subject it stores


def test_runtime_roles_map_to_auth_roles_and_unknown_roles_are_refused() -> None:
    assert [auth_role(r) for r in ("intake", "orchestrator", "research", "implement", "review", "driver")] == [
        "intake", "orchestrator", "agent", "agent", "agent", "monitor"]
    with pytest.raises(ConfigError, match="unknown role 'root'"):
        role_grants(N, CFG, "root")
