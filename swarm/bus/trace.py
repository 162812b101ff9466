"""W3C trace context in NATS headers (OpenTelemetry propagator). No exporter here.

headers = inject_headers({})            # adds traceparent (and tracestate) of the current span
ctx = extract_context(msg.headers)      # on the consuming side: a Context to start spans in
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

__all__ = ["inject_headers", "extract_context", "trace_id_of", "current_trace_id"]


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
