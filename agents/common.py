"""What every role needs from its AgentContext: typed settings, the repository, a worktree, a voice.

    s = AgentSettings.of(ctx)                      # brain config, workspace root, git author, limits
    ws = await open_workspace(ctx, mode="read")    # a worktree in a thread (git is blocking)
    await say(ctx, "note", "blamed pkg/app.py:12")
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from agents.workspace import Mode, Workspace
from swarm.agent import AgentContext, AgentFailed, BrainConfig, RepositoryConfig

__all__ = ["AgentSettings", "repository_of", "open_workspace", "close_workspace", "say"]


@dataclass(frozen=True)
class AgentSettings:
    brain: BrainConfig
    workspace_root: str
    author_name: str
    author_email: str
    max_hypotheses: int
    max_cycles: int

    @classmethod
    def of(cls, ctx: AgentContext) -> AgentSettings:
        cfg = ctx.config or {}
        author = cfg.get("git_author") or {}
        orchestration = cfg.get("orchestration") or {}
        return cls(
            brain=BrainConfig.model_validate(cfg.get("brain") or {}),
            workspace_root=str(cfg.get("workspace_root") or ".swarm/workspaces"),
            author_name=str(author.get("name") or "swarm"),
            author_email=str(author.get("email") or "swarm@localhost"),
            max_hypotheses=int(orchestration.get("max_hypotheses") or 3),
            max_cycles=int(orchestration.get("max_cycles") or 3),
        )


def repository_of(ctx: AgentContext) -> dict[str, Any]:
    """The report's repository as a validated dict (path|url, branch, test_command, remote)."""
    if not ctx.repository:
        raise AgentFailed(f"no repository configured for service {ctx.report.service!r} (configs/swarm.yaml)")
    return RepositoryConfig.model_validate(ctx.repository).model_dump()


async def open_workspace(ctx: AgentContext, *, mode: Mode, ref: str | None = None) -> Workspace:
    return await asyncio.to_thread(
        Workspace.open,
        repository_of(ctx),
        root=AgentSettings.of(ctx).workspace_root,
        investigation_id=ctx.investigation_id,
        role=ctx.role or "agent",
        mode=mode,
        ref=ref,
        namespace=ctx.namespace,
    )


async def close_workspace(ws: Workspace) -> None:
    await asyncio.to_thread(ws.close)


async def say(ctx: AgentContext, kind: str, content: str, data: dict[str, Any] | None = None) -> None:
    if ctx.messages is not None:
        await ctx.messages.say(kind, content, data)
