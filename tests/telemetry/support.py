"""Real receivers for telemetry tests: an OTLP/HTTP trace collector and a Prometheus server.

    with OtlpReceiver() as otlp:               # OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint
        ...; spans = otlp.spans()              # [{"name", "trace_id", "kind", "attributes", "service", "instance"}]
    with PrometheusServer(tmp_path, ray_target, driver_target) as prom:
        prom.query('swarm_reports_received_total{namespace="t1"}')
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAME = re.compile(r"\b(swarm_[a-z0-9_]*[a-z0-9])\b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


class OtlpReceiver:
    """An OTLP/HTTP (protobuf) receiver on a free port: decodes every ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self._spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                receiver._add(req, self.path)
                out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        self.paths: set[str] = set()

    def _add(self, req: ExportTraceServiceRequest, path: str) -> None:
        rows = []
        for rs in req.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    rows.append({
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_id": span.parent_span_id.hex(),
                        "kind": span.kind,
                        "attributes": {a.key: _value(a.value) for a in span.attributes},
                        "service": resource.get("service.name"),
                        "instance": resource.get("service.instance.id"),
                    })
        with self._lock:
            self._spans.extend(rows)
            self.paths.add(path)

    def spans(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._spans)

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def prometheus_config(tmp_path: Path, ray_target: str, driver_target: str) -> Path:
    """deploy/prometheus/prometheus.yml with the test's targets, a 1 s scrape interval and its rules."""
    cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    cfg["rule_files"] = [str(DEPLOY / "prometheus" / f) for f in cfg["rule_files"]]
    jobs = {job["job_name"]: job for job in cfg["scrape_configs"]}
    del jobs["ray"]["file_sd_configs"]
    jobs["ray"]["static_configs"] = [{"targets": [ray_target]}]
    jobs["swarm-driver"]["static_configs"] = [{"targets": [driver_target]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class PrometheusServer:
    """Debian's prometheus on a free port with temporary storage; ready when /-/ready says so."""

    def __init__(self, tmp_path: Path, ray_target: str, driver_target: str) -> None:
        self.config = prometheus_config(tmp_path, ray_target, driver_target)
        self.data = tmp_path / "prometheus-data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.data}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                if urllib.request.urlopen(f"{self.url}/-/ready", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)  # polling the readiness endpoint
        raise TimeoutError(f"prometheus not ready: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        body = json.loads(urllib.request.urlopen(url, timeout=10).read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=expr)["result"])

    def names(self, namespace: str) -> set[str]:
        """Every swarm_* series name Prometheus stores for a namespace."""
        series = self.api("series", **{"match[]": f'{{__name__=~"swarm_.*",namespace="{namespace}"}}'})
        return {s["__name__"] for s in series}


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "swarm-dashboard.json").read_text())
    exprs = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for p in panels:
            exprs.extend(t["expr"] for t in p.get("targets", []))
            walk(p.get("panels", []))

    walk(dash["panels"])
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        if isinstance(q, dict):
            exprs.append(q["query"])
    return exprs


def rule_exprs() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "swarm-rules.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def names_in(exprs: list[str]) -> set[str]:
    return {m for e in exprs for m in NAME.findall(e)}


def readme_names() -> set[str]:
    """The metric names the README promises."""
    return names_in([(ROOT / "README.md").read_text()])
