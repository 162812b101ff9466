"""Secrets kept out of Ray's `runtime_env`, which the dashboard, `ray job list` and `ray list actors --detail`
show to anyone who can read them.

    public, secret = split_env(env)              # NATS_PASSWORD, NATS_TOKEN, OTLP headers... go to `secret`
    spec = replace(spec, secret_env=secret)      # an actor: in its (pickled, never shown) arguments
    export_env(spec.secret_env)                  # ...exported in the actor's process (ActorServices)
    with job_env_module(secret) as py_modules:   # a job: a module uploaded beside the working dir
        client.submit_job(..., runtime_env={"py_modules": py_modules, "env_vars": public})
    export_job_env()                             # ...exported by the job's driver (`swarm run`) first thing

What is secret: a NATS password, token or NKey seed; a NATS_URL that carries a password or token; the OTLP
exporter headers (an `Authorization` for a hosted collector); the pull-request providers' tokens. The
rest (addresses, namespaces, paths, log levels) stays in `env_vars`, where an operator can read it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from swarm.bus.settings import Settings

__all__ = ["JOB_ENV_MODULE", "export_env", "export_job_env", "is_secret", "job_env_module", "split_env"]

JOB_ENV_MODULE = "swarm_job_env"  # the module `swarm submit` uploads: its env.json holds the job's secrets
# the settings Settings keeps out of its repr (NATS password, token, seed; the API key), by variable name
_SECRET_NAMES = {name.upper() for name, f in Settings.model_fields.items() if not f.repr}


def is_secret(name: str, value: str) -> bool:
    """Whether a variable must not be shown: by name, a token by suffix, a NATS_URL by its credentials."""
    if name in _SECRET_NAMES or name.endswith("_TOKEN"):
        return True
    if name.startswith("OTEL_EXPORTER_OTLP_") and name.endswith("HEADERS"):
        return True
    if name == "NATS_URL":
        return any(_has_credentials(url.strip()) for url in value.split(","))
    return False


def _has_credentials(url: str) -> bool:
    """user:password@ or token@ (nats-py takes a lone user part for a token)."""
    with contextlib.suppress(ValueError):
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        return parts.username is not None or parts.password is not None
    return "@" in url  # unparseable: assume the worst


def split_env(env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(what may be shown, what may not) of `env`."""
    public, secret = {}, {}
    for name, value in env.items():
        (secret if is_secret(name, value) else public)[name] = value
    return public, secret


def export_env(env: Mapping[str, str]) -> None:
    """Put `env` in this process's environment, as Ray's `env_vars` would have (the sender's value wins)."""
    os.environ.update({k: v for k, v in env.items() if v})


@contextlib.contextmanager
def job_env_module(secret: Mapping[str, str]) -> Iterator[list[str]]:
    """The job's `py_modules`: a temporary package holding `secret` (readable by its owner only), uploaded
    by the job client next to the working dir and found by `export_job_env` in the job; [] with no secret."""
    if not secret:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="swarm-job-env-") as tmp:
        package = Path(tmp) / JOB_ENV_MODULE
        package.mkdir(mode=0o700)
        (package / "__init__.py").write_text('"""Written by `swarm submit`: env.json holds the job\'s secrets."""\n')
        fd = os.open(package / "env.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(dict(secret), f)
        yield [str(package)]


def export_job_env() -> list[str]:
    """In a job's driver: export the secrets `swarm submit` uploaded (nothing outside such a job); their names."""
    spec = importlib.util.find_spec(JOB_ENV_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return []
    path = Path(next(iter(spec.submodule_search_locations))) / "env.json"
    if not path.is_file():
        return []
    env = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    export_env(env)
    return sorted(env)
