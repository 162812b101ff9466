"""What an occurrence tells beyond its signature, as a set of facts: one per stack line and one per
context field. A `no_fix` or `failed` error reopens on new evidence: a fact no earlier occurrence of its
signature had.

    items = evidence_of(report)          # ('3f9a0c21b7e4', ...): short digests, sorted, no repeats
    seen = entry["evidence"]             # the facts of every occurrence the signature's entry has counted
    new_facts(seen, items)               # True: one of them is new (a frame, a context field or value)
    add_evidence(entry, items)           # remembered (bounded: MAX_EVIDENCE, the oldest dropped first)

Facts, not one digest per occurrence: an occurrence that brings *less* (no stack, where an earlier one had
one) or the same frames again tells nothing new, and reports that alternate between a stack and none do
not reopen an error after each close. Per-occurrence noise is not a fact: the request id is left out, and
in stack lines and context values a hex address, a UUID or a number (thread, goroutine, process and user
ids) reads as `#`, while a line number (`line 42`, `main.go:42`) and the digits of an identifier
(`field_12`) stay: a frame at another line is another frame.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from swarm.models import ErrorReport

__all__ = ["MAX_EVIDENCE", "evidence_of", "new_facts", "add_evidence", "is_legacy"]

MAX_EVIDENCE = 256  # facts kept per signature: a few stacks' worth
_FACT_HEX = 12
_LEGACY_HEX = 16  # entries written before facts held one 16-hex digest per occurrence
# a number reads as `#` unless it is a line number (after `line ` or `:`) or part of an identifier
_NOISE = re.compile(r"0x[0-9a-fA-F]+|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|(?<![:\w])(?<!line )\d+")
_MAX_TEXT = 65_536  # a stack longer than this is read up to here: its facts are its first lines

# a storm repeats one stack and context: read it once (bounded: 1,024 keys of at most 8 KB each)
_MEMO: dict[tuple[str, str | None, int | None, str | None, str], tuple[str, ...]] = {}


def _fact(text: str) -> str:
    return hashlib.blake2b(_NOISE.sub("#", text).encode(), digest_size=_FACT_HEX // 2).hexdigest()


def _facts(report: ErrorReport, context: dict[str, Any]) -> tuple[str, ...]:
    lines = (line.strip() for line in report.stack[:_MAX_TEXT].splitlines())
    facts = {_fact("stack:" + line) for line in lines if line}
    facts |= {_fact(f"context:{key}={value!r}") for key, value in context.items()}
    return tuple(sorted(facts))


def _context(report: ErrorReport) -> dict[str, Any]:
    return {k: v for k, v in report.context.model_dump(exclude_none=True).items() if k != "request_id"}


def evidence_of(report: ErrorReport) -> tuple[str, ...]:
    """The occurrence's facts: a digest per distinct stack line and per context field (`request_id` left out)."""
    ctx = report.context
    # the memo's key is what the facts are made of, read off the fields as they are (a dump per report cost
    # as much as the rest of counting it): the same fields give the same dump, so the same facts
    extra = repr(ctx.__pydantic_extra__) if ctx.__pydantic_extra__ else ""
    if len(report.stack) + len(extra) + len(ctx.file or "") + len(ctx.function or "") > 8192:
        return _facts(report, _context(report))
    key = (report.stack, ctx.file, ctx.line, ctx.function, extra)
    if (known := _MEMO.get(key)) is not None:
        return known
    if len(_MEMO) >= 1024:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = facts = _facts(report, _context(report))
    return facts


def is_legacy(seen: Sequence[str]) -> bool:
    """An entry written before evidence was facts: its digests cannot tell a new fact from an old one."""
    return bool(seen) and all(len(digest) == _LEGACY_HEX for digest in seen)


def new_facts(seen: Sequence[str], evidence: Iterable[str] | None) -> bool:
    """Whether `evidence` holds a fact not in `seen` (never for a legacy entry: it is only learning its facts)."""
    if not evidence or is_legacy(seen):
        return False
    known = set(seen)
    return any(fact not in known for fact in evidence)


def add_evidence(entry: dict[str, Any], evidence: Iterable[str] | None) -> bool:
    """Remember an occurrence's facts in `entry["evidence"]`; True when one was new."""
    if not evidence:
        return False
    seen: list[str] = entry.setdefault("evidence", [])
    if is_legacy(seen):
        seen.clear()
    known = set(seen)
    fresh = [fact for fact in evidence if fact not in known]
    seen.extend(fresh)
    del seen[:-MAX_EVIDENCE]
    return bool(fresh)
