"""The swarm as a Ray job on a real `ray start --head` (its own ports, temp dir and token; not the session Ray),
as the README says to run it: `swarm submit` / `swarm jobs` / `swarm submit --stop`, then the plain
`ray job submit` / `ray job stop` lines. Reports are processed, heavy tool work runs as Ray tasks, and a stop
drains: nothing is left ack-pending and Ray reports STOPPED.

One head for the module (starting one costs ~10-30 s); each test has its own NATS namespace.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from swarm.bus.connect import Bus
from swarm.bus.names import ERROR_CONSUMER
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from tests.support.rayhead import BIN, RayHead, free_ports
from tests.support.results import results

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "tests/cluster/swarm.yaml"
pytestmark = [pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def head():
    # a loaded machine starts the Ray Client server's per-client driver slowly (Ray gives it 30 s)
    h = RayHead(num_cpus=4, extra_env={"RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S": "180"}).start()
    try:
        yield h
    finally:
        h.stop()


def report(i: int) -> ErrorReport:
    return ErrorReport(
        error=f"KeyError: 'cluster field {i}' is missing",
        stack=f'Traceback (most recent call last):\n  File "app/c{i}.py", line {5 + i}, in handle\nKeyError',
        service="shop",
        context={"file": f"app/c{i}.py", "line": 5 + i, "function": "handle"},
    )


def sh(cmd: str | list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    args = ["bash", "-c", cmd] if isinstance(cmd, str) else cmd
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


async def result_count(bus: Bus) -> int:
    info = await bus.js.stream_info(bus.names.stream("RESULTS"))
    return int(info.state.messages)


async def wait_results(bus: Bus, n: int, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while (got := await result_count(bus)) < n:
        assert time.monotonic() < deadline, f"{got} of {n} results after {timeout_s} s"
        await asyncio.sleep(0.5)


async def consumer(bus: Bus) -> tuple[int, int]:
    info = await bus.js.consumer_info(bus.names.error_stream("default"), ERROR_CONSUMER)
    return int(info.num_pending or 0), int(info.num_ack_pending or 0)


def job_status(head: RayHead, sid: str) -> str:
    return str(head.request(f"/api/jobs/{sid}")["status"])


def drained_and_exited(head: RayHead, sid: str) -> bool:
    """SIGTERM reached the swarm, it drained and printed its counters on the way out (no SIGKILL)."""
    logs = head.request(f"/api/jobs/{sid}/logs")["logs"]
    assert "draining" in logs and re.search(r"received \d+\s+investigations \d+", logs), logs[-2000:]
    return True


def readme_block(start: str) -> list[str]:
    """The README's shell block whose first command starts with `start`, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines = block.replace("\\\n", " ").splitlines()
        if lines and lines[0].startswith(start):
            return [re.sub(r"\s+#.*$", "", line).strip() for line in lines if line.strip()]
    raise AssertionError(f"no README block starts with {start!r}")


async def test_swarm_submit_processes_reports_runs_tool_tasks_and_stop_drains(head, bus, settings) -> None:
    ns = settings.nats_namespace
    lines = readme_block("ray up ray-cluster.yaml")
    exported = dict(kv.split("=", 1) for kv in shlex.split(lines[1])[1:])
    assert set(exported) == {"RAY_ADDRESS", "NATS_URL", "NATS_NAMESPACE"}
    # swarm submit sends the head's token itself: no RAY_AUTH_MODE needed
    env = head.env(token_mode=False) | {"RAY_ADDRESS": head.dashboard, "NATS_URL": settings.nats_url or "",
                                        "NATS_NAMESPACE": ns}
    commands = [line for line in lines if line.startswith("swarm ")]
    assert commands == ["swarm submit", "swarm jobs", "swarm submit --stop"]
    nothing = sh("swarm submit --stop --json", env)
    assert nothing.returncode == 1 and f"no live swarm job to stop in namespace {ns}" in nothing.stderr, nothing.stderr
    for i in range(6):
        await publish_report(bus, report(i))

    sub = sh(f"swarm submit --config {CONFIG} --json", env)
    assert sub.returncode == 0, sub.stdout + sub.stderr
    first = json.loads(sub.stdout)
    sid = first["submission_id"]
    assert re.fullmatch(rf"swarm-{ns}-\d{{8}}-\d{{6}}-\d{{3}}", sid), sid
    assert first == {"submission_id": sid, "namespace": ns, "status": "RUNNING"}
    again = sh(f"swarm submit --config {CONFIG} --json", env)
    assert again.returncode == 1 and f"{sid} is already RUNNING" in again.stderr, again.stderr
    jobs = json.loads(sh("swarm jobs --json", env).stdout)
    mine = [j for j in jobs if j["namespace"] == ns]
    assert len(mine) == 1 and mine[0]["status"] == "RUNNING" and mine[0]["namespace"] == ns

    await wait_results(bus, 6)
    # research's test run was a Ray task, placed by Ray's scheduler with its CPUs (task events reach the
    # dashboard a moment after the task ends: poll)
    deadline = time.monotonic() + 60
    while True:
        listed = sh([str(BIN / "ray"), "list", "tasks", "--address", head.dashboard, "--format", "json", "--limit",
                     "1000", "--filter", "name=tool:research:unittest", "--detail"], head.env())
        assert listed.returncode == 0, listed.stderr
        tasks = json.loads(listed.stdout)
        if (len(tasks) >= 6 and {t["state"] for t in tasks} == {"FINISHED"}) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert len(tasks) >= 6 and {t["state"] for t in tasks} == {"FINISHED"}, [(t["name"], t["state"]) for t in tasks]
    assert all(t["required_resources"].get("CPU") == 1.0 for t in tasks)

    # in flight when the stop comes: each either finishes in the grace period or goes back to the queue
    for i in range(6, 12):
        await publish_report(bus, report(i))
    stop = sh("swarm submit --stop --json", env)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert json.loads(stop.stdout) == {"submission_id": sid, "namespace": ns, "status": "STOPPED"}
    assert job_status(head, sid) == "STOPPED"
    assert drained_and_exited(head, sid)
    # a clean stop leaves no traceback in what `ray job logs` shows (the driver and its actors' forwarded logs):
    # an operator reads them for what went wrong
    logs = sh([str(BIN / "ray"), "job", "logs", sid, "--address", head.dashboard], head.env())
    assert logs.returncode == 0 and "swarm" in logs.stdout, logs.stderr
    marks = ("Traceback", "Task was destroyed", "Event loop is closed", "Exception ignored")
    noise = [line for line in logs.stdout.splitlines() if any(m in line for m in marks)]
    assert not noise, "\n".join(noise) + "\n" + logs.stdout[-6000:]
    pending, ack_pending = await consumer(bus)
    assert ack_pending == 0, "a stop left reports ack-pending: the drain was cut short"
    assert pending + await result_count(bus) == 12, "every report is either answered or back in the queue"

    # at once after the stop, the next submit (a fresh id) works on the rest; --stop then finds that one
    sub = sh(f"swarm submit --config {CONFIG} --json", env)
    assert sub.returncode == 0, sub.stdout + sub.stderr
    second = json.loads(sub.stdout)["submission_id"]
    assert second != sid
    await wait_results(bus, 12)
    stop = sh("swarm submit --stop --json", env)
    assert stop.returncode == 0 and json.loads(stop.stdout)["submission_id"] == second, stop.stdout + stop.stderr
    assert await consumer(bus) == (0, 0)


async def test_plain_ray_job_submit_from_the_readme_drains_on_ray_job_stop(head, bus, settings) -> None:
    ns = settings.nats_namespace
    lines = readme_block("ray job submit")
    assert lines[-1].startswith("ray job stop")
    subs = {"nats://nats.internal:4222": settings.nats_url or "", "payments": ns, "configs/swarm.yaml": CONFIG}
    submit, stop = lines[0], lines[-1]
    for old, new in subs.items():
        submit, stop = submit.replace(old, new), stop.replace(old, new)
    env = head.env(token_mode=True) | {"RAY_ADDRESS": head.dashboard}

    # what the README says about token auth: `ray job` without RAY_AUTH_MODE=token is refused
    refused = sh("ray job list", head.env(token_mode=False) | {"RAY_ADDRESS": head.dashboard}, timeout=120)
    assert refused.returncode != 0 and "Authentication required" in refused.stdout + refused.stderr

    for i in range(20, 26):
        await publish_report(bus, report(i))
    out = sh(submit, env)
    assert out.returncode == 0, out.stdout + out.stderr
    await wait_results(bus, 6)
    for i in range(26, 32):
        await publish_report(bus, report(i))
    out = sh(stop, env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert job_status(head, f"swarm-{ns}") == "STOPPED"
    assert drained_and_exited(head, f"swarm-{ns}")
    pending, ack_pending = await consumer(bus)
    assert ack_pending == 0, "ray job stop left reports ack-pending: the drain was cut short"
    assert pending + await result_count(bus) == 12


async def test_a_jobs_nats_password_and_otlp_headers_reach_it_but_are_not_on_show(head, tmp_path) -> None:
    """The dashboard shows a job's runtime_env and its actors' (`ray list actors --detail`): a NATS_URL with a
    password and the OTLP headers travel in an uploaded module and the actors' arguments instead."""
    pw, headers = f"pw-{secrets.token_hex(8)}", f"authorization=Bearer otel-{secrets.token_hex(8)}"
    ns = f"secretjob{secrets.token_hex(3)}"
    with EmbeddedNats(store_dir=tmp_path / "nats", extra_args=["--user", "alice", "--pass", pw]) as server:
        url = server.url.replace("nats://", f"nats://alice:{pw}@", 1)
        settings = Settings(nats_url=url, nats_namespace=ns)
        bus = await Bus.connect(settings)
        env = head.env(token_mode=False) | {"RAY_ADDRESS": head.dashboard, "NATS_URL": url, "NATS_NAMESPACE": ns,
                                            "OTEL_EXPORTER_OTLP_HEADERS": headers}
        try:
            await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))
            for i in range(40, 42):
                await publish_report(bus, report(i))
            sub = sh(f"swarm submit --config {CONFIG} --json", env)
            assert sub.returncode == 0, sub.stdout + sub.stderr
            sid = json.loads(sub.stdout)["submission_id"]
            try:
                await wait_results(bus, 2)  # the job's driver and actors logged in with the password
                job = head.request(f"/api/jobs/{sid}")
                shown = json.dumps(job)
                assert pw not in shown and headers not in shown, shown
                assert job["runtime_env"]["env_vars"]["NATS_NAMESPACE"] == ns  # what is not secret stays readable
                actors = sh([str(BIN / "ray"), "list", "actors", "--address", head.dashboard, "--format", "json",
                             "--detail", "--limit", "1000"], head.env())
                assert actors.returncode == 0, actors.stderr
                mine = [a for a in json.loads(actors.stdout) if ns in (a.get("ray_namespace") or "")]
                assert {"intake-0", "orchestrator-0", "research-0"} <= {a.get("name") for a in mine}, mine
                assert pw not in actors.stdout and headers not in actors.stdout
            finally:
                stop = sh("swarm submit --stop --json", env)
                assert stop.returncode == 0, stop.stdout + stop.stderr
        finally:
            await bus.close()


async def test_swarm_run_through_ray_client_ships_the_working_dir_and_answers_every_report(head, bus, settings,
                                                                                           tmp_path) -> None:
    """`swarm run --address ray://HEAD:10001` as the README's CLI table has it: the driver runs here, Ray Client
    carries its calls. The test agents are in this checkout only (the head runs elsewhere, without PYTHONPATH):
    they reach the actors because the working directory is shipped with the connection. Then a run without
    --until-empty, stopped by SIGTERM mid-investigation, drains like a local one."""
    sent = [report(i) for i in range(50, 53)]
    for r in sent:
        await publish_report(bus, r)
    # Ray Client sends the token only under RAY_AUTH_MODE=token (without: 30 s of retries, "connection timeout")
    env = head.env(token_mode=True) | {"NATS_URL": settings.nats_url or "", "NATS_NAMESPACE": settings.nats_namespace,
                                        "PYTHONPATH": str(ROOT)}  # the driver here imports the agents too
    out = sh(["swarm", "run", "--config", CONFIG, "--address", f"ray://127.0.0.1:{head.client_port}",
              "--until-empty", "--json", "--timeout", "240"], env)
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    assert json.loads(out.stdout) == {"received": 3, "investigations": 3, "duplicates": 0, "dead_lettered": 0,
                                      "rejected": 0, "results": 3, "handed_back": 0}, out.stderr[-4000:]
    got = await results(bus)
    assert sorted(r.signature for r in got) == sorted(r.signature for r in sent)
    assert {r.status for r in got} == {"fixed"}, [r.model_dump() for r in got]
    assert await consumer(bus) == (0, 0)

    # without --until-empty: a SIGTERM to the driver here drains the actors on the cluster through Ray Client
    # (each investigation finishes within the grace period or goes back), prints the counters, exits 0
    log = tmp_path / "run.stderr"
    with log.open("w") as stderr:
        proc = subprocess.Popen([str(BIN / "swarm"), "run", "--config", CONFIG, "--address",
                                 f"ray://127.0.0.1:{head.client_port}", "--json"], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while "Ctrl-C or SIGTERM drains and stops" not in " ".join(log.read_text(errors="replace").split()):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            await asyncio.sleep(0.2)
        status = await bus.nc.subscribe(bus.names.investigation_all)
        for i in range(53, 56):
            await publish_report(bus, report(i))
        await status.next_msg(timeout=120)  # an investigation is under way
        await status.unsubscribe()
        proc.terminate()
        out, _ = await asyncio.to_thread(proc.communicate, timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
        said = log.read_text(errors="replace")
    assert proc.returncode == 0, said[-3000:]
    assert "draining: no new reports" in said, said[-3000:]
    drained = json.loads(out)
    assert drained["received"] == 3 and drained["dead_lettered"] == 0, drained
    pending, ack_pending = await consumer(bus)  # as after `swarm submit --stop` (the test above)
    assert ack_pending == 0, "the stop left reports ack-pending: the drain was cut short"
    assert pending + await result_count(bus) == 6, "every report is either answered or back in the queue"


def test_swarm_jobs_names_an_address_it_cannot_reach(tmp_path) -> None:
    port = free_ports(1)[0]
    out = sh(f"swarm jobs --address http://127.0.0.1:{port} --json", RayHead.client_env(), timeout=120)
    assert out.returncode == 1 and f"cannot reach the Ray Jobs API at http://127.0.0.1:{port}" in out.stderr


def test_swarm_jobs_refuses_a_ray_client_address_at_once(tmp_path) -> None:
    """`ray://` is Ray's client protocol, not the Jobs API: the job client would hang on it."""
    out = sh("swarm jobs --address ray://127.0.0.1:10001 --json", RayHead.client_env(), timeout=60)
    assert out.returncode == 1 and "is a Ray client address" in out.stderr and "8265" in out.stderr


def test_an_address_given_on_the_command_line_wins_over_ray_address(head) -> None:
    """Ray's job client lets RAY_ADDRESS override the address it is handed; `--address` is what the user typed."""
    elsewhere = f"http://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there
    env = head.env(token_mode=False) | {"RAY_ADDRESS": elsewhere}
    out = sh(f"swarm jobs --address {head.dashboard} --json", env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert isinstance(json.loads(out.stdout), list)
    default = sh("swarm jobs --json", env, timeout=120)  # without --address, RAY_ADDRESS is the default
    assert default.returncode == 1 and f"cannot reach the Ray Jobs API at {elsewhere}" in default.stderr
