"""Filters with a known fault, plugged in by dotted path (`intake.filter`) like any real filter."""

from __future__ import annotations

from typing import Any

from swarm.models import ErrorReport
from swarm.security.filter import PassAllFilter, Verdict

__all__ = ["BREAKER", "FailingFilter"]

BREAKER = "filter-breaker"


class FailingFilter(PassAllFilter):
    """Raises on any report whose error names `BREAKER` (a filter bug on one kind of text); allows the rest."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)

    def check_report(self, report: ErrorReport) -> Verdict:
        if BREAKER in report.error:
            raise RuntimeError("filter bug: cannot read this text")
        return super().check_report(report)
