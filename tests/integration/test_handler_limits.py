"""The logging handler at the server's limits (real nats-server, 1 MB max payload): a report too large is cut
down to fit, one that cannot fit is dropped, counted and said once on stderr; the CLI refuses the same case."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from swarm.bus.settings import Settings
from swarm.cli import app
from swarm.models import ErrorContext, ErrorReport
from swarm.reporting.handler import NatsErrorHandler
from tests.integration.test_foundation_handler import logger, provision_ns, stored  # noqa: F401 - fixture

MAX_PAYLOAD = 1024 * 1024  # the test server's default
runner = CliRunner()


def raise_huge(size: int) -> None:
    raise ValueError(f"size{size} head " + "X" * size + " the tail")


def test_a_report_larger_than_the_max_payload_is_cut_down_to_fit_keeping_head_and_tail(
    logger: logging.Logger, settings: Settings  # noqa: F811 - the fixture
) -> None:
    provision_ns(settings)
    handler = NatsErrorHandler(settings, env="staging", service="big")
    logger.addHandler(handler)
    for size in (10, 1_100_000, 3_000_000):
        try:
            raise_huge(size)
        except ValueError:
            logger.exception("huge %d", size)
    assert handler.flush(30), handler.last_error

    small, medium, large = stored(settings, "staging")
    assert small.error == "ValueError: size10 head XXXXXXXXXX the tail" and "truncated" not in (
        small.context.model_extra or {})
    for report, size in ((medium, 1_100_000), (large, 3_000_000)):
        assert len(report.to_bytes()) < MAX_PAYLOAD
        assert report.error.startswith(f"ValueError: size{size} head XXX") and report.error.endswith("XXX the tail")
        assert " characters cut … " in report.error
        assert report.stack.startswith("Traceback (most recent call last):")
        assert "in raise_huge" in report.stack and report.stack.rstrip().endswith("XXX the tail")
        assert "characters cut" in report.stack
        cut = (report.context.model_extra or {})["truncated"]
        assert set(cut) == {"error", "stack"} and cut["error"] == len(f"ValueError: size{size} head  the tail") + size
        assert (report.context.function, report.context.line) == ("raise_huge", small.context.line)
    assert (handler.published, handler.truncated, handler.dropped, handler.failed) == (3, 2, 0, 0)


class Unfittable(NatsErrorHandler):
    """A report whose bulk is thousands of small context fields: nothing long enough to cut."""

    def _report(self, record: logging.LogRecord) -> ErrorReport | None:
        report = super()._report(record)
        if report is not None and record.getMessage() == "unfittable":
            context = report.context.model_dump() | {f"field_{i}": i for i in range(120_000)}
            return report.model_copy(update={"context": ErrorContext.model_validate(context)})
        return report


def test_a_report_that_cannot_fit_is_dropped_counted_and_said_once_on_stderr(
    logger: logging.Logger, settings: Settings, capsys: pytest.CaptureFixture[str]  # noqa: F811 - the fixture
) -> None:
    provision_ns(settings)
    handler = Unfittable(settings, env="staging", retry_max_s=0.2)
    logger.addHandler(handler)
    for message in ("unfittable", "unfittable", "later"):
        try:
            raise RuntimeError(message)
        except RuntimeError:
            logger.exception(message)
    assert handler.flush(30), handler.last_error
    assert [r.error for r in stored(settings, "staging")] == ["RuntimeError: later"]
    assert (handler.published, handler.dropped, handler.failed) == (1, 2, 2)
    assert handler.dropped_by_reason == {"too large": 2}
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("swarm reporting: ")]
    assert len(warned) == 1, err  # once, not once per report
    assert "was dropped: it does not fit the server's max payload" in warned[0]
    assert "counted in handler.dropped" in warned[0]
    assert list(handler.notices.lines) == warned


def test_the_cli_refuses_a_report_too_large_naming_the_sizes(cli_env: dict[str, str], settings: Settings) -> None:
    provision_ns(settings)
    result = runner.invoke(app, ["errors", "report", "--message", "boom", "--stack", "-", "--json"],
                           input="x" * 2_000_000)
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error.startswith("error report too large for the server (2000") and "it takes at most" in error
    assert error.endswith("shorten the stack or context")
