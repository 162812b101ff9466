"""Agents for `swarm bench pipeline`: they do no work, or only sleep, so the runtime's own cost shows.

Loaded by dotted path like any agent (`swarm.bench.agents:BenchResearch`); options (every role):
`sleep_s` (seconds slept per call, default 0); the orchestrator also takes `hypotheses` (default 2).

    roles = {role: {"agent": f"swarm.bench.agents:{cls}", "options": {"sleep_s": 1.0}}
             for role, cls in BENCH_AGENTS.items()}

Outputs are the smallest valid phase outputs (see swarm/agent.py): the implement agent
reports a fix so the review phase runs too, and review approves, so every investigation makes one
cycle of all four phases and ends in a "fixed" Result. No agent messages are sent: that is agent work.
"""

from __future__ import annotations

import asyncio
from typing import Any

from swarm.agent import AgentContext, fix_branch

__all__ = ["BENCH_AGENTS", "BenchOrchestrator", "BenchResearch", "BenchImplement", "BenchReview"]


class _BenchAgent:
    role = ""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        options = options or {}
        self.sleep_s = float(options.get("sleep_s", 0.0))
        self.hypotheses = int(options.get("hypotheses", 2))

    async def _pause(self, ctx: AgentContext) -> None:
        if self.sleep_s > 0:
            await asyncio.sleep(self.sleep_s)
        ctx.cancel.raise_if_cancelled()


class BenchOrchestrator(_BenchAgent):
    role = "orchestrator"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._pause(ctx)
        if ctx.phase == "plan":
            return {"hypotheses": [{"id": f"h{i}", "title": f"hypothesis {i}"} for i in range(self.hypotheses)]}
        return {
            "status": ctx.implementation.get("status", "no_fix"),
            "root_cause": "benchmark",
            "summary": f"{len(ctx.findings)} findings",
            "branch": ctx.implementation.get("branch"),
        }


class BenchResearch(_BenchAgent):
    role = "research"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._pause(ctx)
        return {"hypothesis": (ctx.hypothesis or {}).get("id"), "findings": [], "suspects": []}


class BenchImplement(_BenchAgent):
    role = "implement"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._pause(ctx)
        return {"status": "fixed", "branch": fix_branch(ctx.investigation_id, ctx.namespace), "fix_commit": "0" * 40}


class BenchReview(_BenchAgent):
    role = "review"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._pause(ctx)
        return {"verdict": "approve", "reasons": []}


BENCH_AGENTS = {
    "orchestrator": "swarm.bench.agents:BenchOrchestrator",
    "research": "swarm.bench.agents:BenchResearch",
    "implement": "swarm.bench.agents:BenchImplement",
    "review": "swarm.bench.agents:BenchReview",
}
