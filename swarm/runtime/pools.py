"""A role's pool of Ray actors, named `<role>-<i>` in the swarm's Ray namespace: create, scale, retire, restart.

    pool = RolePool("research", spec, config, registry)
    await pool.scale_to(3)          # new replicas are ready before they count; retired ones finish their calls
    await pool.scale_to(4, wait=False)  # the autoscaler's way: the replica joins once ready, nothing waits on it
    await pool.restart("research-1")
    await pool.close_all()

How many replicas a pool should have is decided elsewhere (`autoscale.Autoscaler.decide`); this module only
carries the decision out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import ray

from swarm.config import SwarmConfig
from swarm.delivery.providers import token_env_vars
from swarm.runtime.orchestrator import OrchestratorActor
from swarm.runtime.remote import remote_class
from swarm.runtime.roles import RoleActor
from swarm.runtime.services import ActorSpec
from swarm.runtime.stopsteps import close_actors
from swarm.telemetry import metrics
from swarm.telemetry.tracing import actor_runtime_env

__all__ = ["RESTART_BOUND_S", "RESTART_WINDOW_S", "RolePool", "comes_back", "name_released", "start_failure"]

log = logging.getLogger("swarm.runtime")
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b[^:]*: ")  # `pkg.SomeError: why`
RESTART_WINDOW_S = 30.0  # how long Ray may take to restart a killed replica's process before it is replaced
REPLACEMENT_START_S = 60.0  # how long a replacement may take to start
NAME_RELEASE_S = 10.0
ROLE_CALL_SLOTS = 1000  # Ray's concurrent calls of a research / implement / review actor (phases: its semaphore)
# the longest restart: the healer's action timeout must cover it (swarm.runtime.app)
RESTART_BOUND_S = RESTART_WINDOW_S + NAME_RELEASE_S + REPLACEMENT_START_S


async def comes_back(call: Callable[[], Any], timeout_s: float = RESTART_WINDOW_S) -> bool:
    """True once `call()` (a cheap actor call: ready, stats) returns. While Ray restarts the actor's process
    it answers ActorUnavailableError: asked again until `timeout_s`. False when it died for good (Ray will
    not restart it), raised, or stayed silent.

    Why not one call: a healer that took "restarting" for "dead" killed the process Ray had just brought
    back, and with it a phase call already running there; that call was lost and its phase ran a third time.
    """
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(call(), left)
            return True
        except ray.exceptions.ActorUnavailableError:
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        except Exception:  # dead for good (ActorDiedError), or it raised: not coming back by itself
            return False
    return False


async def name_released(name: str, namespace: str, timeout_s: float = NAME_RELEASE_S) -> bool:
    """Wait until a killed actor's name is free again (Ray releases it asynchronously); False if it is not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get_actor(name, namespace=namespace)
        except ValueError:
            return True
        await asyncio.sleep(0.05)
    return False


def start_failure(exc: BaseException) -> str:
    """Why a replica did not start, in one line: the error its constructor raised (Ray wraps it in the
    creation task's traceback), or that it was not ready in time."""
    if isinstance(exc, TimeoutError):
        return "not ready in time (no node with its CPUs and memory free, or a slow start)"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if _RAISED.match(line)]
    return raised[-1] if raised else (lines[-1] if lines else repr(exc))


class RolePool:
    """The replicas of one role: named actors `<role>-<i>`, scaled by the driver."""

    def __init__(self, role: str, spec: ActorSpec, config: SwarmConfig, registry: Any) -> None:
        self.role, self.spec, self.config, self.registry = role, spec, config, registry
        self.cfg = config.roles[role]
        self.actors: dict[str, Any] = {}
        self.retiring: set[str] = set()  # names being retired: never re-adopted by a scale-up
        self.leaving: dict[str, Any] = {}  # retiring replicas still alive: a stop closes them like the rest
        self.starting: dict[str, Any] = {}  # replicas a scale-up created that are not ready yet
        self._background: set[asyncio.Task[None]] = set()  # admissions of starting replicas, name releases
        self.start_error: str | None = None  # why the last replica that could not start did not

    @property
    def size(self) -> int:
        """Replicas that are ready (and take calls)."""
        return len(self.actors)

    @property
    def target(self) -> int:
        """Replicas ready or starting: what the pool was last scaled to, as far as it could be."""
        return len(self.actors) + len(self.starting)

    def _create(self, index: int) -> Any:
        cls = OrchestratorActor if self.role == "orchestrator" else RoleActor
        options = dict(
            name=f"{self.role}-{index}",
            namespace=self.spec.ray_namespace,
            # a role actor runs at most max_concurrency phases by its own semaphore: Ray's call slots are many, so
            # a cancel, a probe or a close never queues behind phase calls (a new user's cancel waited minutes)
            max_concurrency=self.cfg.max_concurrency if self.role == "orchestrator" else ROLE_CALL_SLOTS,
            num_cpus=self.cfg.num_cpus,
            max_restarts=-1,
            max_task_retries=0,
            get_if_exists=True,
            runtime_env=actor_runtime_env(),  # OTEL_* of the driver: every actor exports like it
        )
        if self.cfg.memory_mb:  # reserved in Ray: a node without the memory is not chosen
            options["memory"] = self.cfg.memory_mb * 2**20
        remote = remote_class(cls).options(**options)
        if self.role == "orchestrator":
            # it opens pull requests: the provider tokens of the driver's environment, in its arguments (an
            # actor's runtime_env is on show in the dashboard), and only its: the other roles run repo code
            tokens = token_env_vars(self.config.repositories)
            return remote.remote(replace(self.spec, secret_env={**self.spec.secret_env, **tokens}), index)
        return remote.remote(self.spec, self.role, index)

    async def scale_to(self, n: int, *, wait: bool = True) -> None:
        """Create or retire replicas until the pool holds `n`. With `wait` (the start) new replicas are awaited;
        without (the autoscaler) each joins the pool once ready, so a replica that no node has room for (it
        waits up to 300 s, then is dropped) never holds up the next decision or the other pools."""
        n = max(0, n)
        new = []
        index = 0
        while self.target + len(new) < n:
            name = f"{self.role}-{index}"
            if name not in self.actors and name not in self.retiring and name not in self.starting and \
                    name not in [x for x, _ in new]:
                new.append((name, self._create(index)))
            index += 1
        if new and wait:
            ready = await asyncio.gather(*(self._ready(name, h) for name, h in new))
            self.actors.update((name, h) for (name, h), ok in zip(new, ready, strict=True) if ok)
        for name, handle in new if not wait else ():
            self.starting[name] = handle
            task = asyncio.get_running_loop().create_task(self._admit(name, handle))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        while self.starting and self.target > n:  # the ones not ready yet go first: they hold no work
            name = max(self.starting, key=lambda x: int(x.rsplit("-", 1)[1]))
            self._drop_starting(name)
        removed = []
        while len(self.actors) > n:
            name = max(self.actors, key=lambda x: int(x.rsplit("-", 1)[1]))
            removed.append((name, self.actors.pop(name)))
        await self.registry.set_members.remote(self.role, sorted(self.actors))
        for name, handle in removed:  # out of the registry first, then let running calls finish
            self.retiring.add(name)
            self.leaving[name] = handle
            task = asyncio.get_running_loop().create_task(self._retire(name, handle))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        metrics.gauge("pool_size", len(self.actors), role=self.role)

    async def _retire(self, name: str, handle: Any) -> None:
        # callers refresh membership every 0.5 s: after that no new call arrives; running calls end
        # by themselves (each phase has its own timeout), so wait for them without a deadline
        await asyncio.sleep(1.0)
        while True:
            try:
                if await handle.active.remote() == 0:
                    break
            except Exception:  # already dead: nothing left to wait for
                break
            await asyncio.sleep(0.5)
        await close_actors([(name, handle)])  # a clean 'stopping' beat: the health monitor must not heal it
        with contextlib.suppress(Exception):
            ray.kill(handle, no_restart=True)
        self.leaving.pop(name, None)
        await name_released(name, self.spec.ray_namespace)
        self.retiring.discard(name)

    async def _admit(self, name: str, handle: Any) -> None:
        ready = await self._ready(name, handle)
        if self.starting.get(name) is not handle:  # scaled away or closed meanwhile
            return
        del self.starting[name]
        if not ready:
            self._release_later(name)
            return
        self.actors[name] = handle
        await self.registry.set_members.remote(self.role, sorted(self.actors))
        metrics.gauge("pool_size", len(self.actors), role=self.role)

    def _drop_starting(self, name: str) -> None:
        handle = self.starting.pop(name)
        with contextlib.suppress(Exception):
            ray.kill(handle, no_restart=True)
        self._release_later(name)

    def _release_later(self, name: str) -> None:
        """Keep a killed replica's name from a scale-up until Ray has released it (else it is re-adopted dying)."""
        self.retiring.add(name)

        async def release() -> None:
            await name_released(name, self.spec.ray_namespace)
            self.retiring.discard(name)

        task = asyncio.get_running_loop().create_task(release())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _ready(self, name: str, handle: Any, timeout_s: float = 300.0) -> bool:
        """Wait for a new replica; one that cannot start (no capacity, bad node) is killed, not awaited forever."""
        try:
            await asyncio.wait_for(handle.ready.remote(), timeout_s)
            return True
        except Exception as exc:
            log.warning("replica %s did not start: %r", name, exc)
            self.start_error = f"{name}: {start_failure(exc)}"
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
            return False

    async def restart(self, name: str) -> bool:
        """Replace a dead replica (the healer's ActorRestarter). One that still answers is left running;
        a replacement that does not start is killed and its name released (the next try starts clean)."""
        if name not in self.actors or name in self.retiring:
            return False
        # alive, or being restarted by Ray (max_restarts=-1): ready() (re)connects it and restarts its heartbeat
        old = self.actors[name]
        if await comes_back(old.ready.remote):
            log.warning("not replacing %s: it answers and is connected (its heartbeats resume)", name)
            return True
        if self.actors.get(name) is not old or name in self.retiring:  # scaled away, or replaced, meanwhile
            return False
        with contextlib.suppress(Exception):
            ray.kill(old, no_restart=True)
        if not await name_released(name, self.spec.ray_namespace):
            log.warning("%s: the old actor's name is still taken; try again later", name)
            return False
        handle = self._create(int(name.rsplit("-", 1)[1]))
        try:
            started = await self._ready(name, handle, timeout_s=REPLACEMENT_START_S)
        except BaseException:  # cancelled (the healer's time ran out): no orphan left holding the name
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
            raise
        if not started:
            await name_released(name, self.spec.ray_namespace)
            return False
        if name not in self.actors:  # scaled away meanwhile
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
            return False
        self.actors[name] = handle
        await self.registry.set_members.remote(self.role, sorted(self.actors))
        return True

    async def close_all(self) -> None:
        """Let every replica close its connections (a clean last heartbeat), then kill it; also one still
        starting (it may have beaten once: a replica killed without its last beat is taken for dead), and one
        a scale-down is retiring (left to the job's end, it exits with its NATS client open: noise in its log)."""
        # one still starting finishes its start before it closes (a close during the start left its connection
        # open: CI); one waiting for a node that never comes costs no longer, waited for beside the others
        await asyncio.gather(close_actors([*self.actors.items(), *self.leaving.items()]),
                             close_actors(self.starting.items()))
        self.kill_all()

    def kill_all(self) -> None:
        for task in list(self._background):
            task.cancel()
        for handle in [*self.actors.values(), *self.starting.values(), *self.leaving.values()]:
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
        self.actors.clear()
        self.starting.clear()
        self.leaving.clear()


