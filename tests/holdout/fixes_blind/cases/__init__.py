"""The blind fix cases: a dev split (may be looked at) and a heldout split (aggregate figures only)."""

from __future__ import annotations

from tests.holdout.fixes_blind.cases import dev, heldout

SETS = {"dev": dev.CASES, "heldout": heldout.CASES}
CASES = [*dev.CASES, *heldout.CASES]

__all__ = ["CASES", "SETS"]
