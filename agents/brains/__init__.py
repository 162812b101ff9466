"""Brains: what thinks inside a role. Claude (anthropic SDK) when ANTHROPIC_API_KEY is set, else offline.

    brain = select_brain(options)          # options["brain"]: "auto" (default) | "offline" | "claude"
    plan = await brain.plan(ctx)

Every brain has the same five steps; the role classes own worktrees, tests, commits and output shapes.
- plan(ctx)                               -> {"hypotheses": [{"id", "title", "detail", "kind"?}]}
- research(ctx, ws)                       -> {"findings": [...], "suspects": [...]}
- implement(ctx, ws, tools, tests_before) -> {"root_cause", "suspect_commit", "summary", "verified", "reason", ...}
  (edits the worktree through `tools`; the role commits)
- express(ctx)                            -> {"root_cause", "summary"}
- review(ctx, ws, tools, facts)           -> {"verdict": "approve"|"request_changes"|None, "reasons": [...]}
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from agents.tools import Toolbox
from agents.workspace import Workspace
from swarm.agent import AgentContext
from swarm.models import TestCounts

__all__ = ["Brain", "select_brain"]


class Brain(Protocol):
    name: str

    async def plan(self, ctx: AgentContext) -> dict[str, Any]: ...
    async def research(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]: ...
    async def implement(
        self, ctx: AgentContext, ws: Workspace, tools: Toolbox, tests_before: TestCounts
    ) -> dict[str, Any]: ...
    async def express(self, ctx: AgentContext) -> dict[str, Any]: ...
    async def review(
        self, ctx: AgentContext, ws: Workspace, tools: Toolbox, facts: dict[str, Any]
    ) -> dict[str, Any]: ...


def select_brain(options: dict[str, Any] | None = None) -> Brain:
    """Claude when asked for, or on "auto" when ANTHROPIC_API_KEY is set; the offline brain otherwise."""
    options = options or {}
    choice = str(options.get("brain", "auto"))
    from agents.brains.offline import OfflineBrain

    if choice == "offline" or (choice == "auto" and not os.environ.get("ANTHROPIC_API_KEY")):
        return OfflineBrain(options)
    from agents.brains.claude import ClaudeBrain

    return ClaudeBrain(options)
