"""The swarm as a Ray job: `swarm submit`, `swarm submit --stop`, `swarm jobs` (Ray's JobSubmissionClient).

    jobs = SwarmJobs(address="http://head:8265", settings=settings)
    jobs.submit(working_dir=".", config="configs/swarm.yaml", grace_period_s=30)  # 'swarm-payments'
    jobs.stop()                # SIGTERM: the swarm drains, then Ray reports STOPPED
    jobs.list()

One live job per namespace: a second submit while one is alive is refused (`JobAlreadyRunning`). Each
submit gets a fresh submission id, `swarm-<namespace>-<UTC time>`: Ray names the job's supervisor actor
after the id and marks a stopped job STOPPED before that actor has exited, so reusing an id right after a
stop raced with the old supervisor (the new job failed, or was taken for the dying one). A job Ray's own CLI
submitted as `swarm-<namespace>` counts as the namespace's job too. The job's
runtime env carries the NATS settings of this environment (`NATS_*`; without NATS_URL here, the nodes' own
from their synced swarm.env), the config path, every `OTEL_*` variable, `SWARM_LOG_LEVEL`, `SWARM_METRICS_PORT`
and `RAY_JOB_STOP_WAIT_TIME_S` (grace period + margin): Ray sends SIGTERM on stop and SIGKILL
only after that wait, so the drain (finish in-flight investigations within `grace_period_s`, hand the rest
back) is never cut short. The secrets among them (a NATS password, token or seed, a NATS_URL with a
password, OTLP headers) are not `env_vars`, which the dashboard shows: they travel as a module uploaded
with the job and read by its driver (swarm.secretenv). On a cluster with Ray token auth the token (`RAY_AUTH_TOKEN`,
`RAY_AUTH_TOKEN_PATH` or `~/.ray/auth_token`) goes in the `Authorization` header.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from swarm.bus.settings import Settings
from swarm.errors import ConfigError, JobAlreadyRunning, JobError
from swarm.secretenv import job_env_module, split_env
from swarm.telemetry.tracing import otel_env

__all__ = ["SwarmJobs", "JobAlreadyRunning", "JobError", "submission_id", "READY_LINE", "STOP_MARGIN_S"]

READY_LINE = "swarm running in Ray namespace"  # printed by `swarm run` once every actor is up
STOP_MARGIN_S = 60  # RAY_JOB_STOP_WAIT_TIME_S = grace_period_s + this: stopping actors, closing NATS
TERMINAL = {"SUCCEEDED", "STOPPED", "FAILED"}
LOCAL_DASHBOARD = "http://127.0.0.1:8265"  # Ray's default for `ray job` too
EXCLUDES = [".git", ".venv", ".swarm", "**/__pycache__", ".pytest_cache", "*.egg-info"]
_NATS_ENV = ("NATS_URL", "NATS_NAMESPACE", "NATS_CREDS", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN",
             "NATS_NKEY_SEED", "NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY", "NATS_CONNECT_TIMEOUT_S",
             "SWARM_NATS_AUTH")  # accounts and role users: the directory must be at this path on every node


def submission_id(namespace: str, at: float | None = None) -> str:
    """A fresh id for a submit: `swarm-payments-20261130-135500-123`."""
    at = time.time() if at is None else at
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(at))
    return f"swarm-{namespace}-{stamp}-{int(at * 1000) % 1000:03d}"


def _job_namespace(job: Any) -> str | None:
    """The swarm namespace a Ray job serves: from the metadata `swarm submit` sets, or a plain `ray job
    submit --submission-id swarm-<ns>`; None for a job that is not a swarm."""
    meta = (job.metadata or {}).get("swarm_namespace")
    if meta:
        return str(meta)
    sid = job.submission_id or ""
    return sid.removeprefix("swarm-") if sid.startswith("swarm-") else None


def _auth_headers() -> dict[str, str]:
    """The cluster's token, when one is configured here (Ray >= 2.5x token auth); {} otherwise."""
    try:
        from ray._raylet import AuthenticationTokenLoader

        loader = AuthenticationTokenLoader.instance()
        if loader.has_token(ignore_auth_mode=True):
            return {"Authorization": f"Bearer {loader.get_raw_token(ignore_auth_mode=True)}"}
    except Exception:  # an older Ray without token auth
        pass
    return {}


_ADDRESS_ENV = ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")


@contextlib.contextmanager
def _environ_without(names: tuple[str, ...]) -> Iterator[None]:
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def jobs_address(address: str | None) -> str | None:
    """The Jobs API address for `--address` (else RAY_ADDRESS): `HOST:PORT` is the dashboard's, over http (Ray's
    client took it for a GCS address and waited 40 s for one); none at all (nor RAY_API_SERVER_ADDRESS) is this
    machine's head, http://127.0.0.1:8265, as for `ray job` (Ray's client asked the GCS, which a head with token
    auth refuses a client that did not turn the token on).

    >>> jobs_address("10.0.0.5:8265"), jobs_address("http://head:8265"), jobs_address("ray://head:10001")
    ('http://10.0.0.5:8265', 'http://head:8265', 'ray://head:10001')
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        return None if os.environ.get("RAY_API_SERVER_ADDRESS") else LOCAL_DASHBOARD
    if "://" not in address and address != "auto":
        return f"http://{address}"
    return address


def _where(address: str | None, defaulted: bool) -> str:
    """The Jobs API address Ray's client was given, for messages (never a literal `$RAY_ADDRESS`)."""
    if address is None:  # jobs_address left it to Ray's client: RAY_API_SERVER_ADDRESS
        return f"{os.environ.get('RAY_API_SERVER_ADDRESS')} (RAY_API_SERVER_ADDRESS)"
    if defaulted:
        return f"{address}, this machine's Ray head (no --address given and RAY_ADDRESS is not set)"
    return address


class SwarmJobs:
    def __init__(self, address: str | None, settings: Settings) -> None:
        from ray.job_submission import JobSubmissionClient

        self.settings = settings
        self.namespace = settings.nats_namespace
        self.id = ""  # the job this object follows: set by submit() or find()
        explicit = bool(address)
        defaulted = not (address or os.environ.get("RAY_ADDRESS"))
        address = jobs_address(address)
        if address and address.startswith("ray://"):  # the client protocol, not the Jobs API: it would hang
            raise JobError(f"--address {address} is a Ray client address; the Jobs API is the dashboard's "
                           "http://HEAD:8265")
        try:
            # Ray's client lets RAY_ADDRESS (and RAY_API_SERVER_ADDRESS) override the address it is given; an
            # --address the user typed is meant to win over the environment's default
            with _environ_without(_ADDRESS_ENV if explicit else ()):
                self.client = JobSubmissionClient(address, headers=_auth_headers() or None)
        except Exception as exc:  # ConnectionError, auth errors: name the address
            raise JobError(f"cannot reach the Ray Jobs API at {_where(address, defaulted)}: {exc}") from exc

    def find(self, live_only: bool = True) -> str | None:
        """The namespace's job (the newest; only a live one unless `live_only` is False); follows it."""
        mine = [j for j in self.client.list_jobs() if _job_namespace(j) == self.namespace
                and (not live_only or str(getattr(j.status, "value", j.status)) not in TERMINAL)]
        if not mine:
            return None
        self.id = max(mine, key=lambda j: j.start_time or 0).submission_id
        return self.id

    def info(self) -> Any | None:
        if not self.id:
            return None
        try:
            return self.client.get_job_info(self.id)
        except RuntimeError as exc:  # the SDK's "does not exist" (a 404)
            if "does not exist" in str(exc) or "404" in str(exc):
                return None
            raise JobError(str(exc)) from exc

    def job_env(self, working_dir: Path, config: Path, grace_period_s: float) -> tuple[dict[str, str], dict[str, str]]:
        """(the job's `env_vars`, on show in the dashboard; its secrets, uploaded as a module: swarm.secretenv)."""
        env = {k: os.environ[k] for k in _NATS_ENV if os.environ.get(k)}
        env |= otel_env()  # OTEL_* and SWARM_LOG_LEVEL: the job's driver hands them on to its actors
        if os.environ.get("SWARM_METRICS_PORT"):  # the driver's own endpoint (deploy/prometheus: swarm-driver)
            env["SWARM_METRICS_PORT"] = os.environ["SWARM_METRICS_PORT"]
        env["NATS_NAMESPACE"] = self.settings.nats_namespace  # the namespace the submission id names
        if self.settings.nats_url:  # unset here: the nodes' own (ray-cluster.yaml sources swarm.env)
            env["NATS_URL"] = self.settings.nats_url
        env["SWARM_CONFIG"] = str(_relative(config, working_dir))
        env["RAY_JOB_STOP_WAIT_TIME_S"] = str(int(grace_period_s + STOP_MARGIN_S))
        return split_env(env)

    def runtime_env(self, working_dir: Path, env: dict[str, str], py_modules: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"working_dir": str(working_dir), "excludes": EXCLUDES, "env_vars": env}
        if py_modules:
            out["py_modules"] = py_modules
        return out

    def submit(self, working_dir: Path, config: Path, grace_period_s: float) -> str:
        live = self.find()
        if live is not None:
            status = str(self.client.get_job_status(live).value)
            raise JobAlreadyRunning(
                f"swarm job {live} is already {status} in namespace {self.namespace}: `swarm submit --stop` first"
            )
        self.id = submission_id(self.namespace)
        entrypoint = f"python -m swarm.runtime --address auto --config {_relative(config, working_dir)}"
        public, secret = self.job_env(working_dir, config, grace_period_s)
        try:
            with job_env_module(secret) as py_modules:  # uploaded by submit_job, removed here after
                return self.client.submit_job(
                    entrypoint=entrypoint,
                    submission_id=self.id,
                    runtime_env=self.runtime_env(working_dir, public, py_modules),
                    metadata={"swarm_namespace": self.namespace},
                )
        except RuntimeError as exc:
            raise JobError(f"Ray refused the job: {exc}") from exc

    def wait(self, until: Callable[[str, str], bool], timeout_s: float,
             progress: Callable[[str], None] | None = None) -> str:
        """Poll the job's status (and logs) until `until(status, logs)`; the last status."""
        deadline = time.monotonic() + timeout_s
        seen = ""
        while True:
            status = str(self.client.get_job_status(self.id).value)
            if status != seen and progress:
                progress(status)
            seen = status
            logs = self.client.get_job_logs(self.id) if status == "RUNNING" else ""
            if until(status, logs) or status in TERMINAL:
                return status
            if time.monotonic() > deadline:
                raise JobError(f"swarm job {self.id} is {status} after {timeout_s:g} s")
            time.sleep(0.5)

    def start(self, working_dir: Path, config: Path, grace_period_s: float, until: Callable[[str, str], bool],
              timeout_s: float, progress: Callable[[str], None] | None = None) -> str:
        """`submit`, then `wait` until `until(status, logs)`."""
        self.submit(working_dir, config, grace_period_s)
        return self.wait(until, timeout_s, progress)

    def stop(self) -> bool:
        return bool(self.client.stop_job(self.id))

    def logs(self) -> str:
        return str(self.client.get_job_logs(self.id))

    def message(self) -> str:
        """Ray's word on the job's state (why it failed, for one)."""
        job = self.info()
        return str(job.message or "") if job is not None else ""

    def list(self) -> list[dict[str, Any]]:
        out = []
        for job in self.client.list_jobs():
            ns = _job_namespace(job)
            if ns is None:
                continue
            out.append({
                "submission_id": job.submission_id,
                "namespace": ns,
                "status": str(getattr(job.status, "value", job.status)),
                "entrypoint": job.entrypoint,
                "start_time": job.start_time,
                "end_time": job.end_time,
                "message": job.message,
            })
        return sorted(out, key=lambda j: j["start_time"] or 0)


def _relative(path: Path, root: Path) -> Path:
    """The config as the job sees it: relative to the working dir it ships in."""
    path, root = path.resolve(), root.resolve()
    try:
        return path.relative_to(root)
    except ValueError as exc:
        raise ConfigError(f"config {path} is outside the working dir {root}: the job would not find it") from exc
