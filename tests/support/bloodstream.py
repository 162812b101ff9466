"""Reading back what the bloodstream stored, for tests."""

from __future__ import annotations

import json
from typing import Any

from swarm.bus.connect import Bus
from swarm.bus.names import HDR_MSG_ID


async def stored(bus: Bus, subject: str, stream: str | None = None) -> list[dict[str, Any]]:
    """Every message `stream` (default BLOODSTREAM) holds on `subject` (wildcards allowed), oldest first,
    each with its `_subject` and `_msg_id`."""
    stream = stream or bus.names.bloodstream_stream
    info = await bus.js.stream_info(stream, subjects_filter=subject)
    n = sum((info.state.subjects or {}).values())
    if not n:
        return []
    sub = await bus.js.pull_subscribe(subject, stream=stream)
    try:
        msgs = await sub.fetch(n, timeout=5)
    finally:
        await sub.unsubscribe()
    return [json.loads(m.data) | {"_subject": m.subject, "_msg_id": (m.headers or {}).get(HDR_MSG_ID)} for m in msgs]
