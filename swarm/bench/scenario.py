"""A scenario file (`configs/scenarios/*.yaml`): reports to publish, faults to inject, the events expected.

    scenario = Scenario.load(Path("configs/scenarios/fix.yaml"))

    name: fix
    repository: demo_case            # optional: a generated regression (support.demo_case) the swarm fixes
    config: {heartbeat_interval_s: 1}  # merged over configs/swarm.yaml
    publish:
      - report: case                 # the regression's own crash report ('case'), or fields of build_report
        copies: 1                    # msg_id false: every copy reaches the stream (past the duplicate window)
      - raw: "{not json"             # bytes as they are (poison)
    faults:
      - do: kill_actor               # kill -9 of an actor's process (Ray restarts pool actors)
        actor: implement-0
        after: events:fix_committed  # when this was seen (plus after_s); without `after`: after_s from the start
      - do: nats_outage              # stop the runner's own nats-server for duration_s, restart it on its store
        duration_s: 8
    expect:                          # in this order, each within its bound (seconds from the start)
      - {event: "events:investigation_started", within_s: 60}
      - {event: "results:fixed", within_s: 300}
    counts: {"results:fixed": 1, "dead_letters:*": 0}   # exact counts at the end ('*': any name)

Event keys are `<on>:<name>`: `events:<event_type>` (the bloodstream's domain events),
`results:<status>`, `dead_letters:<error_type>`, `rejections:<category>`; `<on>:*` matches any name.
Bounds count from the moment the reports are published (after the swarm started).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from swarm.errors import InvalidInput, explain

__all__ = ["Scenario", "Publish", "Fault", "Expect", "TAPS"]

TAPS = ("events", "results", "dead_letters", "rejections")


def _key(value: str) -> str:
    on, sep, name = value.partition(":")
    if not sep or on not in TAPS or not name:
        raise ValueError(f"{value!r} is not '<on>:<name>' with <on> one of {', '.join(TAPS)}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Publish(_Strict):
    report: Literal["case"] | dict[str, Any] | None = None
    raw: str | None = None
    copies: int = Field(default=1, ge=1)
    msg_id: bool = True
    env: str = "default"


class Fault(_Strict):
    do: Literal["kill_actor", "nats_outage"]
    after: str | None = None
    after_s: float = 0.0
    actor: str = "implement-0"
    duration_s: float = 8.0

    _after = field_validator("after")(lambda cls, v: None if v is None else _key(v))


class Expect(_Strict):
    event: str
    within_s: float = 300.0

    _event = field_validator("event")(lambda cls, v: _key(v))


class Scenario(_Strict):
    name: str
    description: str = ""
    repository: Literal["demo_case"] | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    publish: list[Publish] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    expect: list[Expect] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    timeout_s: float = 600.0
    path: str = ""

    @field_validator("counts")
    @classmethod
    def _counts(cls, value: dict[str, int]) -> dict[str, int]:
        return {_key(k): v for k, v in value.items()}

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInput(f"scenario {path}: cannot read it: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput(f"scenario {path}: expected a mapping at the top")
        try:
            return cls.model_validate({**data, "path": str(path)})
        except ValidationError as exc:
            where = explain(exc)
            raise InvalidInput(f"scenario {path}: {where}") from exc
