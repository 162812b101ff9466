"""Phase calls made in one turn (an investigation's research fan-out) go as one actor call per replica
(`handle_phases`), and what their phases raise crosses back as what it is: an agent failure gives a
failed Result (execute FAILED, the sibling finished first), a transient failure is retried by
redelivery and ends fixed. Real Ray, nats-server."""

from __future__ import annotations

import pytest

from swarm.reporting.reporter import publish_report
from swarm.state import PeerStateStore, PhaseStatus, Status
from tests.runtime.test_pipeline import report, results
from tests.support.runtime import run_until_empty, runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]


async def test_a_research_failure_in_the_fan_out_gives_a_failed_result(bus, settings, tmp_path) -> None:
    await publish_report(bus, report(41))
    cfg = runtime_config(tmp_path, {"research": {"fail": True}})
    cfg.roles["research"].min_replicas = 2  # two replicas: one investigation's fan-out still goes to one
    counters = await run_until_empty(settings, cfg, timeout_s=300)
    assert counters["results"] == 1 and counters["dead_lettered"] == 0
    (result,) = await results(bus)
    assert result.status == "failed" and "research agent failed on purpose" in (result.error or "")
    state, _ = await PeerStateStore(bus).read(bus.names.peer_key("error", result.investigation_id, 1))
    assert state.metadata.status == Status.FAILED and state.phases.execute.status == PhaseStatus.FAILED
    owners = {state.phases.execute.owner}
    assert len(owners) == 1 and next(iter(owners)).startswith("research-")
    info = await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")
    assert info.delivered.consumer_seq == 1  # an agent failure is a Result, not a retry


async def test_a_transient_research_failure_is_retried_and_ends_fixed(bus, settings, tmp_path) -> None:
    await publish_report(bus, report(42))
    counter = tmp_path / "research-calls"
    cfg = runtime_config(tmp_path, {"research": {"transient_count_file": str(counter), "transient_times": 1}})
    counters = await run_until_empty(settings, cfg, timeout_s=300)
    assert counters["results"] == 1 and counters["dead_lettered"] == 0
    (result,) = await results(bus)
    assert result.status == "fixed"
    state, _ = await PeerStateStore(bus).read(bus.names.peer_key("error", result.investigation_id, 1))
    assert set(state.phases.execute.output["research"]) == {"h0", "h1"}
    assert int(counter.read_text()) >= 3  # the failed call, then both hypotheses again (or the one left)
    info = await bus.js.consumer_info(bus.names.error_stream("default"), "error-fixer")
    assert info.delivered.consumer_seq >= 2  # a TransientError crossed back as one: the report was retried
