"""The threshold of the injection model: the lowest score at which it adds at most a budget of false positives.

    t = calibrate({"s-labs-validation": [(0.91, False, True), (0.12, False, False)]}, fpr_target=0.008)

Rows are (model score, the rules rejected it, it is an attack) per validation set; the verdict is
`rules OR score >= t`, so the budget counts only the false positives the model adds to the rules' own.
"""

from __future__ import annotations

__all__ = ["calibrate", "rates"]


def rates(scores: list[tuple[float, bool, bool]], t: float) -> tuple[float, float]:
    """(recall, fpr) of `rules OR score >= t` over (score, rules_hit, is_attack) rows."""
    tp = sum(1 for s, r, a in scores if a and (r or s >= t))
    fp = sum(1 for s, r, a in scores if not a and (r or s >= t))
    n_a = sum(1 for _, _, a in scores if a)
    n_b = len(scores) - n_a
    return (tp / n_a if n_a else 0.0), (fp / n_b if n_b else 0.0)


def calibrate(
    per_set: dict[str, list[tuple[float, bool, bool]]],
    fpr_target: float,
    own: tuple[str, ...] = (),
    own_target: float | None = None,
) -> float:
    """Lowest threshold (max recall) at which the model adds at most `fpr_target` false positives (as a
    share of benign rows) to those of the rules over the benign rows of all sets pooled, and at most
    `own_target` (default: `fpr_target`) on each set named in `own` by itself (the error-report sets,
    where a false positive costs most: an error that is never investigated).

    >>> calibrate({"v": [(0.9, False, True), (0.7, False, False), (0.2, False, False)]}, 0.0)
    0.9
    """
    pooled = [row for rows in per_set.values() for row in rows]
    limit = fpr_target if own_target is None else own_target
    checks = [(pooled, fpr_target)] + [(per_set[name], limit) for name in own if name in per_set]
    candidates = sorted({round(s, 6) for s, _, _ in pooled if s >= 0.05} | {0.5, 1.0})
    for t in candidates:
        if all(_extra_fpr(rows, t) <= target for rows, target in checks):
            return t
    return 1.0


def _extra_fpr(rows: list[tuple[float, bool, bool]], t: float) -> float:
    benign = [(s, r) for s, r, a in rows if not a]
    return sum(1 for s, r in benign if s >= t and not r) / len(benign) if benign else 0.0
