"""The Results a namespace's RESULTS stream holds, oldest first (read by sequence; nothing is consumed)."""

from __future__ import annotations

from swarm.bus.connect import Bus
from swarm.models import Result


async def results(bus: Bus) -> list[Result]:
    info = await bus.js.stream_info(bus.names.stream("RESULTS"))
    if info.state.messages == 0:
        return []
    return [Result.model_validate_json((await bus.js.get_msg(bus.names.stream("RESULTS"), seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)]
