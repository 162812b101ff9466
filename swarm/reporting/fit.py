"""Fitting an ErrorReport into the server's max payload: keep the head and the tail of its long texts.

    fitted = fit_report(report, max_bytes=bus.payload_room())      # None: it cannot fit even cut down
    fitted.stack          # 'Traceback (most recent call last):\\n  File ...\\n… 2104388 characters cut …\\n...'
    fitted.context.model_extra["truncated"]    # {"error": 1000066, "stack": 3000187}: the original lengths

A report that fits is returned unchanged. Otherwise the texts that make it large (`error`, `stack` and
the context's text values) are cut in their middle, the largest first, so that each keeps its head
(the outermost frames, the exception's type and the start of its message) and its tail (the raise
site): every text over a common length is cut to it, and shorter texts stay whole. Each cut is marked
in place (`… N characters cut …`) and the context's `truncated` field maps each cut field to its
original length in characters. The signature is that of the cut message, the same for every occurrence
of the same long message.
"""

from __future__ import annotations

import json
from typing import Any

from swarm.models import ErrorContext, ErrorReport

__all__ = ["fit_report", "cut_middle", "TRUNCATED_KEY"]

TRUNCATED_KEY = "truncated"  # context field: {field: original length in characters} of what was cut
MIN_CUT = 256  # texts shorter than this are never cut: they are not what makes a report large
_ROOM_PER_CUT = 96  # bytes a marker and the field's entry in `truncated` take
_ATTEMPTS = 6


def cut_middle(text: str, keep: int) -> str:
    """`text` with its middle replaced by `… N characters cut …`, `keep` characters of it left
    (half from its head, half from its tail); unchanged when it is not longer than `keep`."""
    if len(text) <= keep:
        return text
    keep = max(keep, 2)
    head, tail = (keep + 1) // 2, keep // 2
    sep = "\n" if "\n" in text else " "
    return f"{text[:head]}{sep}… {len(text) - keep} characters cut …{sep}{text[len(text) - tail:]}"


def _encoded(text: str) -> int:
    """Bytes `text` takes inside the report's JSON (without the quotes)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2


def _cap(sizes: list[int], budget: int) -> int:
    """The largest length every size is cut down to so that their sum stays within `budget`."""
    remaining, count = budget, len(sizes)
    for size in sorted(sizes):
        if size * count > remaining:
            return max(0, remaining // count)
        remaining -= size
        count -= 1
    return max(sizes, default=0)


def fit_report(report: ErrorReport, max_bytes: int) -> ErrorReport | None:
    """`report` unchanged when its JSON takes at most `max_bytes`; else a copy with its long texts cut
    down in their middle until it does; None when it cannot fit even so."""
    size = len(report.to_bytes())
    if size <= max_bytes:
        return report
    context: dict[str, Any] = report.context.model_dump()
    texts = {"error": report.error, "stack": report.stack}
    texts |= {f"context.{k}": v for k, v in context.items() if isinstance(v, str) and k != TRUNCATED_KEY}
    texts = {name: text for name, text in texts.items() if len(text) >= MIN_CUT}
    if not texts:
        return None
    encoded = {name: _encoded(text) for name, text in texts.items()}
    fixed = size - sum(encoded.values()) + _ROOM_PER_CUT * len(texts)
    budget = max_bytes - fixed
    for _ in range(_ATTEMPTS):
        if budget <= 0:
            return None
        cap = _cap(list(encoded.values()), budget)
        cut: dict[str, str] = {}
        for name, text in texts.items():
            if encoded[name] > cap:  # characters kept in proportion to the bytes the text's characters take
                cut[name] = cut_middle(text, int(len(text) * cap / encoded[name]))
        candidate = _with(report, context, cut, texts)
        over = len(candidate.to_bytes()) - max_bytes
        if over <= 0:
            return candidate
        budget -= over + max(64, budget // 20)  # the estimate was off (escapes): aim lower
    return None


def _with(report: ErrorReport, context: dict[str, Any], cut: dict[str, str], texts: dict[str, str]) -> ErrorReport:
    new_context = dict(context)
    for name, text in cut.items():
        if name.startswith("context."):
            new_context[name.removeprefix("context.")] = text
    new_context[TRUNCATED_KEY] = {name: len(texts[name]) for name in cut}
    return report.model_copy(update={
        "error": cut.get("error", report.error),
        "stack": cut.get("stack", report.stack),
        "context": ErrorContext.model_validate(new_context),
    })
