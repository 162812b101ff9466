"""Heavy tool work as Ray tasks: the runtime's `ToolRunner` (swarm.toolrunner).

    runner = RayToolRunner(config.tools, role="implement")   # inside a role actor
    with use_runner(runner):
        await agent.handle(ctx)        # run_tool(...) in the fix engine becomes a Ray task

Each command is a task named `tool:<role>:<program>` declaring `tools.num_cpus` (and `tools.memory_mb`), so
Ray's scheduler counts what test runs and bisect steps really use, `ray list tasks` and the dashboard show
them, and the runtime asks the autoscaler for their CPUs (`Autoscaler.cpus_needed`). The worktree lives on
the actor's node, so the task is pinned there (hard node affinity): a node full of tool runs queues
the next one instead of oversubscribing. A task not started within `schedule_timeout_s` (the node's CPUs
are held by actors and other runs), or one the node can never hold, is cancelled and the command runs in
the actor's process, with a warning, so a phase never waits forever on a resource it cannot get. The runner
then runs its commands in the actor for `LOCAL_AFTER_MISS` × `schedule_timeout_s` before it tries a task
again: a node whose CPUs the pools hold (one machine under `ray start --head`, a cluster without room beside
the actors) would otherwise make every run wait the whole timeout first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

import ray
from ray.exceptions import RayError, TaskUnschedulableError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from swarm.config import ToolsConfig
from swarm.toolrunner import MAX_OUTPUT, CommandResult, LocalRunner, ToolRunner, kill_running, run_local

__all__ = ["RayToolRunner", "tool_runner", "TOOL_TASK_PREFIX"]

log = logging.getLogger("swarm.runtime.tools")
TOOL_TASK_PREFIX = "tool:"
LOCAL_AFTER_MISS = 5  # × schedule_timeout_s: how long commands run in the actor after a task found no room


@ray.remote(max_retries=0)
def _run_command(
    args: list[str], cwd: str, timeout_s: float, max_output: int, env: dict[str, str] | None, stdin: str | None
) -> Iterator[str | CommandResult]:
    yield "placed"  # a streaming generator: the caller learns the task started before the command ends
    yield run_local(args, cwd, timeout_s=timeout_s, max_output=max_output, env=env, stdin=stdin)


class RayToolRunner:
    def __init__(self, cfg: ToolsConfig, role: str, node_id: str | None = None) -> None:
        self.cfg, self.role = cfg, role
        self.node_id = node_id or ray.get_runtime_context().get_node_id()
        self.options: dict[str, Any] = {
            "num_cpus": cfg.num_cpus,
            "scheduling_strategy": NodeAffinitySchedulingStrategy(self.node_id, soft=False),
        }
        if cfg.memory_mb:
            self.options["memory"] = cfg.memory_mb * 2**20
        self.fallbacks = 0  # commands that ran in the actor's process because no task was placed
        self._local_until = 0.0  # monotonic time before which commands run here (a task found no room lately)
        self._inflight: set[Any] = set()  # the tasks running now (a stopping actor cancels them)
        # `run` is called from the agents' worker threads (asyncio.to_thread), never on the actor's event
        # loop, so Ray's "blocking ray.get inside async actor" warning (printed by `make demo`) is wrong here
        os.environ.setdefault("RAY_WARN_BLOCKING_GET_INSIDE_ASYNC", "0")

    def run(
        self,
        args: list[str],
        cwd: str,
        *,
        timeout_s: float,
        max_output: int = MAX_OUTPUT,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> CommandResult:
        program = os.path.basename(args[0]) if args else "?"
        if program.startswith("python") and len(args) > 2 and args[1] == "-m":
            program = args[2]  # python -m pytest: the tool is pytest
        name = f"{TOOL_TASK_PREFIX}{self.role}:{program}"
        if time.monotonic() < self._local_until:
            self.fallbacks += 1
            return run_local(args, cwd, timeout_s=timeout_s, max_output=max_output, env=env, stdin=stdin)
        env_d = dict(env) if env is not None else None
        gen = _run_command.options(name=name, **self.options).remote(args, cwd, timeout_s, max_output, env_d, stdin)
        self._inflight.add(gen)
        try:
            return self._outcome(gen, name, args, cwd, timeout_s, max_output, env, stdin)
        finally:
            self._inflight.discard(gen)

    def stop(self) -> int:
        """Cancel the tool tasks running now and kill the commands run here (a stopping actor); how many."""
        gens = list(self._inflight)
        for gen in gens:
            with contextlib.suppress(Exception):
                ray.cancel(gen, force=True)
        return len(gens) + kill_running()

    def _outcome(self, gen: Any, name: str, args: list[str], cwd: str, timeout_s: float, max_output: int,
                 env: Mapping[str, str] | None, stdin: str | None) -> CommandResult:
        try:
            placed, _ = ray.wait([gen], timeout=self.cfg.schedule_timeout_s)
            if placed:
                ray.get(next(gen))
        except TaskUnschedulableError:  # the node can never hold it (more CPUs than it has)
            placed = []
        except (RayError, StopIteration) as exc:
            return CommandResult(-1, f"tool task {name} failed: {type(exc).__name__}: {exc}")
        if not placed:
            ray.cancel(gen, force=True)
            self.fallbacks += 1
            local_s = LOCAL_AFTER_MISS * self.cfg.schedule_timeout_s
            self._local_until = time.monotonic() + local_s
            log.warning("tool task %s was not placed within %.0f s (%g CPUs not free on node %s): running it and "
                        "the next %.0f s of tool runs in the actor (tools.ray_tasks: false always does)", name,
                        self.cfg.schedule_timeout_s, self.cfg.num_cpus, self.node_id[:12], local_s)
            return run_local(args, cwd, timeout_s=timeout_s, max_output=max_output, env=env, stdin=stdin)
        try:
            result = ray.get(next(gen), timeout=timeout_s + 30)  # the command kills itself at timeout_s
        except (RayError, StopIteration) as exc:  # the task's worker died (OOM, node lost): the run failed
            return CommandResult(-1, f"tool task {name} failed: {type(exc).__name__}: {exc}")
        assert isinstance(result, CommandResult)
        return result


def tool_runner(cfg: ToolsConfig, role: str) -> ToolRunner:
    """The runner a role actor installs for its phases: Ray tasks, or local runs (tools.ray_tasks false, or an
    `auto` the driver did not resolve)."""
    return RayToolRunner(cfg, role) if cfg.ray_tasks is True and ray.is_initialized() else LocalRunner()
