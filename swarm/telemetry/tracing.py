"""Tracing across NATS and Ray: spans that continue the trace context a publisher put in headers.

    setup_tracing("intake-0")                              # once per process (Ray actor)
    with span_from_headers("process swarm.errors", msg.headers, **messaging("ns.errors", "process")) as carrier:
        await orchestrator.investigate.remote(req | {"trace": carrier})   # crosses a Ray boundary
    with span_from_carrier("phase.plan", req["trace"]):
        await bus.publish(...)                             # headers get the same trace id
    flush_tracing()                                        # before the process goes away

A carrier is a plain dict (`traceparent`, `tracestate`) so it pickles across Ray. Spans are recorded by
the OpenTelemetry SDK; exporting follows the standard OTEL_* environment:

- `OTEL_TRACES_EXPORTER=otlp` with `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) and
  `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` (default) or `grpc`; headers, timeouts, certificates and
  the batch processor's `OTEL_BSP_*` are read by the SDK itself;
- `OTEL_TRACES_EXPORTER=console` prints them on stderr; unset or `none`: nothing is exported; any other
  exporter or protocol is a ConfigError naming the variable (`check_otel_env`);
- a command (`only_when_exporting`) waits at most `EXIT_FLUSH_S` at exit for its spans to leave;
- `OTEL_SERVICE_NAME` names the service (default `swarm`); the process (`intake-0`...) is
  `service.instance.id`. `OTEL_RESOURCE_ATTRIBUTES` adds attributes.

Ray actors get the same variables: `actor_runtime_env()` is the `runtime_env` the driver passes.
Span attributes follow the messaging semantic conventions: `messaging(destination, operation)`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind

from swarm.bus.trace import extract_context, inject_headers, recording_nowhere
from swarm.bus.trace import messaging_attributes as messaging
from swarm.bus.trace import tracer as cached_tracer
from swarm.errors import ConfigError
from swarm.secretenv import split_env
from swarm.telemetry.logs import LEVEL_ENV

__all__ = [
    "setup_tracing",
    "check_otel_env",
    "EXIT_FLUSH_S",
    "exporting",
    "flush_tracing",
    "span_from_headers",
    "span_from_carrier",
    "current_carrier",
    "messaging",
    "otel_env",
    "actor_runtime_env",
    "SpanKind",
]

log = logging.getLogger("swarm.telemetry")
_configured = False
_provider: TracerProvider | None = None
# passed to Ray actors: the OTel SDK's own variables and the swarm's metrics port
_ENV_PREFIXES = ("OTEL_", LEVEL_ENV)  # an actor on a cluster, or in a job, has only what its runtime_env gives


def otel_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The telemetry variables of this process, OTEL_* and SWARM_LOG_LEVEL (what every Ray actor must see too)."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k.startswith(_ENV_PREFIXES)}


def actor_runtime_env() -> dict[str, Any] | None:
    """Ray `runtime_env` for an actor: the driver's telemetry variables (`otel_env`; None when there are none)
    but the OTLP headers, which the dashboard would show: those travel in the actor's spec (swarm.secretenv)."""
    env, _ = split_env(otel_env())
    return {"env_vars": env} if env else None


EXPORTERS = ("otlp", "console", "none")
PROTOCOLS = ("http/protobuf", "grpc")
EXIT_FLUSH_S = 2.0  # a command waits at most this long at exit for a collector (one that is down: not 7-10 s)


def _exporters(environ: Mapping[str, str]) -> list[str]:
    return [e.strip() for e in (environ.get("OTEL_TRACES_EXPORTER") or "none").lower().split(",") if e.strip()]


def _protocol(environ: Mapping[str, str]) -> tuple[str, str]:
    """(variable, protocol) of the OTLP traces exporter: the traces-specific variable wins."""
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        if environ.get(name):
            return name, environ[name].strip().lower()
    return "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"


def check_otel_env(environ: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError naming the variable when OTEL_TRACES_EXPORTER or the OTLP protocol is one this
    process cannot honour (a typo would otherwise export nothing, silently)."""
    env = os.environ if environ is None else environ
    unknown = [e for e in _exporters(env) if e not in EXPORTERS]
    if unknown:
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER={env.get('OTEL_TRACES_EXPORTER')!r}: {', '.join(unknown)} is not supported "
            f"(use {', '.join(EXPORTERS)}, comma separated)"
        )
    name, protocol = _protocol(env)
    if "otlp" in _exporters(env) and protocol not in (*PROTOCOLS, "http"):
        raise ConfigError(f"{name}={env.get(name)!r} is not supported (use {' or '.join(PROTOCOLS)})")


def _otlp_exporter() -> SpanExporter:
    if _protocol(os.environ)[1] == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


def exporting() -> bool:
    """Whether OTEL_TRACES_EXPORTER asks for spans to leave the process."""
    wanted = {e.strip() for e in (os.environ.get("OTEL_TRACES_EXPORTER") or "").lower().split(",")}
    return bool(wanted & {"otlp", "console"})


def setup_tracing(service: str, *, only_when_exporting: bool = False) -> None:
    """Install the SDK tracer provider once per process (idempotent), exporting as OTEL_* says.

    Actors always record (every report gets a trace id); a CLI command passes `only_when_exporting=True`
    and leaves the process's tracing alone unless OTEL_TRACES_EXPORTER is set."""
    global _configured, _provider
    check_otel_env()  # each time: a typo is named even where nothing would be exported
    if _configured or (only_when_exporting and not exporting()):
        return
    name = os.environ.get("OTEL_SERVICE_NAME") or "swarm"
    resource = Resource.create({"service.name": name, "service.instance.id": service})
    # a command exits after flushing for at most EXIT_FLUSH_S; the SDK's own exit hook would wait for the
    # exporter's retries (an unreachable collector: ~7 s more on every call)
    provider = TracerProvider(resource=resource, shutdown_on_exit=not only_when_exporting)
    if only_when_exporting:
        atexit.register(flush_tracing, EXIT_FLUSH_S)
    processors = 0
    for exporter in _exporters(os.environ):
        if exporter == "console":
            # stderr: stdout is a command's answer (`--json` prints one document there), never spans
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
            processors += 1
        elif exporter == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
            processors += 1
    if not processors:  # traces still flow in headers; a publish inside one needs no span of its own
        recording_nowhere(provider)
    trace.set_tracer_provider(provider)
    _provider = provider
    _configured = True


def flush_tracing(timeout_s: float = 5.0) -> None:
    """Export the spans still batched (an actor calls it before it is killed), waiting at most `timeout_s`.

    The SDK's batch processor exports in the calling thread and ignores the timeout (a collector that is
    down holds the caller through every retry, ~7 s), so the flush runs in a daemon thread of its own."""
    if _provider is not None:
        flusher = threading.Thread(target=_provider.force_flush, args=(int(timeout_s * 1000),), daemon=True)
        flusher.start()
        flusher.join(timeout_s)


def current_carrier() -> dict[str, str]:
    return inject_headers({})


@contextlib.contextmanager
def span_from_headers(
    name: str, headers: Mapping[str, str] | None, kind: SpanKind = SpanKind.INTERNAL, **attributes: Any
) -> Iterator[dict[str, str]]:
    """Start a span whose parent is the context in `headers`; yield a carrier for the next hop.
    Attribute names with dots are passed as a mapping: `**messaging("ns.errors", "process")`."""
    tracer = cached_tracer("swarm")
    with tracer.start_as_current_span(name, context=extract_context(headers), kind=kind, attributes=attributes):
        yield current_carrier()


span_from_carrier = span_from_headers
