"""`swarm investigate --error-file` takes a report, or a line of `swarm errors tail --json` as it is printed
(review 24: the tail line wraps the report in `{subject, msg_id, signature, report}` and nothing said which)."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest
from pydantic import ValidationError

from swarm.models import ErrorReport
from swarm.reporting.cli import _print_tail
from swarm.runtime.tasks import report_of_text as report_of


def test_a_tail_line_or_the_report_itself_is_the_same_report() -> None:
    report = ErrorReport(error="KeyError: 'sku'", service="shop", context={"file": "shop/cart.py", "line": 7})
    out = io.StringIO()
    with redirect_stdout(out):
        _print_tail("default.errors.production.shop", "m-1", report, None, b"", True)
    line = out.getvalue()
    assert '"subject"' in line and '"report"' in line
    assert report_of(line) == report == report_of(report.model_dump_json())
    with pytest.raises(ValidationError):
        report_of('{"subject": "x", "msg_id": null, "malformed": "not JSON", "data": "??"}')
