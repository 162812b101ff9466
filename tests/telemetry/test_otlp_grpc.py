"""OTLP over gRPC: `swarm errors report` with OTEL_EXPORTER_OTLP_PROTOCOL=grpc reaches a real gRPC receiver."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.got = threading.Event()

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                self.spans.extend(ss.spans)
        self.got.set()
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_the_cli_exports_its_publish_span_over_grpc(bus, cli_env) -> None:
    receiver = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        env = dict(os.environ) | {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }
        cmd = [sys.executable, "-m", "swarm.cli", "errors", "report", "-m", "KeyError: 'grpc'", "--json"]
        out = await asyncio.to_thread(
            subprocess.run, cmd, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
        )
        assert out.returncode == 0, out.stderr
        assert receiver.got.wait(30), "no export arrived"
    finally:
        server.stop(0)
    published = json.loads(out.stdout)
    span = next(s for s in receiver.spans if s.name == f"publish {published['subject']}")
    attrs = {a.key: a.value.string_value for a in span.attributes}
    assert attrs["messaging.system"] == "nats" and attrs["messaging.operation"] == "publish"
    assert attrs["messaging.destination.name"] == published["subject"]
    assert attrs["messaging.message.id"] == published["msg_id"]
