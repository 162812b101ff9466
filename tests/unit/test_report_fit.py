"""fit_report: a report too large for the server is cut in the middle of its long texts until it fits."""

from __future__ import annotations

import pytest

from swarm.models import ErrorReport
from swarm.reporting.fit import cut_middle, fit_report


def test_a_report_that_fits_is_returned_unchanged() -> None:
    report = ErrorReport(error="KeyError: 'x'", stack="Traceback ...")
    assert fit_report(report, 10_000) is report


def test_cut_middle_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    assert cut_middle("abcdefghij", 4) == "ab … 6 characters cut … ij"
    assert cut_middle("ab\ncdefghij", 4) == "ab\n… 7 characters cut …\nij"
    assert cut_middle("short", 10) == "short"


@pytest.mark.parametrize("filler", ["X", "é", "\x00", "😀"])  # 1, 2, 6 (\u0000) and 4 bytes in the JSON
def test_long_texts_are_cut_to_fit_whatever_their_characters_take(filler: str) -> None:
    report = ErrorReport(
        error="ValueError: " + filler * 50_000 + " end",
        stack="Traceback (most recent call last):\n" + filler * 80_000 + "\nValueError: the raise site",
        context={"file": "a.py", "line": 3, "log_message": filler * 30_000, "short": "kept whole"},
    )
    fitted = fit_report(report, 20_000)
    assert fitted is not None and len(fitted.to_bytes()) <= 20_000
    assert fitted.error.startswith("ValueError: ") and fitted.error.endswith(" end")
    assert fitted.stack.startswith("Traceback") and fitted.stack.endswith("ValueError: the raise site")
    extra = fitted.context.model_extra or {}
    assert extra["short"] == "kept whole" and (fitted.context.file, fitted.context.line) == ("a.py", 3)
    assert extra["truncated"] == {"error": len(report.error), "stack": len(report.stack),
                                  "context.log_message": 30_000}


def test_a_report_whose_bulk_cannot_be_cut_does_not_fit() -> None:
    report = ErrorReport(error="boom", context={f"k{i}": i for i in range(5000)})
    assert fit_report(report, 20_000) is None
