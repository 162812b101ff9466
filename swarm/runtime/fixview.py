"""What `swarm fixes list|show` read: the dead letters no signature holds, and one investigation in full.

    rows, held = await dead_letters(bus, entries)   # malformed reports' rows; the held signatures' letters
    shown = await show_investigation(bus, index_entries, "inv-…")   # its Result, review verdict, index status

A report that is not an ErrorReport is dead-lettered before it has a signature, so the signature index never
holds it; `swarm fixes list` lists it from `{NS}_DEAD_LETTERS` as a `dead_lettered` row of its own, with its
reason. A dead-lettered report that did hold its signature is that signature's row (status `dead_lettered`).
"""

from __future__ import annotations

import base64
from typing import Any

from nats.js.errors import NotFoundError

from swarm.bus.connect import Bus
from swarm.bus.kvlist import bucket_keys
from swarm.bus.streamread import read_stream
from swarm.errors import StateNotFound
from swarm.models import DeadLetter, Result
from swarm.runtime.outcome import outputs_of
from swarm.runtime.tasks import report_of_message
from swarm.state.model import parse_key
from swarm.state.store import PeerStateStore

__all__ = ["dead_letters", "show_investigation", "find_entry", "review_of"]


def _original(letter: DeadLetter) -> bytes:
    text = letter.payload
    if text.startswith("b64:"):
        try:
            return base64.b64decode(text[4:])
        except ValueError:
            return b""
    return text.encode("utf-8", "surrogatepass")


async def dead_letters(bus: Bus, entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A `fixes list` row per dead letter no index entry stands for (its report was malformed, or never claimed
    its signature), oldest first; and for each signature an entry holds, its latest dead letter (reason, error
    type, where), so that its `dead_lettered` row says why."""
    by_source = {(e.get("source_stream"), e.get("source_seq")): e.get("signature") for e in entries}
    signatures = {e.get("signature") for e in entries}
    stream = bus.names.stream("DEAD_LETTERS")
    rows: list[dict[str, Any]] = []
    held: dict[str, Any] = {}
    for raw in await read_stream(bus, stream):  # a stream that is not there reads as empty (NotFoundError)
        try:
            letter = DeadLetter.model_validate_json(raw.data)
        except ValueError:
            continue  # not a letter swarm wrote
        report = None if letter.payload_truncated else report_of_message(_original(letter))
        said = {"reason": letter.reason, "error_type": letter.error_type, "stream": stream, "sequence": int(raw.seq),
                "source": f"{letter.source_stream}#{letter.source_sequence}"}
        signature = by_source.get((letter.source_stream, letter.source_sequence)) or (
            report.signature if report and report.signature in signatures else None)
        if signature:
            held[signature] = said
            continue
        rows.append({
            "signature": report.signature if report else None, "status": "dead_lettered",
            "service": report.service if report else None, "environment": report.environment if report else None,
            "investigation_id": None, "occurrences": 1, "generation": 1, "regression": False, "pull_request": None,
            "pull_request_state": None, "last_seen_at": letter.timestamp.isoformat(), "dead_letter": said,
            "state": None,
        })
    return rows, held


def find_entry(entries: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The index entry of investigation `wanted`, else the one signature `wanted` is (a prefix of, 8+ chars)."""
    for entry in entries:
        if entry.get("investigation_id") == wanted:
            return entry
    if len(wanted) >= 8:
        found = [e for e in entries if str(e.get("signature", "")).startswith(wanted)]
        if len(found) == 1:
            return found[0]
    return None


async def _result(bus: Bus, investigation_id: str) -> Result | None:
    try:
        raw = await bus.js.get_last_msg(bus.names.stream("RESULTS"), bus.names.result_of(investigation_id))
    except NotFoundError:
        return None
    return Result.model_validate_json(raw.data)


async def _last_cycle(bus: Bus, investigation_id: str) -> tuple[Any, int] | None:
    """(PEER state, cycle) of the investigation's last cycle; None when it has no state."""
    try:
        keys = [k for k in await bucket_keys(bus.js, bus.names.peer_bucket) if k.split(".")[2:3] == [investigation_id]]
    except NotFoundError:  # no PEER bucket
        return None
    if not keys:
        return None
    key = max(keys, key=lambda k: parse_key(k)[2])
    try:
        state, _ = await PeerStateStore(bus).read(key)
    except StateNotFound:  # deleted since
        return None
    return state, parse_key(key)[2]


def _review(state: Any, cycle: int) -> dict[str, Any] | None:
    review = outputs_of(state).review
    if review.verdict is None:
        return None
    return {"verdict": review.verdict, "reasons": list(review.reasons), "feedback": review.feedback, "cycle": cycle}


async def review_of(bus: Bus, investigation_id: str) -> dict[str, Any] | None:
    """The review of the investigation's last cycle in PEER state (None when it has none, or no state)."""
    last = await _last_cycle(bus, investigation_id)
    return None if last is None else _review(*last)


_PROPOSED = ("branch", "fix_commit", "suspect_commit", "suspect_method", "root_cause", "summary", "tests_before",
             "tests_after", "regression_test")


def _proposed(state: Any) -> dict[str, Any]:
    """What the last cycle has found so far (implement's fix, express's explanation): what an approver decides on
    before any Result exists."""
    out = outputs_of(state)
    found = {k: v for k, v in (out.execute.implement or {}).items() if k in _PROPOSED and v is not None}
    found |= {k: v for k, v in out.express.model_dump().items() if k in _PROPOSED and v is not None}
    return found | {"state": str(getattr(state.metadata.status, "value", state.metadata.status))}


async def show_investigation(bus: Bus, entries: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """Investigation `wanted` (an id, or a signature) in full: its Result's fields, the review verdict of its last
    cycle, and its signature's status in the index now (`proposed` -> `fixed` once merged). None if unknown."""
    entry = find_entry(entries, wanted)
    investigation_id = str(entry.get("investigation_id")) if entry and entry.get("investigation_id") else wanted
    result = await _result(bus, investigation_id)
    if result is None and entry is None:
        return None
    held = entry if entry and entry.get("investigation_id") == investigation_id else None
    pull = (held or {}).get("pull_request") or {}
    data: dict[str, Any] = result.model_dump(mode="json") if result else {
        "investigation_id": investigation_id, "signature": (entry or {}).get("signature"),
        "status": (entry or {}).get("status"), "service": (entry or {}).get("service"),
        "environment": (entry or {}).get("environment"),
    }
    last = await _last_cycle(bus, investigation_id)
    if result is None and last is not None:  # open: the fix it proposes (awaiting approval, say), as found so far
        data |= _proposed(last[0])
    data |= {
        "has_result": result is not None,
        "signature_status": (held or {}).get("status"),
        "review": None if last is None else _review(*last),
        "pull_request": pull.get("url") or data.get("pr_url"),
        "pull_request_state": pull.get("state"),
    }
    return data
