"""W3C trace context in NATS headers (OpenTelemetry propagator). No exporter here.

headers = inject_headers({})            # adds traceparent (and tracestate) of the current span
ctx = extract_context(msg.headers)      # on the consuming side: a Context to start spans in
with publish_span(subject, msg_id):     # a PRODUCER span with the messaging semantic conventions
    headers = inject_headers({})
recording_nowhere(provider)             # its spans go to no processor: a publish in a trace makes no span

A provider marked `recording_nowhere` (an actor with no OTEL exporter: `setup_tracing`) still gives every
message a trace: a publish without a trace starts one (a root PRODUCER span), a publish inside one carries
it on in its headers; only the PRODUCER span of the latter is not made, which nobody would see. A span
costs about as much as the publish itself, and an investigation publishes some thirty messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from swarm.bus.names import HDR_TRACEPARENT

__all__ = [
    "inject_headers",
    "extract_context",
    "trace_id_of",
    "current_trace_id",
    "messaging_attributes",
    "publish_span",
    "tracer",
    "recording_nowhere",
]


_TRACERS: dict[tuple[int, str], trace.Tracer] = {}
_NOWHERE: set[int] = set()  # id() of tracer providers whose spans go to no processor


def recording_nowhere(provider: trace.TracerProvider) -> None:
    """`provider` exports nothing: `publish_span` need not make a span for a publish already in a trace."""
    _NOWHERE.add(id(provider))


def tracer(name: str) -> trace.Tracer:
    """The current provider's tracer `name`, made once per provider: `trace.get_tracer` builds a new
    Tracer (scope, deprecation checks) on every call, and every publish starts a span."""
    provider = trace.get_tracer_provider()
    key = (id(provider), name)
    found = _TRACERS.get(key)
    if found is None:
        found = _TRACERS[key] = provider.get_tracer(name)
    return found


def inject_headers(headers: dict[str, str] | None = None, ctx: otel_context.Context | None = None) -> dict[str, str]:
    """Return headers with the current (or given) trace context injected."""
    headers = dict(headers or {})
    propagate.inject(headers, context=ctx)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The trace context a publisher put into the headers (empty context when none)."""
    return propagate.extract(dict(headers or {}))


def trace_id_of(headers: Mapping[str, str] | None) -> str | None:
    """The 32-hex trace id in a message's traceparent header, if any."""
    span = trace.get_current_span(extract_context(headers))
    sc = span.get_span_context()
    return format(sc.trace_id, "032x") if sc.is_valid else None


def current_trace_id() -> str | None:
    sc = trace.get_current_span().get_span_context()
    return format(sc.trace_id, "032x") if sc.is_valid else None


def messaging_attributes(destination: str, operation: str, message_id: str | None = None) -> dict[str, Any]:
    """OpenTelemetry messaging semantic-convention attributes of a NATS span."""
    attrs: dict[str, Any] = {
        "messaging.system": "nats",
        "messaging.destination.name": destination,
        "messaging.operation": operation,
        "messaging.operation.type": operation,
    }
    if message_id:
        attrs["messaging.message.id"] = message_id
    return attrs


@contextlib.contextmanager
def publish_span(
    subject: str, message_id: str | None = None, headers: Mapping[str, str] | None = None
) -> Iterator[None]:
    """A PRODUCER span `publish <subject>`; its parent is the current span, else the trace in `headers`
    (a re-published message keeps its trace)."""
    if id(trace.get_tracer_provider()) in _NOWHERE and (
        trace.get_current_span().get_span_context().is_valid or HDR_TRACEPARENT in (headers or {})
    ):
        yield  # in a trace already, and no span is exported: the headers carry that trace on
        return
    parent = None if trace.get_current_span().get_span_context().is_valid else extract_context(headers)
    attrs = messaging_attributes(subject, "publish", message_id)
    with tracer("swarm.bus").start_as_current_span(f"publish {subject}", context=parent, kind=trace.SpanKind.PRODUCER,
                                      attributes=attrs):
        yield
