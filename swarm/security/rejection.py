"""What the runtime publishes when the filter rejects a report.

    verdict = filter_.check_report(report)
    if verdict.rejected:
        await publish_rejection(bus, report, verdict)       # {ns}.security.rejected
        await msg.term()                                    # never reaches an agent

The rejection carries the reason, rule ids, category, field, the rules' score, the model's score and
threshold, which part fired (rules, model, both), the report's signature and at most the first 100
characters of the offending text (never the whole attack) with the SHA-256 of the whole of it (`text_sha256`,
what an operator's release of a false positive is bound to: `swarm.runtime.release`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from swarm.models import EXCERPT_LIMIT, ErrorReport, SecurityRejection
from swarm.security.filter import Verdict

if TYPE_CHECKING:
    from nats.js.api import PubAck

    from swarm.bus.connect import Bus

__all__ = ["rejection_for", "publish_rejection", "text_digest"]


def text_digest(text: str) -> str:
    """SHA-256 of a text (a rejected field, or a whole report's texts joined): what a release is bound to."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def rejection_for(report: ErrorReport, verdict: Verdict) -> SecurityRejection:
    """The SecurityRejection for a rejected report (the runtime only has to publish it)."""
    rules = ", ".join(verdict.rule_ids) or "none"
    fired = getattr(verdict, "fired", "") or "rules"
    model = ""
    if verdict.model_score is not None and verdict.model_threshold is not None:
        op = ">=" if verdict.model_fired else "<"
        model = f"; model score {verdict.model_score:.3f} {op} {verdict.model_threshold:.3f}"
        if verdict.model_fired and verdict.model_clause and not verdict.encoder_fired:
            model += f" (clause {verdict.model_clause[:80]!r})"
        elif verdict.model_fired or verdict.encoder_fired:  # the whole value fired: say which one (review 23)
            model += f" (text {' '.join(verdict.text.split())[:80]!r})"
    if verdict.encoder_score is not None and verdict.encoder_threshold is not None:
        op = ">=" if verdict.encoder_fired else "<"
        model += f"; encoder score {verdict.encoder_score:.3f} {op} {verdict.encoder_threshold:.3f}"
    reason = (
        f"prompt injection ({verdict.category or 'unknown'}) in {verdict.field or 'report'}, caught by {fired}: "
        f"rules score {verdict.score:.2f} (threshold {verdict.threshold:.2f}); rules {rules}{model}"
    )
    return SecurityRejection(
        reason=reason,
        rule_ids=verdict.rule_ids,
        category=verdict.category,
        field=verdict.field,
        score=round(verdict.score, 3),
        model_score=None if verdict.model_score is None else round(verdict.model_score, 4),
        model_threshold=verdict.model_threshold,
        encoder_score=None if verdict.encoder_score is None else round(verdict.encoder_score, 4),
        encoder_threshold=verdict.encoder_threshold,
        fired=fired,
        excerpt=verdict.text[:EXCERPT_LIMIT],
        text_sha256=text_digest(verdict.text),
        model_clause=verdict.model_clause[:EXCERPT_LIMIT],
        signature=report.signature,
        service=report.service,
    )


async def publish_rejection(bus: Bus, report: ErrorReport, verdict: Verdict, msg_id: str | None = None) -> PubAck:
    """Publish the rejection on `{ns}.security.rejected`.

    Pass the rejected message's own Msg-Id as `msg_id` so a redelivery does not publish twice.
    """
    return await bus.publish(bus.names.security_rejected, rejection_for(report, verdict), msg_id=msg_id)
