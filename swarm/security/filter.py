"""The Filter interface the runtime calls on every new report, before any agent sees it.

    verdict = filter_.check_report(report)
    if verdict.rejected: ...publish a SecurityRejection and terminate the message...

`PassAllFilter` fills the interface when no real filter is configured (tests of other parts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from swarm.models import ErrorReport

__all__ = ["Filter", "Verdict", "Match", "PassAllFilter"]


@dataclass(frozen=True)
class Match:
    rule_id: str
    category: str
    weight: float
    start: int  # character span in the scanned text
    end: int
    text: str
    field: str = ""  # which report field (error, stack, context.<k>)
    decoded: bool = False  # matched in a decoded segment rather than the raw text


@dataclass(frozen=True)
class Verdict:
    """One verdict from the rules (`score` vs `threshold`) and the learned model (`model_score` vs
    `model_threshold`, None when no model ran): rejected when either fires; `fired` says which."""

    score: float
    threshold: float
    matches: tuple[Match, ...] = field(default_factory=tuple)
    field: str = ""  # the field that decided the verdict
    text: str = ""  # that field's text (callers cut it to an excerpt)
    model_score: float | None = None
    model_threshold: float | None = None
    model_clause: str = ""  # the clause the model's clause head scored highest, when it gave the score
    encoder_score: float | None = None  # the encoder head's score (None: it did not run: see `InjectionFilter`)
    encoder_threshold: float | None = None

    @property
    def rules_fired(self) -> bool:
        return self.score >= self.threshold

    @property
    def encoder_fired(self) -> bool:
        return self.encoder_score is not None and self.encoder_threshold is not None and (
            self.encoder_score >= self.encoder_threshold
        )

    @property
    def model_fired(self) -> bool:
        """The learned model fired: its n-gram heads reached their threshold, or its encoder head its own."""
        return self.encoder_fired or (self.model_score is not None and self.model_threshold is not None and (
            self.model_score >= self.model_threshold
        ))

    @property
    def model_head(self) -> str:
        """Which part of the model decided: 'ngram' (its n-gram heads reached their threshold), 'encoder' (only
        its encoder head did), '' (the model did not fire)."""
        if self.model_score is not None and self.model_threshold is not None and (
            self.model_score >= self.model_threshold
        ):
            return "ngram"
        return "encoder" if self.encoder_fired else ""

    @property
    def fired(self) -> str:
        """'rules', 'model', 'both' or '' (allowed)."""
        return {(True, True): "both", (True, False): "rules", (False, True): "model"}.get(
            (self.rules_fired, self.model_fired), ""
        )

    @property
    def rejected(self) -> bool:
        return self.rules_fired or self.model_fired

    @property
    def rule_ids(self) -> list[str]:
        return sorted({m.rule_id for m in self.matches})

    @property
    def category(self) -> str:
        """The category with the highest total weight ('' when nothing matched)."""
        totals: dict[str, float] = {}
        for m in self.matches:
            totals[m.category] = totals.get(m.category, 0.0) + m.weight
        if not totals:
            return "learned_model" if self.model_fired else ""
        return max(totals, key=lambda c: totals[c])

    def as_dict(self) -> dict[str, Any]:
        return {
            "rejected": self.rejected,
            "score": round(self.score, 3),
            "threshold": self.threshold,
            "fired": self.fired,
            "model_head": self.model_head,
            "model_score": None if self.model_score is None else round(self.model_score, 4),
            "model_threshold": self.model_threshold,
            "model_clause": self.model_clause,
            "encoder_score": None if self.encoder_score is None else round(self.encoder_score, 4),
            "encoder_threshold": self.encoder_threshold,
            "category": self.category,
            "field": self.field,
            "rule_ids": self.rule_ids,
            "matches": [m.__dict__ for m in self.matches],
        }


@runtime_checkable
class Filter(Protocol):
    def check_text(self, text: str, field: str = "") -> Verdict: ...
    def check_report(self, report: ErrorReport) -> Verdict: ...


class PassAllFilter:
    """Allows everything. Only for configurations that deliberately run without a filter."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    def check_text(self, text: str, field: str = "") -> Verdict:
        return Verdict(score=0.0, threshold=1.0, field=field)

    def check_report(self, report: ErrorReport) -> Verdict:
        return Verdict(score=0.0, threshold=1.0)
