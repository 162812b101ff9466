"""Measuring the filter on a labelled corpus: precision, recall, false-positive rate, recall per category.

    result = evaluate(InjectionFilter(), load_corpus("tests/data/injection_corpus.jsonl"))
    result.recall, result.fpr, result.meets_goals        # goals: recall >= 95 %, FPR <= 1 %

Corpus lines are JSON objects: {"label": "attack"|"benign", "text": ...} with an optional "category" (rows
without one are counted under "-") and "obfuscation" (how an attack is hidden). A row may hold a whole error
report instead of a text, {"label": ..., "report": {"error": ..., "stack": ..., "context": {...}}}: it is read
as intake reads a report (`check_report`: every field, the identifier fields by the rules alone); recall is reported per
category and per obfuscation, the false-positive rate per benign category, and the rejections by the part
that fired (rules, model, both).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarm.errors import InvalidInput
from swarm.files import read_user_file
from swarm.models import ErrorReport
from swarm.security.filter import Filter

__all__ = ["Sample", "EvalResult", "load_corpus", "evaluate", "RECALL_GOAL", "FPR_GOAL"]

RECALL_GOAL = 0.95
FPR_GOAL = 0.01


@dataclass(frozen=True)
class Sample:
    label: str
    text: str
    category: str = ""
    obfuscation: str = ""
    line: int = 0
    # a whole error report read as intake reads it; `text` is then its error
    report: ErrorReport | None = field(default=None, compare=False)


def load_corpus(path: str | Path) -> list[Sample]:
    """Read a JSONL corpus; a bad line is an InvalidInput naming the file, line and problem."""
    path = Path(path)
    lines = read_user_file(path, "corpus file", InvalidInput).splitlines()
    samples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg}: column {exc.colno})") from exc
        if not isinstance(row, dict):
            raise InvalidInput(f"{path}:{number}: expected a JSON object")
        label, text = row.get("label"), row.get("text")
        if label not in ("attack", "benign"):
            raise InvalidInput(f"{path}:{number}: label must be 'attack' or 'benign', got {label!r}")
        report = _report_of(row, path, number) if "report" in row else None
        if report is not None:
            text = report.error
        elif not isinstance(text, str) or not text:
            raise InvalidInput(f"{path}:{number}: text must be a non-empty string (or give a report)")
        for key in ("category", "obfuscation"):  # names of table rows: a list or an object is a mistake
            if row.get(key) is not None and not isinstance(row[key], str):
                raise InvalidInput(f"{path}:{number}: {key} must be a string, got {type(row[key]).__name__}")
        obfuscation = row.get("obfuscation") or ("none" if label == "attack" else "")
        samples.append(Sample(label, text, row.get("category") or "", obfuscation, number, report))
    if not samples:
        raise InvalidInput(f"corpus {path} has no samples")
    return samples


def _report_of(row: dict[str, Any], path: Path, number: int) -> ErrorReport:
    """A row's error report, validated as intake validates one."""
    from pydantic import ValidationError

    if row.get("text") is not None:
        raise InvalidInput(f"{path}:{number}: give either text or report, not both")
    if not isinstance(row["report"], dict):
        raise InvalidInput(f"{path}:{number}: report must be a JSON object (an error report)")
    try:
        return ErrorReport.model_validate(row["report"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "report"
        raise InvalidInput(f"{path}:{number}: report.{where}: {first['msg']}") from exc


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


@dataclass
class EvalResult:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    by_category: dict[str, list[int]] = field(default_factory=dict)  # category -> [detected, total]
    by_obfuscation: dict[str, list[int]] = field(default_factory=dict)
    benign_by_category: dict[str, list[int]] = field(default_factory=dict)  # category -> [flagged, total]
    false_negatives: list[Sample] = field(default_factory=list)
    false_positives: list[tuple[Sample, list[str]]] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)  # caught attacks by part: rules / model / both
    fired_benign: dict[str, int] = field(default_factory=dict)  # rejected benign rows by part
    encoder_read: int = 0  # texts the model's encoder head read (the cascade: only doubtful ones)
    encoder_fired: dict[str, int] = field(default_factory=dict)  # label -> rows its encoder head rejected

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def fpr(self) -> float:
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def meets_goals(self) -> bool:  # a benign-only corpus has no recall to meet
        return (self.tp + self.fn == 0 or self.recall >= RECALL_GOAL) and self.fpr <= FPR_GOAL

    def as_dict(self) -> dict[str, Any]:
        def rates(table: dict[str, list[int]]) -> dict[str, dict[str, Any]]:
            return {
                k: {"recall": round(_ratio(d, n), 4), "detected": d, "total": n} for k, (d, n) in sorted(table.items())
            }

        return {
            "attacks": self.tp + self.fn,
            "benign": self.fp + self.tn,
            # a rate with no denominator is null, not 0: a benign-only corpus has no recall
            "precision": round(self.precision, 4) if self.tp + self.fp else None,
            "recall": round(self.recall, 4) if self.tp + self.fn else None,
            "false_positive_rate": round(self.fpr, 4) if self.fp + self.tn else None,
            "goals": {"recall": RECALL_GOAL, "false_positive_rate": FPR_GOAL, "met": self.meets_goals},
            "confusion": {"tp": self.tp, "fn": self.fn, "fp": self.fp, "tn": self.tn},
            "recall_by_category": rates(self.by_category),
            "recall_by_obfuscation": rates(self.by_obfuscation),
            "fpr_by_category": {
                k: {"fpr": round(_ratio(f, n), 4), "flagged": f, "total": n}
                for k, (f, n) in sorted(self.benign_by_category.items())
            },
            "rejected_by": dict(sorted(self.fired.items())),
            "benign_rejected_by": dict(sorted(self.fired_benign.items())),
            "encoder": {"read": self.encoder_read, "rejected": dict(sorted(self.encoder_fired.items()))},
            "false_negatives": [
                {"line": s.line, "category": s.category, "text": s.text[:160]} for s in self.false_negatives
            ],
            "false_positives": [
                {"line": s.line, "category": s.category, "rules": rules, "text": s.text[:160]}
                for s, rules in self.false_positives
            ],
        }


def evaluate(
    filter_: Filter,
    samples: Iterable[Sample],
    progress: Callable[[int], None] | None = None,
    as_report: bool = False,
) -> EvalResult:
    """Run every sample through `filter_.check_text` and count; with `as_report`, each text is the `error`
    of an `ErrorReport` with a service and context (held-out frames, fixed seed) read by `check_report`,
    as intake reads a report. A report row is read by `check_report` either way."""
    from swarm.security.errortext import report_fields, report_of

    result = EvalResult()
    rng = random.Random(0)
    for i, sample in enumerate(samples, 1):
        if sample.report is not None:
            verdict = filter_.check_report(sample.report)
        elif as_report and sample.text:
            verdict = filter_.check_report(report_of(report_fields(sample.text, rng, "heldout")))
        else:
            verdict = filter_.check_text(sample.text, field="text")
        if getattr(verdict, "encoder_score", None) is not None:
            result.encoder_read += 1
            if verdict.encoder_fired:
                result.encoder_fired[sample.label] = result.encoder_fired.get(sample.label, 0) + 1
        if verdict.rejected:
            part = getattr(verdict, "fired", "") or "rules"
            fired = result.fired if sample.label == "attack" else result.fired_benign
            fired[part] = fired.get(part, 0) + 1
        if sample.label == "attack":
            for table, key in ((result.by_category, sample.category), (result.by_obfuscation, sample.obfuscation)):
                cell = table.setdefault(key or "-", [0, 0])
                cell[0] += int(verdict.rejected)
                cell[1] += 1
            if verdict.rejected:
                result.tp += 1
            else:
                result.fn += 1
                result.false_negatives.append(sample)
        else:
            cell = result.benign_by_category.setdefault(sample.category or "-", [0, 0])
            cell[0] += int(verdict.rejected)
            cell[1] += 1
            if verdict.rejected:
                result.fp += 1
                result.false_positives.append((sample, verdict.rule_ids if verdict.rules_fired else []))
            else:
                result.tn += 1
        if progress:
            progress(i)
    return result
