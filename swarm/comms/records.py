"""One agent message as the API, the pages and Postgres see it: a flat dict, `id` = stream sequence.

    record = message_record(names, msg.subject, seq, msg.data)    # raises InvalidInput on a bad payload
    record["id"], record["channel"], record["run_id"], record["kind"]

The same shape comes from Postgres (`CommsStore.messages`) and from NATS (live SSE), so a client
never tells them apart. A NUL character, in any text or anywhere in `data`, arrives as U+FFFD.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from swarm.bus.names import Names
from swarm.errors import InvalidInput, explain
from swarm.models import AgentMessage

__all__ = ["message_record", "role_of"]

# Postgres refuses NUL in TEXT and in JSONB strings, and an error report quoting binary output puts it in
# agent messages. U+FFFD, Unicode's own mark for "a character that could not be kept", keeps the row
# (dropping the NUL would join its neighbours silently; an escape like "\\0" could not be told from
# text that says so); it is done here, not in the INSERT, so the live feed shows what Postgres will.
_NUL, _REPLACEMENT = "\x00", "\ufffd"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_NUL, _REPLACEMENT)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def role_of(agent_id: str) -> str:
    """`research-0` -> `research`: the role an agent id names when the message does not say."""
    head, _, tail = agent_id.rpartition("-")
    return head if head and tail.isdigit() else agent_id


def message_record(names: Names, subject: str, seq: int, data: bytes) -> dict[str, Any]:
    """Validate one comms message and flatten it; the subject decides run or general channel."""
    try:
        run_id, kind = names.parse_comms(subject)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    try:
        msg = AgentMessage.model_validate_json(data)
    except ValidationError as exc:
        problems = explain(exc)
        raise InvalidInput(f"invalid AgentMessage on {subject}: {problems}") from exc
    return _without_nul({
        "id": int(seq),
        "message_id": msg.message_id,
        "subject": subject,
        "channel": "run" if run_id is not None else "general",
        "run_id": run_id,
        "workflow_name": msg.workflow_name if run_id is not None else "general",
        "namespace": names.ns,
        "agent_id": msg.sender,
        "role": msg.role or role_of(msg.sender),
        "kind": kind,
        "content": msg.content,
        "data": msg.data,
        "trace_id": msg.trace_id,
        "timestamp": msg.timestamp.isoformat(),
    })
