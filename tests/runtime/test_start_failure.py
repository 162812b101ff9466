"""A swarm whose role replicas cannot start says so at its start, naming the role and the replica's own
error, instead of running without them (it would wait for ever with every report in flight)."""

from __future__ import annotations

import pytest

from swarm.errors import ConfigError, SwarmUnavailable
from swarm.runtime.app import SwarmRuntime
from tests.support.runtime import runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(300)]


async def test_an_agent_the_workers_cannot_import_fails_the_start_naming_the_role_and_why(
    settings, bus, tmp_path, monkeypatch
) -> None:
    # importable by the driver (which checks every agent path) but not by Ray's workers: what a cluster
    # whose nodes lack the code, or a Ray Client run without the working dir, meets
    (tmp_path / "driver_only_agents.py").write_text("from tests.support.agents import Review as Agent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = runtime_config(tmp_path)
    cfg.roles["review"].agent = "driver_only_agents:Agent"
    runtime = SwarmRuntime(settings, cfg)
    try:
        with pytest.raises(SwarmUnavailable) as raised:
            await runtime.start()
    finally:
        await runtime.stop()
    message = str(raised.value)
    assert message.startswith("no replica could start of review (review-0: "), message
    assert "cannot load 'driver_only_agents:Agent': No module named 'driver_only_agents'" in message, message
    assert "\n" not in message and "research" not in message


@pytest.mark.parametrize(("dotted", "why"), [
    ("json:dumps", "'json:dumps' is not an agent class (a class with an async handle(ctx) method)"),
    ("agents.reserch:ResearchAgent", "cannot load 'agents.reserch:ResearchAgent': No module named 'agents.reserch'"),
])
async def test_an_agent_path_that_is_no_agent_class_fails_the_start_naming_its_key(settings, tmp_path, dotted,
                                                                                    why) -> None:
    """Checked by the driver before Ray starts: a function is callable, but every phase of its role would fail."""
    cfg = runtime_config(tmp_path)
    cfg.roles["implement"].agent = dotted
    runtime = SwarmRuntime(settings, cfg)
    with pytest.raises(ConfigError) as raised:
        await runtime.start()
    assert str(raised.value) == f"roles.implement.agent: {why}"
    assert runtime.pools == {}  # nothing of the swarm was started
