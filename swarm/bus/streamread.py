"""Every stored message of a stream, oldest first, read by sequence: nothing is consumed, no consumer is made.

    for raw in await read_stream(bus, bus.names.stream("DEAD_LETTERS")):
        letter = DeadLetter.model_validate_json(raw.data)
"""

from __future__ import annotations

from typing import Any

from nats.js.errors import NotFoundError

from swarm.bus.connect import Bus

__all__ = ["read_stream"]


async def read_stream(bus: Bus, stream: str, subject: str | None = None) -> list[Any]:
    """Every stored message of `stream` (on `subject`, when given), oldest first."""
    out: list[Any] = []
    seq = 1
    while True:
        try:
            raw = await bus.js.get_msg(stream, seq, subject=subject or ">", next=True)
        except NotFoundError:
            return out
        out.append(raw)
        seq = int(raw.seq) + 1
