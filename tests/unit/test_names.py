import re

import pytest

from swarm.bus.names import Names
from swarm.bus.settings import Settings


def test_wire_names_follow_design_table() -> None:
    n = Names("Payments")
    assert n.ns == "payments" and n.NS == "PAYMENTS"
    assert n.errors() == "payments.errors"
    assert n.errors("production") == "payments.errors.production"
    assert n.error_stream("staging") == "PAYMENTS_STAGING_ERRORS"
    assert n.peer_bucket == "PAYMENTS_PEER_STATE"
    assert n.result("fixed", "inv-1") == "payments.results.fixed.inv-1"
    assert n.event("investigation_started") == "payments.hive.events.v1.investigation_started"
    assert n.brain_dead == "payments.core.brain_dead"
    assert n.comms_run("r1", "plan") == "payments.workflow.run.r1.plan"
    assert n.msg_id("staging", "abc") == "payments-staging-abc"
    assert Names.peer_key("error", "inv-1", 2) == "peer.error.inv-1.cycle.2"


@pytest.mark.parametrize("bad", ["a.b", "a b", "a*", "a>", "", "ünï"])
def test_invalid_namespace_is_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid namespace"):
        Names(bad)
    with pytest.raises(ValueError, match=re.escape(f"invalid namespace {bad!r}")):
        Settings(nats_namespace=bad, _env_file=None)


def test_a_namespace_is_at_most_64_characters_and_read_in_lower_case() -> None:
    """A 240-character namespace got two streams provisioned before JetStream refused a longer name."""
    assert Names("a" * 64).ns == "a" * 64 and Settings(nats_namespace="Payments", _env_file=None).nats_namespace == \
        "payments"
    with pytest.raises(ValueError, match="65 characters, 64 at most"):
        Settings(nats_namespace="a" * 65, _env_file=None)
    with pytest.raises(ValueError, match="240 characters, 64 at most"):
        Names("a" * 240)


def test_an_empty_swarm_nats_auth_is_unset_not_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARM_NATS_AUTH", "")
    assert Settings(_env_file=None).swarm_nats_auth is None


def test_a_line_number_fits_a_32_bit_integer() -> None:
    from pydantic import ValidationError

    from swarm.models import ErrorReport

    assert ErrorReport(error="x", context={"line": 2**31 - 1}).context.line == 2**31 - 1
    with pytest.raises(ValidationError, match="less than or equal to 2147483647"):
        ErrorReport(error="x", context={"line": 99999999999999999999999})


def test_unknown_env_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment 'qa'"):
        Names("x").errors("qa")


def test_subject_tokens_are_checked() -> None:
    with pytest.raises(ValueError, match="investigation id"):
        Names("x").investigation_status("a.b")


def test_a_subject_lower_cased_in_a_server_error_gets_its_wire_case_back() -> None:
    """nats-py lower-cases a permissions violation's text: a refusal names the subject as the grants spell it."""
    from swarm.bus.names import JetStreamApi, restore_case

    n = Names("alpha")
    for wire in (JetStreamApi.stream("MSG.GET", n.error_stream("production")), *JetStreamApi.direct_get(n.peer_bucket),
                 JetStreamApi.ephemeral_consumer(n.stream("RESULTS")), JetStreamApi.STREAM_NAMES, JetStreamApi.INFO,
                 f"$JS.API.CONSUMER.MSG.NEXT.{n.error_stream('staging')}.error-fixer",
                 f"$KV.{n.deploy_bucket}.api.production", f"$O.{n.stream('LETTERS')}.chunk",
                 n.result("fixed", "inv-1"), n.errors("production")):
        assert restore_case(wire.lower()) == wire, wire
