"""Small agents for runtime tests, configured through `options` in the test's SwarmConfig.

options (all roles): sleep_s (per call); fail (raise in handle); hang_once (a path: the first call
creates it and then waits until cancelled or killed; later calls pass); sleep_once (a path: the first
call creates it and sleeps sleep_once_s, later calls do not); transient_count_file and
transient_times (raise TransientError on the first N calls); spend_usd (charge the budget per call);
request_changes_cycles (review: ask for changes in these cycles).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from swarm.agent import AgentContext, TransientError


class _Base:
    role = ""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    async def _behave(self, ctx: AgentContext) -> None:
        # the fault suite's ledger (swarm.bench.ledger) counts agent calls by these
        start = {"phase": ctx.phase, "cycle": ctx.cycle, "hypothesis": (ctx.hypothesis or {}).get("id")}
        await ctx.messages.say("started", f"{self.role} {ctx.phase} {ctx.investigation_id}", start)  # type: ignore[union-attr]
        marker = self.options.get("hang_once")
        if marker and not Path(marker).exists():
            Path(marker).write_text(ctx.investigation_id)
            await asyncio.Event().wait()  # until the actor is killed
        once = self.options.get("sleep_once")
        if once and not Path(once).exists():
            Path(once).write_text(ctx.investigation_id)
            await asyncio.sleep(float(self.options.get("sleep_once_s", 30)))
        if self.options.get("sleep_s"):
            await asyncio.sleep(float(self.options["sleep_s"]))
        if self.options.get("fail"):
            raise RuntimeError(f"{self.role} agent failed on purpose")
        if self.options.get("spend_usd"):  # an LLM call's cost, charged as a real brain does
            await ctx.budget.charge(1000, float(self.options["spend_usd"]))
        counter = self.options.get("transient_count_file")
        if counter:  # fail transiently the first `transient_times` calls (a flaky dependency)
            path = Path(counter)
            calls = int(path.read_text()) if path.exists() else 0
            path.write_text(str(calls + 1))
            if calls < int(self.options.get("transient_times", 0)):
                raise TransientError(f"{self.role}: dependency unavailable (call {calls + 1})")


class Orchestrator(_Base):
    role = "orchestrator"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        if ctx.phase == "plan":
            n = int(self.options.get("hypotheses", 2))
            return {"hypotheses": [{"id": f"h{i}", "title": f"hypothesis {i}"} for i in range(n)]}
        return {
            "status": ctx.implementation.get("status", "no_fix"),
            "root_cause": f"test root cause of {ctx.report.error}",
            "summary": f"{len(ctx.findings)} findings",
            "branch": ctx.implementation.get("branch"),
        }


class Research(_Base):
    role = "research"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        hyp = (ctx.hypothesis or {}).get("id")
        return {
            "hypothesis": hyp,
            "findings": [{"file": ctx.report.context.file, "line": ctx.report.context.line}],
            "suspects": [],
        }


class Implement(_Base):
    role = "implement"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        return {
            "status": "fixed",
            "branch": f"swarm/fix/{ctx.investigation_id}",
            "fix_commit": "f" * 40,
            "research_seen": len(ctx.findings),
            "feedback_seen": ctx.feedback,
        }


class Review(_Base):
    role = "review"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        if ctx.cycle in self.options.get("request_changes_cycles", []):
            return {
                "verdict": "request_changes",
                "reasons": ["needs a test"],
                "feedback": f"cycle {ctx.cycle}: add a test",
            }
        return {"verdict": "approve", "reasons": [], "tests": {"passed": 3, "failed": 0, "ok": True}}
