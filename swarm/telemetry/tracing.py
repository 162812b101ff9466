"""Tracing across NATS and Ray: spans that continue the trace context a publisher put in headers.

    setup_tracing("intake-0")                              # once per process (Ray actor)
    with span_from_headers("intake", msg.headers) as carrier:
        await orchestrator.investigate.remote(req | {"trace": carrier})   # crosses a Ray boundary
    with span_from_carrier("phase.plan", req["trace"]):
        await bus.publish(...)                             # headers get the same trace id

A carrier is a plain dict (`traceparent`, `tracestate`) so it pickles across Ray. Spans are
recorded by the OpenTelemetry SDK; exporting is configured by the standard OTEL_* environment
(`OTEL_TRACES_EXPORTER=console` prints them); by default nothing is exported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from swarm.bus.trace import extract_context, inject_headers

__all__ = ["setup_tracing", "span_from_headers", "span_from_carrier", "current_carrier"]

_configured = False


def setup_tracing(service: str) -> None:
    """Install the SDK tracer provider once per process (idempotent)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"swarm.{service}"}))
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def current_carrier() -> dict[str, str]:
    return inject_headers({})


@contextlib.contextmanager
def span_from_headers(name: str, headers: Mapping[str, str] | None, **attributes: str) -> Iterator[dict[str, str]]:
    """Start a span whose parent is the context in `headers`; yield a carrier for the next hop."""
    tracer = trace.get_tracer("swarm")
    with tracer.start_as_current_span(name, context=extract_context(headers), attributes=attributes):
        yield current_carrier()


span_from_carrier = span_from_headers
