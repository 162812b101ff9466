"""The phase calls of many investigations reaching a role in the same turn are spread over its replicas,
not piled on one: each `spread` sees the picks of the others made before it (real Ray actors). Piled on
one replica, the calls beyond its slots wait a whole phase while the other replica idles (the sleeping
agents' concurrency efficiency at 100 in flight)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
import ray

from swarm.runtime.registry import REGISTRY_NAME, PoolClient, Registry

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(120)]


@ray.remote
class Replica:
    """Answers each item after `hold_s`: the calls of one burst are all in flight together."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def handle_phases(self, items: list[int], hold_s: float = 0.3) -> list[tuple[str, str]]:
        await asyncio.sleep(hold_s)
        return [("ok", self.name) for _ in items]


async def test_calls_made_in_one_turn_are_spread_evenly_over_the_replicas() -> None:
    ns = f"spread{uuid.uuid4().hex[:8]}"
    registry = ray.remote(Registry).options(name=REGISTRY_NAME, namespace=ns).remote()
    names = ["review-0", "review-1"]
    replicas = [Replica.options(name=n, namespace=ns).remote(n) for n in names]
    await registry.set_members.remote("review", names)
    client = PoolClient("review", ns)
    await client.warm()
    try:
        # 40 investigations reach review in one turn, each with its own call (as PeerCycle makes them)
        answers = await asyncio.gather(*(client.spread("handle_phases", [i]) for i in range(40)))
        by_replica = Counter(answer[0][1] for answer in answers)
        assert by_replica == {"review-0": 20, "review-1": 20}
        assert client._inflight == {"review-0": 0, "review-1": 0}  # every call counted out again
        # one investigation's fan-out stays together on one replica
        (one,) = [await client.spread("handle_phases", [1, 2, 3], together=lambda _: "inv-1")]
        assert len({replica for _, replica in one}) == 1
    finally:
        for actor in (*replicas, registry):
            ray.kill(actor)
