"""Which variables are secrets (kept out of Ray's runtime_env), and the module `swarm submit` uploads them in,
read back by the job's driver in a fresh interpreter the way Ray's py_modules put it on the path."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from swarm.secretenv import JOB_ENV_MODULE, is_secret, job_env_module, split_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("name", "value"), [
    ("NATS_PASSWORD", "pw"), ("NATS_TOKEN", "t"), ("NATS_NKEY_SEED", "SUAB"), ("ANTHROPIC_API_KEY", "sk"),
    ("SHOP_GITLAB_TOKEN", "glpat"), ("OTEL_EXPORTER_OTLP_HEADERS", "a=b"), ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=b"),
    ("NATS_URL", "nats://alice:pw@nats:4222"), ("NATS_URL", "nats://s3cret-token@nats:4222"),
    ("NATS_URL", "nats://a:4222, tls://bob:pw@b:4222"), ("NATS_URL", "bob:pw@b:4222"),
])
def test_secrets_are_recognised(name: str, value: str) -> None:
    assert is_secret(name, value)


@pytest.mark.parametrize(("name", "value"), [
    ("NATS_URL", "nats://nats:4222"), ("NATS_URL", "nats://a:4222,nats://b:4222"), ("NATS_NAMESPACE", "shop"),
    ("NATS_CREDS", "/etc/swarm/agent.creds"), ("OTEL_SERVICE_NAME", "swarm"), ("SWARM_LOG_LEVEL", "INFO"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ("RAY_JOB_STOP_WAIT_TIME_S", "90"),
])
def test_what_an_operator_needs_to_read_is_not_a_secret(name: str, value: str) -> None:
    assert not is_secret(name, value)


def test_split_keeps_every_variable_on_one_side() -> None:
    env = {"NATS_URL": "nats://u:p@h", "NATS_NAMESPACE": "shop", "NATS_TOKEN": "t"}
    public, secret = split_env(env)
    assert public == {"NATS_NAMESPACE": "shop"} and secret == {"NATS_URL": "nats://u:p@h", "NATS_TOKEN": "t"}


def test_the_job_module_holds_the_secrets_for_its_owner_and_the_job_driver_exports_them(tmp_path: Path) -> None:
    secret = {"NATS_TOKEN": "s3cret", "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer x"}
    with job_env_module(secret) as py_modules:
        (package,) = map(Path, py_modules)
        assert package.name == JOB_ENV_MODULE
        mode = stat.S_IMODE((package / "env.json").stat().st_mode)
        assert mode == 0o600, oct(mode)
        # Ray puts a py_module's parent on the job's sys.path: a fresh interpreter, as the job's driver is
        env = {k: v for k, v in os.environ.items() if k not in secret}
        env["PYTHONPATH"] = os.pathsep.join([str(package.parent), str(ROOT)])
        code = ("import json, os; from swarm.secretenv import export_job_env; names = export_job_env(); "
                "print(json.dumps({'names': names, 'env': {n: os.environ.get(n) for n in names}}))")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"names": sorted(secret), "env": secret}
    assert not package.exists()  # removed once submitted
    with job_env_module({}) as none:
        assert none == []


def test_outside_a_job_nothing_is_exported() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "from swarm.secretenv import export_job_env; print(export_job_env())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_submitted_job_gets_the_driver_s_metrics_port_and_log_level(tmp_path: Path, monkeypatch) -> None:
    """README (`swarm submit`): the driver of a submitted job serves SWARM_METRICS_PORT, the `swarm-driver` target of
    deploy/prometheus; it was not forwarded, so that target stayed down for a new user."""
    from swarm.bus.settings import Settings
    from swarm.runtime.jobs import SwarmJobs

    monkeypatch.setenv("SWARM_METRICS_PORT", "9464")
    monkeypatch.setenv("SWARM_LOG_LEVEL", "DEBUG")
    jobs = object.__new__(SwarmJobs)  # its constructor reaches the Jobs API; job_env reads the settings only
    jobs.settings = Settings(nats_url="nats://nats.internal:4222", nats_namespace="payments", _env_file=None)
    shown, secret = jobs.job_env(tmp_path, tmp_path / "configs" / "swarm.yaml", grace_period_s=30)
    assert shown["SWARM_METRICS_PORT"] == "9464" and shown["SWARM_LOG_LEVEL"] == "DEBUG", shown
    assert shown["NATS_NAMESPACE"] == "payments" and shown["RAY_JOB_STOP_WAIT_TIME_S"] == "90" and not secret
