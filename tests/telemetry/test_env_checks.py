"""SWARM_LOG_LEVEL and SWARM_METRICS_PORT are checked where a process starts: a bad value is one ConfigError
naming the variable before a server or Ray starts (not an actor's traceback after Ray started)."""

from __future__ import annotations

import json

import pytest
import ray
from typer.testing import CliRunner

from swarm.cli import app
from swarm.errors import ConfigError
from swarm.telemetry import metrics
from swarm.telemetry.logs import LEVEL_ENV, check_env, configure_logging, log_level

runner = CliRunner(env={"COLUMNS": "1000"})


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEVEL_ENV, raising=False)
    monkeypatch.delenv(metrics.PORT_ENV, raising=False)


def test_a_log_level_is_any_logging_name_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_level() == "INFO"
    assert log_level("debug") == "DEBUG"
    monkeypatch.setenv(LEVEL_ENV, " Warning ")
    assert log_level() == "WARNING"
    check_env()


@pytest.mark.parametrize("value", ["bogus", "10", "info,debug"])
def test_an_unknown_log_level_is_a_config_error_naming_the_variable(value: str, monkeypatch) -> None:
    monkeypatch.setenv(LEVEL_ENV, value)
    with pytest.raises(ConfigError, match=f"SWARM_LOG_LEVEL='{value}': not a log level"):
        check_env()
    with pytest.raises(ConfigError, match="SWARM_LOG_LEVEL"):  # what every actor calls at start
        configure_logging()


def test_a_metrics_port_that_is_no_port_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(metrics.PORT_ENV, "abc")
    with pytest.raises(ConfigError, match="SWARM_METRICS_PORT='abc': expected a port number"):
        check_env()
    assert not metrics._served


@pytest.mark.parametrize(("variable", "value", "message"), [
    (LEVEL_ENV, "bogus", "SWARM_LOG_LEVEL='bogus': not a log level"),
    (metrics.PORT_ENV, "abc", "SWARM_METRICS_PORT='abc': expected a port number"),
])
def test_swarm_run_refuses_a_bad_variable_before_anything_starts(variable: str, value: str, message: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)  # else an embedded server would start first
    monkeypatch.setenv(variable, value)
    ray_before = ray.is_initialized()
    result = runner.invoke(app, ["run", "--until-empty", "--timeout", "5", "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == {"error": json.loads(result.stdout)["error"], "exit_code": 1}
    assert json.loads(result.stdout)["error"].startswith(message)
    assert "embedded nats-server" not in result.output and "Traceback" not in result.output
    assert ray.is_initialized() is ray_before  # Ray was not started for it
