"""Publish one ErrorReport to its error stream, with the signature as JetStream Msg-Id.

    report = build_report("KeyError: 'user_id'", env="production", file="app/api.py", line=42)
    outcome = await publish_report(bus, report)
    outcome.stream, outcome.sequence, outcome.duplicate      # ('PAYMENTS_PRODUCTION_ERRORS', 7, False)

The header `Nats-Msg-Id: {ns}-{env}-{signature}[-{release}]` never contains a timestamp, so JetStream
drops a repeat of the same error inside the stream's duplicate window (`duplicate=True` in the PubAck);
the release is part of it, so the first occurrence of an old error in a new release is stored.
nats-py and pydantic exceptions are mapped into swarm's error tree here, at the boundary.

Text that is not UTF-8 (bytes kept as lone surrogates by Python's 'surrogateescape', or a JSON
`\\ud800`-style escape) cannot be sent: `build_report` refuses it with InvalidInput naming the field, while
`report_from_exception` escapes it (`\\xff`), because a caught exception's report must not be lost.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import nats.errors
import nats.js.errors
from pydantic_core import PydanticSerializationError

from swarm.bus.connect import Bus
from swarm.bus.names import HDR_SIGNATURE, Names
from swarm.errors import ConfigError, InvalidInput, NatsUnavailable, TransientError
from swarm.models import ErrorReport
from swarm.reporting.frameargs import frame_arguments

__all__ = [
    "TOO_LARGE", "Published", "build_report", "report_from_exception", "publish_report", "relative_path", "encodable",
]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_SURROGATE = re.compile("[\ud800-\udfff]")
TOO_LARGE = "error report too large for the server"


@dataclass(frozen=True)
class Published:
    """What JetStream answered for one report."""

    subject: str
    stream: str
    sequence: int
    duplicate: bool
    msg_id: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def relative_path(path: str, root: str | None = None) -> str:
    """`path` relative to `root` when inside it, else unchanged. Without `root`: relative to the import root
    that holds it (the longest `sys.path` entry it is under, as a module's name is), else to the working
    directory.

    Relative paths keep one error's signature equal across hosts that deploy to different folders, and
    across working directories: the same service started from two folders reported `src/app/rates.py` and
    `app/rates.py`, two signatures and two investigations for one error.
    """
    absolute = os.path.abspath(path)
    base = os.path.abspath(root) if root else _import_root(absolute) or os.getcwd()
    if absolute == base or not absolute.startswith(base.rstrip(os.sep) + os.sep):
        return path
    return os.path.relpath(absolute, base)


def _import_root(absolute: str) -> str | None:
    """The longest `sys.path` entry `absolute` is under ('' is the working directory: not an import root here)."""
    found: str | None = None
    for entry in sys.path:
        if not entry:
            continue
        base = os.path.abspath(entry)
        if absolute.startswith(base.rstrip(os.sep) + os.sep) and (found is None or len(base) > len(found)):
            found = base
    return found


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # U+DC80..U+DCFF is how 'surrogateescape' keeps an undecodable byte: show that byte
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def encodable(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (dict keys and values, lists too) written as an
    escape (`\\xff` for an undecodable byte), so it encodes as UTF-8 and nothing of it is lost."""
    if isinstance(value, str):
        return _SURROGATE.sub(_escape_surrogate, value)
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encodable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(encodable(v) for v in value)
    return value


def _not_utf8(text: str) -> str | None:
    """What keeps `text` from being UTF-8 (the first offending character), or None."""
    match = _SURROGATE.search(text)
    if match is None:
        return None
    code = ord(match.group())
    what = f"byte {code - 0xDC00:#04x}" if 0xDC80 <= code <= 0xDCFF else f"lone surrogate U+{code:04X}"
    return f"{what} at character {match.start()}"


def _check_utf8(field: str, value: Any) -> None:
    """InvalidInput naming `field` (`context.<key>` inside the context) when a string in `value` is not
    UTF-8: JSON encoding would fail only at publish time, with no word of which field it was."""
    if isinstance(value, str):
        problem = _not_utf8(value)
        if problem:
            raise InvalidInput(f"invalid input: {field} is not UTF-8 text ({problem})")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (problem := _not_utf8(key)):
                raise InvalidInput(f"invalid input: key {field}.{encodable(key)} is not UTF-8 text ({problem})")
            _check_utf8(f"{field}.{key}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_utf8(f"{field}[{index}]", item)


def build_report(
    message: str,
    *,
    env: str = "default",
    stack: str = "",
    file: str | None = None,
    line: int | None = None,
    function: str | None = None,
    service: str = "unknown",
    context: dict[str, Any] | None = None,
    release: str | None = None,
    message_label: str = "error",
) -> ErrorReport:
    """An ErrorReport from loose values; explicit file/line/function win over `context` keys.

    Raises InvalidInput for an unknown env or text that is not UTF-8 (naming the field; the message as
    `message_label`, e.g. the command-line option it came from), and pydantic's ValidationError naming the
    field otherwise.
    """
    try:
        Names.env(env)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    ctx = dict(context or {})
    for key, value in (("file", file), ("line", line), ("function", function)):
        if value is not None:
            ctx[key] = value
    release = release or os.environ.get("SWARM_RELEASE") or None
    for field, text in ((message_label, message), ("stack", stack), ("service", service), ("release", release)):
        _check_utf8(field, text)
    _check_utf8("context", ctx)
    return ErrorReport.model_validate(
        {"error": message, "stack": stack, "environment": env, "service": service, "context": ctx, "release": release}
    )


_COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})


def report_from_exception(
    exc_info: ExcInfo,
    *,
    env: str = "default",
    service: str = "unknown",
    context: dict[str, Any] | None = None,
    root: str | None = None,
    release: str | None = None,
    capture_args: bool = True,
) -> ErrorReport:
    """A report of a caught exception: real traceback, and file/line/function of the raise site.

    The raise site is the innermost frame of the traceback; its file is made relative to `root`. Text
    that is not UTF-8 (an undecodable byte in the message, a path, the context) is escaped, not refused.
    With `capture_args`, the arguments of the innermost application function go into `context.args` /
    `context.kwargs` when they are plain data (`swarm.reporting.frameargs`); `context` given here wins.
    """
    exc_type, exc, tb = exc_info
    message = "".join(traceback.format_exception_only(exc_type, exc)).strip() or exc_type.__name__
    stack = "".join(traceback.format_exception(exc_type, exc, tb))
    frames = traceback.extract_tb(tb) if tb is not None else []
    where: dict[str, Any] = {}
    if frames:
        inner = frames[-1]
        # a comprehension runs in a frame of its own (`<listcomp>`): the function is the one that holds it
        named = next((f for f in reversed(frames) if f.name not in _COMPREHENSIONS), inner)
        function = named.name if named.filename == inner.filename else inner.name
        where = {"file": relative_path(inner.filename, root), "line": inner.lineno, "function": function}
    captured = frame_arguments(tb, root) if capture_args else {}
    for call in captured.get("calls", []):  # relative like `context.file`: the deploy folder is no one's business
        call["file"] = relative_path(call["file"], root)
    return build_report(
        encodable(message), env=env, stack=encodable(stack), service=service,
        context=encodable({**captured, **(context or {}), **where}),
        release=release,
    )


async def publish_report(bus: Bus, report: ErrorReport, timeout: float = 5.0) -> Published:
    """Publish to `{ns}.errors[.env]` with Msg-Id `{ns}-{env}-{signature}[-{release}]`; the trace context
    rides along."""
    names, env = bus.names, report.environment
    subject, signature = names.errors(env), report.signature
    msg_id = names.msg_id(env, signature, report.release)
    try:
        data = report.to_bytes()  # before publishing: a report that cannot be encoded never will be
    except PydanticSerializationError as exc:
        # the library's message quotes the offending character: escaped, so the reason itself can be printed
        raise InvalidInput(f"error report cannot be encoded as JSON: {encodable(str(exc))}") from exc
    room = bus.payload_room()
    if len(data) > room:  # the server would close the connection on it (its max payload counts the headers)
        raise InvalidInput(f"{TOO_LARGE} ({len(data)} bytes, it takes at most {room}); shorten the stack or context")
    try:
        ack = await bus.publish(subject, data, msg_id=msg_id, headers={HDR_SIGNATURE: signature}, timeout=timeout)
    except (nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError) as exc:
        raise ConfigError(
            f"no stream takes {subject!r} on this server: provision namespace {names.ns!r} first "
            "(`swarm streams provision`)"
        ) from exc
    except nats.errors.MaxPayloadError as exc:
        raise InvalidInput(f"{TOO_LARGE} ({exc}); shorten the stack or context") from exc
    except nats.js.errors.APIError as exc:
        raise TransientError(f"JetStream refused the report on {subject!r}: {exc}") from exc
    except (TimeoutError, nats.errors.Error) as exc:  # timeouts, closed or reconnecting connection
        raise NatsUnavailable(f"publishing to {subject!r} failed: {type(exc).__name__}: {exc}") from exc
    return Published(subject, ack.stream, ack.seq, bool(ack.duplicate), msg_id, signature)
