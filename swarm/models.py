"""Every payload that crosses the wire, one pydantic model each, in this one place.

    >>> r = ErrorReport(error="KeyError: 'user_id'", context={"file": "app/api.py", "line": 12})
    >>> r.environment, len(r.signature)
    ('default', 64)
    >>> ErrorReport.model_validate_json(r.to_bytes()) == r
    True

Each model carries `schema_version`; `swarm schemas export DIR` writes their JSON Schemas.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarm.signature import signature as _signature

__all__ = [
    "Payload",
    "ErrorContext",
    "ErrorReport",
    "Task",
    "DeployMarker",
    "InvestigationStatus",
    "TestCounts",
    "Repro",
    "Result",
    "ResultStatus",
    "DeadLetter",
    "SecurityRejection",
    "Heartbeat",
    "Audit",
    "Injury",
    "DomainEvent",
    "BrainDead",
    "AgentMessage",
    "MESSAGE_KINDS",
    "PAYLOADS",
    "utcnow",
    "new_id",
]

Environment = Literal["default", "staging", "production"]
ResultStatus = Literal["fixed", "no_fix", "failed", "rejected"]
EXCERPT_LIMIT = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


class Payload(BaseModel):
    """Base of every wire payload: JSON in, JSON out, versioned."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    schema_version: int = 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class ErrorContext(BaseModel):
    """Where the error happened; any further fields are kept as free context."""

    model_config = ConfigDict(extra="allow")
    file: str | None = None
    line: int | None = Field(default=None, ge=0, le=2**31 - 1)  # an int32 for publishers in typed languages
    function: str | None = None
    request_id: str | None = None


_DECLARED_CONTEXT = frozenset(ErrorContext.model_fields)  # file, line, function, request_id: the rest is free


class ErrorReport(Payload):
    """One occurrence of an application error, published to `{ns}.errors[.env]`."""

    error: str = Field(min_length=1, description="the error message, e.g. \"KeyError: 'user_id'\"")
    stack: str = ""
    timestamp: datetime = Field(default_factory=utcnow)
    environment: Environment = "default"
    service: str = "unknown"
    release: str | None = Field(default=None, description="the service's release (version) that failed")
    context: ErrorContext = Field(default_factory=ErrorContext)

    @field_validator("error")
    @classmethod
    def _error_has_text(cls, value: str) -> str:
        if value.isspace():  # nothing to group by nor to investigate
            raise ValueError("the error message is only whitespace")
        return value

    @field_validator("release")
    @classmethod
    def _release_is_a_version(cls, value: str | None) -> str | None:
        # it is part of the Nats-Msg-Id header: a line break would be turned into spaces there (the Msg-Id
        # printed and the one stored differed), and a blank one would key nothing apart
        if value is None:
            return None
        if not value.strip():
            raise ValueError("the release is only whitespace")
        if len(value) > 128:
            raise ValueError(f"the release is {len(value)} characters long; 128 at most (a version or a commit)")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError(f"the release {value!r} contains a control character (it goes into a header)")
        return value

    @property
    def signature(self) -> str:
        return _signature(self.error, self.context.file, self.context.line)

    def texts(self) -> dict[str, str]:
        """Every untrusted text field by name (for the injection filter): all the agents read of a report. A
        structured context value (the arguments a reporter captured: lists, dicts) gives its strings, keys too, one
        per line; a free context key is a field of its own (`context.<key>#key`), and so is the release.

            ErrorReport(error="E", context={"tenant": "acme"}).texts()
            # -> {"error": "E", "service": "unknown", "context.tenant#key": "tenant", "context.tenant": "acme"}
        """
        out = {"error": self.error, "stack": self.stack, "service": self.service, "release": self.release or ""}
        for key, value in self.context.model_dump(exclude_none=True).items():
            if key not in _DECLARED_CONTEXT:  # a key the reporter chose is text too (it was read by nothing)
                out[f"context.{key}#key"] = key
            if isinstance(value, list | dict):
                out[f"context.{key}"] = "\n".join(dict.fromkeys(_strings(value)))
            else:
                out[f"context.{key}"] = value if isinstance(value, str) else str(value)
        return {k: v for k, v in out.items() if v}

    def data_fields(self) -> set[str]:
        """The fields of `texts()` that hold structured data (captured arguments): their lines are values."""
        return {f"context.{k}" for k, v in self.context.model_dump(exclude_none=True).items()
                if isinstance(v, list | dict)}


def _strings(value: Any, depth: int = 0) -> list[str]:
    """The strings of a JSON-like value, keys included, in order (depth bounded: a report is finite anyway)."""
    if isinstance(value, str):
        return [value]
    if depth > 32:
        return [str(value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k, depth + 1), *_strings(v, depth + 1))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v, depth + 1)]
    return []


class Task(Payload):
    task_id: str = Field(default_factory=lambda: new_id("task-"))
    kind: str
    investigation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)


class DeployMarker(Payload):
    """A service was deployed (`swarm deploy mark`, or CI): fixed errors that come back after it reopen."""

    service: str = Field(min_length=1)
    version: str = Field(min_length=1)
    environment: Environment | None = None  # None: every environment of the service
    by: str = ""
    timestamp: datetime = Field(default_factory=utcnow)


class InvestigationStatus(Payload):
    investigation_id: str
    signature: str
    status: str
    cycle: int = 1
    phase: str | None = None
    detail: str = ""
    occurrences: int = 1
    timestamp: datetime = Field(default_factory=utcnow)


class TestCounts(BaseModel):
    __test__ = False  # not a pytest class
    passed: int = 0
    failed: int = 0
    errors: int = 0
    ok: bool = False
    output_tail: str = ""
    failing: list[str] = Field(default_factory=list, description="the failing tests as the run named them "
                               "(pytest's summary, unittest's FAIL / ERROR lines; at most 200)")


class Repro(BaseModel):
    """How the error was reproduced: a failing test, a call built from the stack, the suite, or none."""

    kind: Literal["test", "built", "suite", "none"] = "none"
    command: str = ""
    target: str = ""
    detail: str = ""
    flaky: bool = False
    # the report's values fail the call at every commit that runs it: no commit of that function is to blame,
    # and a patch at the crash site that makes it pass is not claimed (it would change what the function accepts)
    never_passed: bool = False


class Result(Payload):
    """The outcome of one investigation, on `{ns}.results.<status>.<id>` with Msg-Id = id."""

    investigation_id: str
    signature: str
    status: ResultStatus
    service: str = "unknown"
    environment: Environment = "default"
    root_cause: str = ""
    suspect_commit: str | None = None
    suspect_method: Literal["bisected", "ranked"] | None = Field(
        default=None, description="bisected: found with the repro; ranked: from blame and history (no repro)")
    repro: Repro | None = None
    branch: str | None = None
    fix_commit: str | None = None
    summary: str = ""
    tests_before: TestCounts | None = None
    tests_after: TestCounts | None = None
    cycles: int = 0
    occurrences: int = 1
    duration_s: float = 0.0
    error: str | None = None
    release: str | None = None
    previous_investigation_id: str | None = Field(
        default=None, description="the earlier investigation of this signature that this one reopens")
    regression: bool = Field(default=False, description="the error came back after it was fixed")
    pr_url: str | None = Field(default=None, description="the pull / merge request opened from the fix branch")
    approval: str | None = Field(default=None, description="the operator's decision on the fix, when gated")
    pushed_to: str | None = Field(
        default=None, description="'<remote> <branch>' the fix branch was pushed to (merged or not: see pr_url)")
    regression_test: str | None = Field(
        default=None, description="the test file committed with the fix: the repro's call, failing without the fix")
    timestamp: datetime = Field(default_factory=utcnow)


class DeadLetter(Payload):
    """What could not be processed, with the reason and the original bytes."""

    reason: str
    error_type: str = "InvalidInput"
    source_subject: str | None = None
    source_stream: str | None = None
    source_sequence: int | None = None
    deliveries: int | None = None
    payload: str = Field(default="", description="original payload (utf-8, or base64: prefix 'b64:'); "
                         "a prefix of it when payload_truncated")
    headers: dict[str, str] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utcnow)
    payload_size: int | None = Field(default=None, description="size of the original payload in bytes")
    payload_sha256: str | None = Field(default=None, description="sha256 (hex) of the original payload")
    payload_truncated: bool = False
    payload_object: str | None = Field(default=None, description="'bucket/name' of the original in an object store")

    @staticmethod
    def encode_payload(data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            return "b64:" + base64.b64encode(data).decode("ascii")

    @classmethod
    def bounded(cls, data: bytes, *, max_bytes: int, prefix_bytes: int = 64 * 1024, **fields: Any) -> DeadLetter:
        """A DeadLetter whose JSON stays under `max_bytes` (the server's max payload, less room for
        headers): the original's size and sha256 always, its bytes whole when they fit, else a prefix
        of at most `prefix_bytes` (cut on a character boundary; header values cut to 1 KiB)."""
        import hashlib

        fields["headers"] = {k: v[:1024] for k, v in (fields.get("headers") or {}).items()}
        letter = cls(payload_size=len(data), payload_sha256=hashlib.sha256(data).hexdigest(), **fields)
        room = max_bytes - len(letter.model_dump_json().encode())
        keep = min(len(data), prefix_bytes)
        while True:
            text = cls.encode_payload(_utf8_prefix(data, keep)) if keep < len(data) else cls.encode_payload(data)
            candidate = letter.model_copy(update={"payload": text, "payload_truncated": keep < len(data)})
            if len(candidate.model_dump_json().encode()) <= max_bytes or keep == 0:
                return candidate
            keep = min(keep // 2, max(0, room // 2))


def _utf8_prefix(data: bytes, n: int) -> bytes:
    """The first n bytes, less a multi-byte character cut in half (a utf-8 payload stays utf-8)."""
    cut = data[:n]
    for drop in range(4):
        try:
            (cut[: len(cut) - drop] if drop else cut).decode("utf-8")
            return cut[: len(cut) - drop] if drop else cut
        except UnicodeDecodeError:
            continue
    return cut  # not utf-8 at all: encoded as base64


class SecurityRejection(Payload):
    reason: str
    rule_ids: list[str] = Field(default_factory=list)
    category: str = ""
    field: str = ""
    score: float = 0.0  # the rules' score
    model_score: float | None = None  # the learned model's score (None: no model ran)
    model_threshold: float | None = None
    encoder_score: float | None = None  # the encoder head's score (None: it did not run; it runs on uncertain texts)
    encoder_threshold: float | None = None
    fired: str = ""  # which part rejected: rules | model | both
    excerpt: str = Field(default="", max_length=EXCERPT_LIMIT)
    text_sha256: str = ""  # SHA-256 of the whole field the excerpt starts: what an operator's release binds to
    model_clause: str = Field(default="", max_length=EXCERPT_LIMIT)  # the clause the model objected to most
    signature: str = ""
    service: str = "unknown"
    timestamp: datetime = Field(default_factory=utcnow)

    @field_validator("excerpt", mode="before")
    @classmethod
    def _cut(cls, value: str) -> str:
        return (value or "")[:EXCERPT_LIMIT]


class Heartbeat(Payload):
    service: str
    role: str = ""
    status: Literal["ok", "degraded", "draining", "stopping"] = "ok"
    cpu_percent: float = 0.0
    memory_mb: float = 0.0
    active_investigations: int = 0
    interval_s: float = 5.0
    timestamp: datetime = Field(default_factory=utcnow)


class Audit(Payload):
    audit_id: str = Field(default_factory=lambda: new_id("audit-"))
    actor: str
    action: str
    target: str = ""
    outcome: str = "ok"
    investigation_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utcnow)


class Injury(Payload):
    injury_id: str = Field(default_factory=lambda: new_id("injury-"))
    injury_type: str
    affected_service: str
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    recommended_action: str = ""
    auto_heal: bool = False
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utcnow)


class DomainEvent(Payload):
    event_id: str = Field(default_factory=lambda: new_id("evt-"))
    event_type: str
    investigation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utcnow)


class BrainDead(Payload):
    brain: str
    reason: str
    investigation_id: str | None = None
    attempts: int = 0
    fallback: str | None = None
    timestamp: datetime = Field(default_factory=utcnow)


MESSAGE_KINDS: tuple[str, ...] = ("plan", "finding", "tool_call", "tool_result", "patch", "review", "status", "notice")


class AgentMessage(Payload):
    """One agent message: `{ns}.workflow.run.<run_id>.<kind>`, or `{ns}.workflow.general.<kind>` when
    `run_id` is empty (swarm-wide notices). `content` is markdown (untrusted: render it sanitised).

    `run_id` is the workflow id, `sender` the agent id; `kind` is one NATS subject token, usually one
    of MESSAGE_KINDS (agents may use finer ones, e.g. `fix`, `result`, `tests`).
    """

    message_id: str = Field(default_factory=lambda: new_id("msg-"))
    run_id: str = ""
    workflow_name: str = "investigation"
    namespace: str = ""
    sender: str
    role: str = ""
    recipient: str = "all"
    kind: str = Field(default="note", pattern=r"^[^\s.*>]+$")
    content: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = None
    timestamp: datetime = Field(default_factory=utcnow)


PAYLOADS: dict[str, type[Payload]] = {
    cls.__name__: cls
    for cls in (
        ErrorReport,
        Task,
        DeployMarker,
        InvestigationStatus,
        Result,
        DeadLetter,
        SecurityRejection,
        Heartbeat,
        Audit,
        Injury,
        DomainEvent,
        BrainDead,
        AgentMessage,
    )
}
