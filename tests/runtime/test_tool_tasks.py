"""Resources that mean something, on the session's Ray: an agent's tool run is a Ray task in its own worker
process (not the role actor's), a task Ray cannot place runs in the actor after `schedule_timeout_s`, the CPUs
asked of Ray's autoscaler follow the pools and the tool load, and the intake queue group shares a burst."""

from __future__ import annotations

import asyncio
import logging
import math
import os

import pytest

from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.autoscale import Autoscaler, Load
from swarm.runtime.batch import member_slots
from swarm.state import PeerStateStore
from tests.runtime.test_pipeline import report, results
from tests.support.runtime import runtime_config

PID = ["{python}", "-c", "import os; print('pid', os.getppid())"]  # the process that ran the command


async def run(bus, settings, cfg, n: int, base: int) -> tuple[dict[str, int], dict[str, int], list[dict]]:
    """Publish n distinct reports, run a swarm until empty: its counters, actor pids, per-intake-actor stats."""
    for i in range(n):
        await publish_report(bus, report(base + i))
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        counters = await runtime.until_empty(timeout_s=300)
        pids = await runtime.pids()
        per_actor = [await asyncio.wait_for(a.stats.remote(), 60) for a in runtime.intake]  # a stuck actor fails
    finally:
        await runtime.stop()
    return counters, pids, per_actor


async def tool_pids(bus) -> dict[str, set[int]]:
    """Investigation -> the processes that ran its research agent's tool runs (findings in PEER state)."""
    store = PeerStateStore(bus)
    pids: dict[str, set[int]] = {}
    for r in await results(bus):
        state, _ = await store.read(bus.names.peer_key("error", r.investigation_id, 1))
        research = (state.phase("execute").output or {}).get("research") or {}
        for out in research.values():
            for finding in out.get("findings", []):
                text = str(finding.get("tool_output", ""))
                if "pid" in text:
                    pids.setdefault(r.investigation_id, set()).add(int(text.split("pid", 1)[1].split()[0]))
    return pids


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(600)
async def test_a_tool_run_is_a_ray_task_outside_the_actor_and_falls_back_when_it_cannot_be_placed(
    bus, settings, tmp_path
) -> None:
    cfg = runtime_config(tmp_path, {"research": {"tool_run": PID}}, tools={"num_cpus": 1})
    counters, pids, _ = await run(bus, settings, cfg, 2, 700)
    assert counters["results"] == 2
    ran = await tool_pids(bus)
    assert len(ran) == 2 and pids["research-0"] not in set().union(*ran.values()), (ran, pids)  # a Ray task

    # a tool task asking for more CPUs than the cluster has is never placed: it runs in the actor instead
    cfg = runtime_config(tmp_path, {"research": {"tool_run": PID}},
                         tools={"ray_tasks": True, "num_cpus": 64, "schedule_timeout_s": 1})
    counters, pids, _ = await run(bus, settings, cfg, 1, 710)
    assert counters["results"] == 1
    (new,) = [p for inv, p in (await tool_pids(bus)).items() if inv not in ran]
    assert new == {pids["research-0"]}


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(600)
async def test_on_a_local_ray_too_small_for_the_pools_and_a_tool_task_auto_runs_tools_in_the_actor(
        bus, settings, tmp_path, caplog) -> None:
    """`tools.ray_tasks: auto` (the default) on the session's local Ray of 4 CPUs: a tool task of 5 CPUs (or pools
    at their largest that leave less than its CPUs) could never start beside the actors, so tool runs go to the
    actor at once, without waiting `schedule_timeout_s` for each (a laptop's `swarm run` waited 60 s a run)."""
    cfg = runtime_config(tmp_path, {"research": {"tool_run": PID}}, tools={"num_cpus": 5, "schedule_timeout_s": 600})
    assert cfg.tools.ray_tasks == "auto"
    caplog.set_level(logging.INFO, logger="swarm.runtime")
    for i in range(2):
        await publish_report(bus, report(720 + i))
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        assert runtime.config.tools.ray_tasks is False and runtime.spec.load_config().tools.ray_tasks is False
        assert "tool runs (tests, repros, bisect steps) in the role actors: a local Ray of 4 CPUs cannot hold" \
            in caplog.text, caplog.text
        counters = await runtime.until_empty(timeout_s=300)
        pids = await runtime.pids()
    finally:
        await runtime.stop()
    assert counters["results"] == 2
    ran = await tool_pids(bus)  # this test's namespace: its two investigations
    assert len(ran) == 2 and all(p == {pids["research-0"]} for p in ran.values()), (ran, pids)


def test_auto_tool_tasks_are_ray_tasks_on_a_cluster_and_on_a_node_with_room_beside_the_largest_pools() -> None:
    from pathlib import Path

    from swarm.config import SwarmConfig

    # the shipped configuration: 4 roles of 0.25 CPU, 20 replicas in all at their largest
    shipped = SwarmConfig.load(Path(__file__).resolve().parents[2] / "configs" / "swarm.yaml")
    assert shipped.tools.ray_tasks == "auto"
    assert shipped.tool_tasks_on_ray(on_cluster=False, node_cpus=2) is False  # a 2-core laptop
    assert shipped.tool_tasks_on_ray(on_cluster=False, node_cpus=6) is True  # 5 CPUs of pools, 1 of tool task
    assert shipped.tool_tasks_on_ray(on_cluster=True, node_cpus=2) is True  # a cluster grows for them
    pinned = shipped.model_copy(update={"tools": shipped.tools.model_copy(update={"ray_tasks": False})})
    assert pinned.tool_tasks_on_ray(on_cluster=True, node_cpus=64) is False


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(600)
async def test_two_intake_actors_both_take_work_from_one_burst(bus, settings, tmp_path) -> None:
    cfg = runtime_config(tmp_path, {"research": {"sleep_s": 1.0}}, intake={"actors": 2},
                         budget={"max_concurrent_investigations": 16, "retry_delay_s": 0.2})
    share = member_slots(16, 2)
    counters, _, per_actor = await run(bus, settings, cfg, 30, 720)
    assert counters["investigations"] == 30 and counters["results"] == 30
    taken = sorted(int(s["investigations"]) for s in per_actor)
    # each member fetched only what its free slots could take: neither holds more than its share
    assert taken[0] >= 30 - share and taken[1] <= share, taken


def test_cpus_asked_of_ray_follow_the_pools_and_the_tool_load(tmp_path) -> None:
    cfg = runtime_config(tmp_path, tools={"ray_tasks": True})  # tool runs as Ray tasks, as on a cluster
    for role, cpus in {"orchestrator": 0.25, "research": 0.5, "implement": 0.5, "review": 0.5}.items():
        cfg.roles[role].num_cpus = cpus
    scaler = Autoscaler(cfg)
    sizes = {"orchestrator": 1, "research": 3, "implement": 1, "review": 1}
    actors = 0.25 + 0.5 * 5
    assert scaler.cpus_needed(sizes) == actors
    assert scaler.cpus_needed(sizes, Load()) == actors  # idle: the pools only
    assert scaler.cpus_needed(sizes, Load(waiting=2, running=3)) == actors + 5 * cfg.tools.num_cpus
    # never more tool tasks than the tool roles have call slots
    slots = sum(cfg.roles[r].max_concurrency * n for r, n in sizes.items() if r != "orchestrator")
    assert scaler.cpus_needed(sizes, Load(running=10_000)) == actors + slots * cfg.tools.num_cpus
    cfg.tools.ray_tasks = False
    assert scaler.cpus_needed(sizes, Load(running=7)) == actors


def test_intake_members_share_the_swarms_slots() -> None:
    assert member_slots(16, 1) == 32 and member_slots(16, 2) == 16 and member_slots(16, 3) == math.ceil(32 / 3)
    assert member_slots(1, 4) == 2  # never less than two: one running, one waiting its turn


@pytest.mark.usefixtures("ray_session")
async def test_a_configured_repository_path_that_is_no_git_repository_stops_the_start(settings, tmp_path) -> None:
    """On a local Ray the repositories' paths are this machine's: a wrong one is said at start, naming the key
    (the swarm used to start and fail every report of that service when it came)."""
    from swarm.errors import ConfigError

    (tmp_path / "plain").mkdir()
    for path, said in ((tmp_path / "ghost", "no such directory"), (tmp_path / "plain", "not a git repository")):
        cfg = runtime_config(tmp_path, repositories={"ghost": {"path": str(path)}})
        runtime = SwarmRuntime(settings, cfg)
        with pytest.raises(ConfigError, match=f"repositories.ghost.path {path}: {said}"):
            await runtime.start()
        assert not runtime.pools and not runtime.intake  # nothing was started


def test_swarm_run_says_a_wrong_repository_path_before_a_server_or_ray_starts(tmp_path, monkeypatch) -> None:
    """The command a user runs: the wrong path used to be said after the embedded server and Ray had started
    (39 s on a new user's laptop)."""
    import json

    import yaml
    from typer.testing import CliRunner

    from swarm.cli import app

    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("SWARM_HOME", str(tmp_path / "home"))
    cfg = runtime_config(tmp_path, repositories={"shop": {"path": str(tmp_path / "shop-typo")}})
    config = tmp_path / "swarm.yaml"
    config.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--json"])
    assert result.exit_code != 0, result.output
    assert json.loads(result.stdout)["error"] == f"repositories.shop.path {tmp_path / 'shop-typo'}: no such directory"
    assert "embedded nats-server" not in result.stderr and not (tmp_path / "home").exists(), result.stderr


@pytest.mark.usefixtures("ray_session")
def test_after_a_task_found_no_room_the_runs_go_in_the_actor_for_a_while_then_try_a_task_again(
    tmp_path, monkeypatch
) -> None:
    """A node whose CPUs the pools hold (one machine under `ray start --head`): every run used to wait the whole
    `schedule_timeout_s` before it ran in the actor (a new user's six investigations were still running after 5
    minutes). After one miss the runner runs commands in place for LOCAL_AFTER_MISS × the timeout, then asks
    Ray again."""
    import sys
    import types

    from swarm.config import ToolsConfig
    from swarm.runtime import tooltask

    submitted: list[str] = []
    real_task = tooltask._run_command

    class Spy:  # Ray's own task, counted
        def options(self, **kw):
            submitted.append(kw["name"])
            return real_task.options(**kw)

    clock = [1000.0]
    monkeypatch.setattr(tooltask, "_run_command", Spy())
    monkeypatch.setattr(tooltask, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    runner = tooltask.RayToolRunner(ToolsConfig(ray_tasks=True, num_cpus=64, schedule_timeout_s=1), role="research")
    here = [sys.executable, "-c", "import os; print(os.getppid())"]
    for _ in range(3):
        out = runner.run(here, str(tmp_path), timeout_s=60)
        assert out.returncode == 0 and int(out.output.split()[0]) == os.getpid(), out
    assert len(submitted) == 1 and runner.fallbacks == 3  # one task asked for; the two runs after it went here
    clock[0] += tooltask.LOCAL_AFTER_MISS * 1 + 1  # the window is over: a task is tried again
    runner.run(here, str(tmp_path), timeout_s=60)
    assert len(submitted) == 2 and runner.fallbacks == 4


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(300)
async def test_a_scale_up_no_node_has_room_for_holds_back_nothing_and_a_scale_down_drops_it(
    bus, settings, tmp_path
) -> None:
    """A new user's single-node cluster: a replica no node had room for (PENDING_CREATION) held the autoscaler's
    tick, every pool's next decision and their `pool_scaled` events for the 300 s a start may take. Now the
    replica joins its pool once ready; until then it counts toward the pool's target (no second replica is
    asked for) but takes no calls, and a scale-down drops it first."""
    cfg = runtime_config(tmp_path)
    cfg.roles["review"].min_replicas = 0
    cfg.roles["review"].num_cpus = 64  # more than the session's Ray has: never placed
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        pool = runtime.pools["review"]
        assert (pool.size, pool.target) == (0, 0)
        await asyncio.wait_for(pool.scale_to(2, wait=False), 30)  # returns at once: nothing waits on a start
        assert (pool.size, pool.target) == (0, 2) and runtime.targets()["review"] == 2
        assert runtime.sizes()["review"] == 0 and sorted(pool.starting) == ["review-0", "review-1"]
        await pool.scale_to(2, wait=False)  # the same target again: no third replica is created
        assert pool.target == 2
        await pool.scale_to(1, wait=False)  # the highest one still starting goes first
        assert sorted(pool.starting) == ["review-0"] and pool.target == 1
        await pool.scale_to(2, wait=False)  # up again: a replica under a free name (review-1 once Ray released it)
        assert pool.target == 2 and len(pool.starting) == 2
    finally:
        await runtime.stop()
    assert pool.starting == {} and pool.actors == {}


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(300)
async def test_a_stop_right_after_a_scale_down_closes_the_replica_being_retired(bus, settings, tmp_path) -> None:
    """CI saw a `swarm submit --stop` whose job log showed a role actor's 'Task was destroyed but it is pending!'
    and 'Event loop is closed': a scale-down had been retiring it (waiting for its calls) when the stop came, and
    the stop closed only the pool's members. Now the stop closes it too: a last 'stopping' beat, then it is gone."""
    import ray

    from swarm.bloodstream.monitor import read_health

    cfg = runtime_config(tmp_path)
    runtime = SwarmRuntime(settings, cfg)
    await runtime.start()
    try:
        pool = runtime.pools["research"]
        await pool.scale_to(2)
        assert sorted(pool.actors) == ["research-0", "research-1"]
        await pool.scale_to(1)  # research-1 leaves the pool; its retirement waits for its calls
        assert "research-1" in pool.retiring
    finally:
        await runtime.stop()
    health = {h.service: h.status for h in await read_health(bus)}
    assert health.get("research-1") == "stopped" and health.get("research-0") == "stopped", health
    with pytest.raises(ValueError):  # killed, its name released in time: no actor of the swarm outlives the stop
        for _ in range(100):
            ray.get_actor("research-1", namespace=runtime.ray_namespace)
            await asyncio.sleep(0.1)
