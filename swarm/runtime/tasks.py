"""Operator-submitted work: an investigation asked for on `{ns}.tasks.investigation`, without an error stream.

    published = await submit_investigation(bus, report)        # `swarm investigate --submit`
    report = report_of_task(msg.data)                           # intake: the task's report, or InvalidInput

A task is a `Task(kind="investigation", payload={"report": <ErrorReport>})`; any NATS client can put
one on the subject (the TASKS stream keeps it until intake settles it). Intake takes it exactly like an
error report: the same grouping by signature, the same injection filter and budget, the same
settlement (a malformed task is dead-lettered with the reason).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nats.errors
import nats.js.errors
from pydantic import ValidationError

from swarm.bus.connect import Bus
from swarm.errors import ConfigError, InvalidInput, explain
from swarm.models import ErrorReport, Task

__all__ = ["INVESTIGATION", "investigation_task", "read_report_file", "report_of_task", "report_of_message",
           "report_of_text", "submit_investigation"]

INVESTIGATION = "investigation"


def investigation_task(report: ErrorReport, by: str = "") -> Task:
    return Task(kind=INVESTIGATION, payload={"report": report.model_dump(mode="json"), "by": by})


def report_of_task(data: bytes) -> ErrorReport:
    """The ErrorReport an investigation task asks about; InvalidInput naming what is wrong otherwise."""
    try:
        task = Task.model_validate_json(data)
    except ValidationError as exc:
        raise InvalidInput(f"invalid Task: {explain(exc)}") from exc
    if task.kind != INVESTIGATION:
        raise InvalidInput(f"invalid Task: kind {task.kind!r} on the investigation subject "
                           f"(expected {INVESTIGATION!r})")
    if not isinstance(task.payload.get("report"), dict):
        raise InvalidInput("invalid Task: payload.report: an ErrorReport object is required")
    try:
        return ErrorReport.model_validate(task.payload["report"])
    except ValidationError as exc:
        raise InvalidInput(f"invalid Task: payload.report.{explain(exc)}") from exc


def report_of_message(data: bytes) -> ErrorReport | None:
    """The report a stored message (an error report or an investigation task) is about; None if neither."""
    try:
        return ErrorReport.model_validate_json(data)
    except ValidationError:
        pass
    try:
        return report_of_task(data)
    except InvalidInput:
        return None


def report_of_text(text: str) -> ErrorReport:
    """The ErrorReport of an `--error-file`: the report itself, or a line of `swarm errors tail --json` (its
    `report`, beside `subject`, `msg_id` and `signature`). ValidationError when it is neither."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "error" not in data and isinstance(data.get("report"), dict):
        return ErrorReport.model_validate(data["report"])
    return ErrorReport.model_validate_json(text)


def read_report_file(path: Path) -> ErrorReport:
    """`--error-file PATH` ('-': stdin) as an ErrorReport; InvalidInput naming what is wrong otherwise."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read --error-file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"--error-file {path} is not UTF-8 text ({exc.reason})") from exc
    try:
        return report_of_text(text)
    except ValidationError as exc:
        raise InvalidInput(f"--error-file {path} is not an ErrorReport: {explain(exc, 'report')}") from exc


async def submit_investigation(bus: Bus, report: ErrorReport, by: str = "") -> dict[str, Any]:
    """Put an investigation task on `{ns}.tasks.investigation`; what JetStream answered, and the task."""
    task = investigation_task(report, by)
    names = bus.names
    try:
        ack = await bus.publish(names.task_investigation, task, msg_id=names.task_msg_id(task.task_id))
    except (nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError) as exc:
        raise ConfigError(f"no stream takes {names.task_investigation!r} on this server: provision namespace "
                          f"{names.ns!r} first (`swarm streams provision`)") from exc
    return {"task_id": task.task_id, "subject": names.task_investigation, "stream": ack.stream, "sequence": ack.seq,
            "signature": report.signature, "duplicate": bool(ack.duplicate)}
