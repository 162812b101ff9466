"""Who is in each role pool, and the swarm-wide budget: two tiny named actors.

registry = Registry.options(name="swarm-registry", namespace=ns).remote()
await registry.set_members.remote("research", ["research-0", "research-1"])
pool = PoolClient("research", ns)          # inside an actor: pick a replica, call it
output = await pool.call("handle", request)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import ray

from swarm.telemetry import ops

__all__ = ["Registry", "SwarmBudget", "PoolClient", "REGISTRY_NAME", "BUDGET_NAME"]

REGISTRY_NAME = "swarm-registry"
BUDGET_NAME = "swarm-budget"


class Registry:
    """Pool membership (names of live, non-draining replicas) per role."""

    def __init__(self) -> None:
        self.members: dict[str, list[str]] = {}
        self.version = 0

    def set_members(self, role: str, names: list[str]) -> int:
        self.members[role] = list(names)
        self.version += 1
        return self.version

    def get(self, role: str) -> tuple[int, list[str]]:
        return self.version, list(self.members.get(role, []))

    def snapshot(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.members.items()}


class SwarmBudget:
    """Swarm-wide admission: concurrent investigations, and tokens/dollars over the last hour.

    `wait_admit` waits inside this actor until a slot frees (or `timeout_s`), so a waiting
    investigation costs one call per wait instead of one per poll, and takes a freed slot at once.
    An admission lives while its intake touches it (with every in-progress ack); one that is not
    touched for `ttl_s` (its intake died) is dropped, so a crash cannot leak a slot for good. Spend is
    also kept per investigation, so its cost budget holds across phases, cycles and redeliveries.
    """

    def __init__(
        self, max_concurrent: int, tokens_per_hour: int | None, dollars_per_hour: float | None, ttl_s: float = 600.0
    ) -> None:
        self.max_concurrent, self.tokens_per_hour, self.dollars_per_hour = (
            max_concurrent,
            tokens_per_hour,
            dollars_per_hour,
        )
        self.ttl_s = ttl_s
        self.active: dict[str, list[float]] = {}  # investigation id -> [holders, last touched]
        self.spend: deque[tuple[float, int, float]] = deque()  # (time, tokens, usd)
        self.per_investigation: dict[str, tuple[float, float]] = {}  # id -> (usd, last charged)
        self.delayed = 0
        self.expired = 0
        # investigations waiting in wait_admit, oldest first: a freed slot wakes one of them, not all
        # (a burst of N waiting investigations would otherwise cost N tries per freed slot)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pruned = time.monotonic()

    def _window(self) -> tuple[int, float]:
        now = time.monotonic()
        while self.spend and self.spend[0][0] < now - 3600:
            self.spend.popleft()
        for inv, (_, last) in list(self.active.items()):
            if last < now - self.ttl_s:
                del self.active[inv]
                self.expired += 1
                self._signal_freed()
        if now - self._pruned > 60:  # a day-old spend record goes; no need to look at every call
            self._pruned = now
            for inv, (_, last) in list(self.per_investigation.items()):
                if last < now - 86400:
                    del self.per_investigation[inv]
        return sum(t for _, t, _ in self.spend), sum(u for _, _, u in self.spend)

    def admit(self, investigation_id: str) -> tuple[bool, str]:
        admitted, reason = self._try(investigation_id)
        if not admitted:
            self.delayed += 1
        return admitted, reason

    async def wait_admit(self, investigation_id: str, timeout_s: float) -> tuple[bool, str]:
        """`admit`, waiting up to `timeout_s` for a slot to come free; (False, why) after that."""
        deadline = time.monotonic() + timeout_s
        admitted, reason = self._try(investigation_id)
        if not admitted:
            self.delayed += 1  # this investigation had to wait
        while not admitted and (left := deadline - time.monotonic()) > 0:
            woken = asyncio.get_running_loop().create_future()
            self._waiters.append(woken)
            try:
                await asyncio.wait_for(woken, left)
            except TimeoutError:  # not woken: out of the queue (a long wait must not pile up futures)
                with contextlib.suppress(ValueError):
                    self._waiters.remove(woken)
            admitted, reason = self._try(investigation_id)  # woken or timed out, it tries: no wake is lost
        return admitted, reason

    def admit_many(self, investigation_ids: list[str]) -> list[tuple[bool, str]]:
        """`admit` for several at once, never waiting and never ahead of a waiting investigation (while
        one waits, every answer is no: the caller then waits in `wait_admit`, in line, which counts
        the delay). One call for a fetched batch of new investigations instead of one each."""
        if any(not w.done() for w in self._waiters):
            return [(False, "others wait for a slot first")] * len(investigation_ids)
        return [self._try(inv) for inv in investigation_ids]

    def release_many(self, investigation_ids: list[str]) -> list[None]:
        """`release` for several at once."""
        return [self.release(inv) for inv in investigation_ids]

    def _signal_freed(self) -> None:
        """Wake the oldest live waiter: a slot may have come free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _try(self, investigation_id: str) -> tuple[bool, str]:
        tokens, usd = self._window()
        if investigation_id in self.active:  # a redelivered copy: one more holder of the same slot
            entry = self.active[investigation_id]
            entry[0], entry[1] = entry[0] + 1, time.monotonic()
            return True, "already admitted"
        reason = ""
        if len(self.active) >= self.max_concurrent:
            reason = f"{len(self.active)} investigations running (max {self.max_concurrent})"
        elif self.tokens_per_hour is not None and tokens >= self.tokens_per_hour:
            reason = f"{tokens} tokens in the last hour (max {self.tokens_per_hour})"
        elif self.dollars_per_hour is not None and usd >= self.dollars_per_hour:
            reason = f"${usd:.2f} in the last hour (max ${self.dollars_per_hour:.2f})"
        if reason:
            return False, reason
        self.active[investigation_id] = [1, time.monotonic()]
        return True, "admitted"

    def touch(self, investigation_id: str) -> None:
        if investigation_id in self.active:
            self.active[investigation_id][1] = time.monotonic()

    def release(self, investigation_id: str) -> None:
        """One holder is done; the slot is free when the last one is."""
        entry = self.active.get(investigation_id)
        if entry is not None:
            entry[0] -= 1
            if entry[0] <= 0:
                del self.active[investigation_id]
                self._signal_freed()

    def charge(self, tokens: int, usd: float, investigation_id: str | None = None) -> float:
        """Record spend; return what the investigation has spent so far."""
        now = time.monotonic()
        self.spend.append((now, tokens, usd))
        if investigation_id is None:
            return usd
        total = self.per_investigation.get(investigation_id, (0.0, now))[0] + usd
        self.per_investigation[investigation_id] = (total, now)
        return total

    def spent(self, investigation_id: str) -> float:
        return self.per_investigation.get(investigation_id, (0.0, 0.0))[0]

    def status(self) -> dict[str, Any]:
        tokens, usd = self._window()
        return {
            "active": len(self.active),
            "active_ids": sorted(self.active),  # so a load reading can count each investigation once
            "tokens_hour": tokens,
            "usd_hour": usd,
            "delayed": self.delayed,
            "expired": self.expired,
            "max_concurrent": self.max_concurrent,  # the limits (None: unlimited), for status and metrics
            "tokens_per_hour": self.tokens_per_hour,
            "dollars_per_hour": self.dollars_per_hour,
        }


class PoolClient:
    """Calls a role pool from inside an actor: least-busy replica (as seen from here)."""

    def __init__(self, role: str, ray_namespace: str, refresh_s: float = 0.5) -> None:
        self.role, self.ray_namespace, self.refresh_s = role, ray_namespace, refresh_s
        self._members: list[str] = []
        self._handles: dict[str, Any] = {}
        self._inflight: dict[str, int] = {}
        self._checked = 0.0
        self._registry: Any = None

    async def _refresh(self) -> None:
        if time.monotonic() - self._checked < self.refresh_s and self._members:
            return
        if self._registry is None:  # a named, restartable actor: the handle outlives its restarts
            self._registry = ray.get_actor(REGISTRY_NAME, namespace=self.ray_namespace)  # blocks: once
        _, self._members = await self._registry.get.remote(self.role)
        self._checked = time.monotonic()

    async def warm(self) -> None:
        """Resolve the registry and the replicas' handles now (`ray.get_actor` blocks the event loop): an
        actor's start-up pays it, not its first calls."""
        await self._refresh()
        for name in self._members:
            self._handle(name)

    def _handle(self, name: str) -> Any:
        if name not in self._handles:
            self._handles[name] = ray.get_actor(name, namespace=self.ray_namespace)
        return self._handles[name]

    async def call(self, method: str, *args: Any) -> Any:
        """`method(*args)` on the least busy replica."""
        await self._refresh()
        if not self._members:
            raise RuntimeError(f"role pool {self.role!r} has no replicas")
        name = min(self._members, key=lambda n: self._inflight.get(n, 0))
        return await self._call_on(name, method, args, 1)

    async def spread(
        self, method: str, items: list[Any], together: Callable[[Any], Any] | None = None
    ) -> list[tuple[str, Any]]:
        """`method(items)` with the items spread over the replicas as `call` would pick for each (least
        busy first), one call per replica used; items with the same `together(item)` go to the same
        replica (one investigation's phases: their writes take turns on one store). Per item, in
        order: what the replica's `method` gave for it (`("ok", answer)` / `("error", exception)`),
        or `("error", exception)` for each item of a replica whose call failed (died, restarting)."""
        await self._refresh()
        if not self._members:
            raise RuntimeError(f"role pool {self.role!r} has no replicas")
        groups: dict[Any, list[int]] = {}
        for i, item in enumerate(items):
            groups.setdefault(together(item) if together else i, []).append(i)
        load = {n: self._inflight.get(n, 0) for n in self._members}
        plan: dict[str, list[int]] = {}
        for group in groups.values():
            name = min(load, key=load.__getitem__)
            load[name] += len(group)
            plan.setdefault(name, []).extend(group)
        out: list[tuple[str, Any]] = [("error", RuntimeError("not called"))] * len(items)
        # counted in flight now, not when each call's task first runs: the spreads of one turn (every
        # investigation reaching this role at once) must each see the others' picks, or they all pick the
        # same replica and overflow its slots while the other replica idles
        for name, idx in plan.items():
            self._inflight[name] = self._inflight.get(name, 0) + len(idx)

        async def one(name: str, idx: list[int]) -> None:
            try:
                answers = await self._call_on(name, method, ([items[i] for i in idx],), len(idx), counted=True)
            except Exception as exc:  # noqa: BLE001 - each item of this replica's call hears of it
                answers = [("error", exc)] * len(idx)
            for i, answer in zip(idx, answers, strict=True):
                out[i] = answer

        try:
            await asyncio.gather(*(one(name, idx) for name, idx in plan.items()))
        finally:
            for name, idx in plan.items():
                self._inflight[name] -= len(idx)
        return out

    async def _call_on(
        self, name: str, method: str, args: tuple[Any, ...], weight: int, counted: bool = False
    ) -> Any:
        """One call on replica `name`, counted as `weight` calls in flight (the items it carries; `counted`:
        the caller counts them, in and out)."""
        if not counted:
            self._inflight[name] = self._inflight.get(name, 0) + weight
        ops.count("ray_call")
        try:
            return await getattr(self._handle(name), method).remote(*args)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            self._handles.pop(name, None)  # a restarted actor gets a fresh handle next time
            self._checked = 0.0
            await self._wait_back(name)
            raise
        finally:
            if not counted:
                self._inflight[name] -= weight

    async def _wait_back(self, name: str, timeout_s: float = 30.0) -> None:
        """A replica died under a call: before the caller hears of it (and retries, by a redelivery),
        wait (bounded) until the replica answers again, so the retry does not fail on it while Ray is
        still restarting it."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                handle = ray.get_actor(name, namespace=self.ray_namespace)
                await asyncio.wait_for(handle.active.remote(), timeout=left)
                return
            except Exception:  # restarting, or gone (scaled away): try again until the deadline
                await asyncio.sleep(min(0.2, max(left, 0.0)))
