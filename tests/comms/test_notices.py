"""Swarm-wide notices reach the general channel from where they happen (brain dead from an agent's events)."""

from __future__ import annotations

import json
from pathlib import Path

from swarm.bloodstream.publisher import Bloodstream
from swarm.bus.connect import Bus


async def test_a_dead_brain_is_announced_on_the_general_channel(bus: Bus, tmp_path: Path) -> None:
    sub = await bus.nc.subscribe(bus.names.comms_general_all)
    async with Bloodstream(bus, tmp_path / "outbox") as blood:
        events = blood.for_investigation("inv-7", actor="implement-0")
        await events.brain_dead("claude", "HTTP 529 overloaded", 3, "offline")
    msg = await sub.next_msg(timeout=10)
    data = json.loads(msg.data)
    assert msg.subject == f"{bus.names.ns}.workflow.general.brain_dead"
    assert data["run_id"] == "" and data["sender"] == "implement-0" and data["kind"] == "brain_dead"
    assert "claude" in data["content"] and "falling back to offline" in data["content"]
    assert data["data"]["investigation_id"] == "inv-7"
