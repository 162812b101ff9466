"""With no span exported (an actor without OTEL_TRACES_EXPORTER), a publish inside a trace carries that
trace on in its headers without a PRODUCER span of its own; a publish outside any trace still starts one."""

from __future__ import annotations

from opentelemetry import trace

from swarm.bus.trace import extract_context, inject_headers, publish_span
from swarm.telemetry.tracing import exporting, setup_tracing, span_from_headers


def _span_id() -> int:
    return trace.get_current_span().get_span_context().span_id


def test_a_publish_in_a_trace_makes_no_span_when_none_is_exported() -> None:
    assert not exporting()  # the test process exports nothing
    setup_tracing("test-publish-span")
    with span_from_headers("process something", None) as carrier:
        outer = _span_id()
        with publish_span("ns.results.fixed.inv-1", "inv-1"):
            assert _span_id() == outer  # no PRODUCER span: the message carries the process span's context
            headers = inject_headers({})
        assert headers["traceparent"] == carrier["traceparent"]

    with publish_span("ns.errors", None, headers=carrier):  # a re-published copy keeps its trace
        assert not trace.get_current_span().get_span_context().is_valid
        kept = inject_headers(dict(carrier))
    assert kept["traceparent"] == carrier["traceparent"]

    with publish_span("ns.errors", "r-1"):  # outside any trace: a root span, so the message gets a trace id
        ctx = trace.get_current_span().get_span_context()
        assert ctx.is_valid
        fresh = inject_headers({})
    got = trace.get_current_span(extract_context(fresh)).get_span_context()
    assert got.trace_id == ctx.trace_id and got.trace_id != trace.get_current_span(
        extract_context(carrier)).get_span_context().trace_id
