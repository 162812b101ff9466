"""The held-out fix cases: 8 easy, 8 medium, 8 hard."""

from __future__ import annotations

from tests.holdout.fixes.cases import easy, hard, medium

CASES = [*easy.CASES, *medium.CASES, *hard.CASES]

__all__ = ["CASES"]
