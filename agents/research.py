"""Research: investigates one hypothesis, read-only, in its own detached worktree at the branch head.

    out = await ResearchAgent().handle(ctx)   # ctx.hypothesis = {"id", "title", "detail", "kind"?}
    out["suspects"][0]                        # {"commit", "score", "reason", "hunks": [...]}

Runs as parallel Ray tasks, possibly on other nodes: everything it reads it opens itself from
ctx.repository (path or url); the worktree is removed afterwards.
"""

from __future__ import annotations

from typing import Any

from agents.brains import select_brain
from agents.common import close_workspace, open_workspace, say
from swarm.agent import AgentContext, AgentFailed

__all__ = ["ResearchAgent"]


class ResearchAgent:
    role = "research"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        if ctx.hypothesis is None:
            raise AgentFailed("research needs ctx.hypothesis")
        await say(ctx, "research", f"investigating {ctx.hypothesis.get('id')}: {ctx.hypothesis.get('title', '')}")
        ws = await open_workspace(ctx, mode="read")
        try:
            out = await select_brain(self.options).research(ctx, ws)
        finally:
            await close_workspace(ws)
        findings = [f for f in out.get("findings") or [] if isinstance(f, dict)]
        suspects = sorted((s for s in out.get("suspects") or [] if isinstance(s, dict) and s.get("commit")),
                          key=lambda s: -float(s.get("score") or 0.0))
        return {**out, "hypothesis": ctx.hypothesis.get("id"), "findings": findings, "suspects": suspects}
