"""The fault suite: short ack waits and heartbeats so that each fault plays out in seconds.

`fault_settings` / `fault_bus`: the session's nats-server, this test's namespace, streams whose
error consumer has an ack wait of ACK_WAIT_S. `fault_config(tmp_path, ...)`: test agents, fast timers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from swarm.bus.connect import Bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.config import SwarmConfig
from tests.support.runtime import runtime_config

ROOT = Path(__file__).resolve().parents[2]
ACK_WAIT_S = 4.0


def short_streams(tmp_path: Path, ack_wait_s: float = ACK_WAIT_S) -> Path:
    data = yaml.safe_load((ROOT / "configs" / "streams.yaml").read_text())
    data["consumers"]["error-fixer"]["ack_wait_s"] = ack_wait_s
    data["consumers"]["dead-letterer"]["ack_wait_s"] = ack_wait_s
    path = tmp_path / "streams.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def fault_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"swarm_streams_config": short_streams(tmp_path)})


@pytest.fixture
async def fault_bus(fault_settings: Settings) -> AsyncIterator[Bus]:
    b = await Bus.connect(fault_settings)
    await provision(b.js, b.names, load_streams_config(fault_settings.swarm_streams_config))
    try:
        yield b
    finally:
        await b.close()


def fault_config(tmp_path: Path, options: dict[str, dict[str, Any]] | None = None, **overrides: Any) -> SwarmConfig:
    """Heartbeats every 0.3 s, a service judged down after 3 missed beats, checks every 0.2 s."""
    base: dict[str, Any] = {
        "heartbeat_interval_s": 0.3,
        "bloodstream": {"health_check_interval_s": 0.2, "missed_heartbeats": 3, "outage_grace_s": 3.0},
        "intake": {"in_progress_interval_s": 0.5},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return runtime_config(tmp_path, options, **base)


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout_s: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)
