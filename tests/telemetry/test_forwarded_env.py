"""What the driver hands its actors: on a cluster (or in a job) an actor has only its runtime_env."""

from __future__ import annotations

import os

from swarm.telemetry.logs import LEVEL_ENV
from swarm.telemetry.tracing import actor_runtime_env, otel_env


def test_the_log_level_and_otel_variables_travel_to_the_actors(monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("OTEL_") or k == LEVEL_ENV]:
        monkeypatch.delenv(key)
    assert actor_runtime_env() is None
    monkeypatch.setenv(LEVEL_ENV, "WARNING")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop")
    monkeypatch.setenv("SWARM_OTHER", "x")  # not telemetry: stays with the driver
    assert actor_runtime_env() == {"env_vars": {"SWARM_LOG_LEVEL": "WARNING", "OTEL_SERVICE_NAME": "shop"}}
    assert otel_env({"SWARM_LOG_LEVEL": "DEBUG", "PATH": "/bin"}) == {"SWARM_LOG_LEVEL": "DEBUG"}


def test_otlp_headers_are_not_in_an_actors_runtime_env(monkeypatch) -> None:
    # the dashboard shows an actor's runtime_env: an Authorization header for a hosted collector travels
    # in the actor's spec instead (tests/runtime/test_secret_env.py)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer s3cret")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-api-key=s3cret")
    env = (actor_runtime_env() or {})["env_vars"]
    assert env["OTEL_SERVICE_NAME"] == "shop" and not [k for k in env if k.endswith("HEADERS")]
