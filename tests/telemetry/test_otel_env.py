"""OTEL_* variables as a user sets them: a value swarm cannot honour is an error naming it, and a collector
that is down does not hold a command (its report is published, the command exits cleanly)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.errors import ConfigError
from swarm.telemetry.tracing import check_otel_env

runner = CliRunner()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "bogus"}, "OTEL_TRACES_EXPORTER='bogus': bogus is not supported"),
        ({"OTEL_TRACES_EXPORTER": "otlp,jaeger"}, "jaeger is not supported"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
         "OTEL_EXPORTER_OTLP_PROTOCOL='carrier-pigeon' is not supported (use http/protobuf or grpc)"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
          "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "smtp"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL='smtp'"),
    ],
)
def test_a_value_swarm_cannot_honour_is_refused_naming_the_variable(
    env: dict[str, str], named: str, bus, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="not supported"):
        check_otel_env(env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["errors", "report", "-m", "boom", "--json"])
    assert result.exit_code == 1, result.output
    assert named in json.loads(result.stdout)["error"]
    assert named in result.stderr or named in result.output


def test_supported_values_pass() -> None:
    for env in ({}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_TRACES_EXPORTER": "otlp, console"},
                {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
                {"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_PROTOCOL": "anything: not used"}):
        check_otel_env(env)


def test_a_collector_that_is_down_does_not_fail_the_command(bus, cli_env: dict[str, str]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | cli_env | {
        "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "swarm.cli", "errors", "report", "-m", "boom", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stream"].endswith("_ERROR_REPORTS")
    assert "Traceback" not in done.stderr


def test_the_console_exporter_prints_spans_to_stderr_as_service_swarm(bus, cli_env: dict[str, str]) -> None:
    """README: `OTEL_TRACES_EXPORTER=console` prints the spans; without OTEL_SERVICE_NAME the service is `swarm`.
    They go to stderr: `--json` output on stdout stays one document for scripts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | cli_env | {
        "OTEL_TRACES_EXPORTER": "console"}
    done = subprocess.run([sys.executable, "-m", "swarm.cli", "errors", "report", "-m", "boom", "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    published = json.loads(done.stdout)
    spans = [json.loads(chunk) for chunk in re.findall(r"(?ms)^\{\n.*?^\}$", done.stderr)]
    (publish,) = [s for s in spans if s["name"] == f"publish {published['subject']}"]
    assert publish["resource"]["attributes"]["service.name"] == "swarm"
    assert publish["attributes"]["messaging.message.id"] == published["msg_id"]
