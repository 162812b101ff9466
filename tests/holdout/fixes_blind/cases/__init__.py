"""The blind fix cases: a dev split (may be looked at), a heldout split (aggregate figures only), and review 5's
eight cases (read after their blind run; runnable with `--set review5`, not part of the validity test's CASES)."""

from __future__ import annotations

from tests.holdout.fixes_blind.cases import dev, heldout, review5

SETS = {"dev": dev.CASES, "heldout": heldout.CASES, "review5": review5.CASES}  # review5: read, not in CASES
CASES = [*dev.CASES, *heldout.CASES]

__all__ = ["CASES", "SETS"]
