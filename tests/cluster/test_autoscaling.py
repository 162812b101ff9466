"""Ray adds a node for a burst and removes it when the swarm is idle: Ray's fake multi-node autoscaler (the
provider behind `ray.cluster_utils.AutoscalingCluster`, started here on free ports with its own temp dir, since
`AutoscalingCluster.start` runs `ray stop --force`, which would stop every Ray on the machine), the swarm
submitted to it as a Ray job, a burst of distinct reports on a real nats-server.

The head has 2 CPUs: the swarm's minimum pools (0.25 + 3 x 0.5) fit on it. A burst grows research, implement and
review to 4 replicas of half a CPU each; the runtime asks Ray's autoscaler for those CPUs (request_resources),
a worker node of 8 CPUs is launched and takes the new replicas (the research calls are held until the test has
seen one there: a new replica joins its pool once ready, and one still starting when the burst is over is dropped,
so a burst shorter than a node's launch would never reach it). Idle, the pools shrink, the request falls back
to the minimum pools' CPUs, and the idle worker is removed (idle timeout 6 s). Stopped, the swarm withdraws
its request.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from swarm.models import ErrorReport
from swarm.reporting.reporter import publish_report
from tests.support.rayhead import BIN, RayHead

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(600)]
FAKE_PROVIDER = "ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"


def fake_cluster_config(gcs: str) -> dict[str, Any]:
    # the "external" provider type loads the fake multi-node provider by module path (its own defaults file,
    # fake_multi_node/example.yaml, is not shipped in the Ray wheel)
    return {
        "cluster_name": "swarm-fake",
        "max_workers": 1,
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": 0.1,
        "provider": {"type": "external", "module": FAKE_PROVIDER, "gcs_address": gcs, "use_node_id_as_ip": True,
                     "disable_node_updaters": True, "disable_launch_config_check": True},
        "auth": {},
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 2}, "node_config": {}, "max_workers": 0},
            "ray.worker.cpu": {"resources": {"CPU": 8}, "node_config": {}, "min_workers": 0, "max_workers": 1},
        },
        "head_node_type": "ray.head.default",
        "file_mounts": {}, "cluster_synced_files": [], "file_mounts_sync_continuously": False,
        "rsync_exclude": [], "rsync_filter": [], "initialization_commands": [], "setup_commands": [],
        "head_setup_commands": [], "worker_setup_commands": [], "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


@pytest.fixture(scope="module")
def fake_head():
    head = RayHead(num_cpus=2, extra_env={"RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1",
                                          "RAY_enable_autoscaler_v2": "0"})
    config = head.tmp / "autoscaling.json"
    config.write_text(json.dumps(fake_cluster_config(head.gcs)))
    head.extra_args = [f"--autoscaling-config={config}"]
    head.start()
    try:
        yield head
    finally:
        head.stop()


def alive_nodes(head: RayHead) -> list[dict[str, Any]]:
    data = head.request("/api/v0/nodes?limit=100&detail=1")
    return [n for n in data["data"]["result"]["result"] if n["state"] == "ALIVE"]


def swarm_actor_nodes(head: RayHead, ns: str) -> dict[str, str]:
    """Alive actors of the swarm's Ray namespace: name -> node id."""
    data = head.request("/api/v0/actors?limit=1000&detail=1")
    return {a["name"]: a["node_id"] for a in data["data"]["result"]["result"]
            if a["state"] == "ALIVE" and a.get("ray_namespace") == f"swarm-{ns}" and a.get("name")}


def requested_cpus(head: RayHead) -> int:
    """The swarm's standing request_resources, as Ray's autoscaler reports it (`ray status`)."""
    out = subprocess.run([str(BIN / "ray"), "status", "--address", head.gcs], env=head.env(), capture_output=True,
                         text=True, timeout=120).stdout
    section = out.split("From request_resources:", 1)[-1].split("Pending Demands:", 1)[0]
    found = re.search(r"\{'CPU': 1(?:\.0)?\}: (\d+) from request_resources", section)
    return int(found.group(1)) if found else 0


def report(i: int) -> ErrorReport:
    return ErrorReport(
        error=f"TimeoutError: upstream {i} took too long",
        stack=f'Traceback (most recent call last):\n  File "app/u{i}.py", line {3 + i}, in call\nTimeoutError',
        service="shop",
        context={"file": f"app/u{i}.py", "line": 3 + i, "function": "call"},
    )


async def wait_for(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        await asyncio.sleep(1.0)


async def test_a_burst_makes_ray_add_a_worker_node_and_idle_removes_it(fake_head, bus, settings) -> None:
    ns = settings.nats_namespace
    env = fake_head.env(token_mode=False) | {"RAY_ADDRESS": fake_head.dashboard, "NATS_URL": settings.nats_url or "",
                                             "NATS_NAMESPACE": ns}
    assert len(alive_nodes(fake_head)) == 1
    sub = subprocess.run(["swarm", "submit", "--config", "tests/cluster/autoscale.yaml", "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert sub.returncode == 0, sub.stdout + sub.stderr
    head_id = alive_nodes(fake_head)[0]["node_id"]
    assert len(alive_nodes(fake_head)) == 1, "the minimum pools fit on the head: no node before the burst"
    gate = Path(f"/tmp/swarm-autoscale-{ns}.open")  # autoscale.yaml's research hold_until
    gate.unlink(missing_ok=True)
    try:
        for i in range(16):
            await publish_report(bus, report(i))
        # the pools it grows to need more than the head's 2 CPUs: asked of Ray's autoscaler
        await wait_for(lambda: requested_cpus(fake_head) > 2, 120, "a request for the grown pools' CPUs")
        # the pools grow past the head's 2 CPUs: Ray launches a worker node and the new replicas land on it
        await wait_for(lambda: len(alive_nodes(fake_head)) == 2, 240, "a worker node for the burst")
        on_worker = await wait_for(
            lambda: {n for n, node in swarm_actor_nodes(fake_head, ns).items() if node != head_id}, 120,
            "a swarm replica on the new node")
        assert all(n.split("-")[0] in ("research", "implement", "review") for n in on_worker), on_worker
        gate.touch()
        # the burst is answered, the swarm goes idle: the pools shrink and Ray removes the idle worker
        await wait_for(lambda: len(alive_nodes(fake_head)) == 1, 240, "the idle worker node removed")
        assert alive_nodes(fake_head)[0]["node_id"] == head_id
        info = await bus.js.stream_info(bus.names.stream("RESULTS"))
        assert info.state.messages == 16
        assert requested_cpus(fake_head) == 2, "idle, the request falls back to the minimum pools' CPUs"
    finally:
        gate.touch()  # nothing is left holding, whatever failed
        stop = subprocess.run(["swarm", "submit", "--stop", "--json"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    gate.unlink(missing_ok=True)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    await wait_for(lambda: requested_cpus(fake_head) == 0, 60, "the stopped swarm's request withdrawn")
