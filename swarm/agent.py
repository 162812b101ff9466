"""The agent seam: the one module (with `swarm.models`) that code under `agents/` imports.

An agent is any class with a `role` and an async `handle(ctx) -> dict`; the runtime loads it by
dotted path from configs/swarm.yaml and constructs it with `AgentClass(options)`. It never sees
NATS or Ray: only the small protocols below, its own small config models (`BrainConfig`,
`RepositoryConfig`), and the errors it may raise (`AgentFailed`, `BudgetExhausted`,
`TransientError`, `InvalidInput`).

Heavy tool work (test runs, repro runs, bisect steps) goes through `run_tool(args, cwd, timeout_s=...)`:
the host decides where it runs (under the Ray runtime: a Ray task with `tools.num_cpus`, placed by Ray's
scheduler on the node holding the worktree; in-process: a subprocess here). See `swarm.toolrunner`.

    class EchoResearch:
        role = "research"
        def __init__(self, options: dict | None = None) -> None: ...
        async def handle(self, ctx: AgentContext) -> dict:
            await ctx.messages.say("note", f"looking at {ctx.report.context.file}")
            ctx.cancel.raise_if_cancelled()
            return {"hypothesis": ctx.hypothesis["id"], "findings": [], "suspects": []}

Phase outputs (JSON, stored in PEER state under the phase; typed by swarm.runtime.cycle, extra keys kept):
- plan (orchestrator):  {"hypotheses": [{"id", "title", "detail"}, ...]}
- execute/research:     {"hypothesis": id, "findings": [...], "suspects": [{"commit", "score", ...}]}
- execute/implement:    {"status": "fixed"|"no_fix", "branch", "fix_commit", "tests_before", "tests_after", ...}
- express (orchestrator): {"status": "fixed"|"no_fix"|"failed", "root_cause", "summary", "suspect_commit", ...}
- review:               {"verdict": "approve"|"request_changes", "reasons": [...], "feedback": str}
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import ConfigDict, Field, model_validator

from swarm.errors import AgentFailed, BudgetExhausted, InvalidInput, TransientError
from swarm.files import FileModel
from swarm.models import ErrorReport
from swarm.signature import normalise
from swarm.toolrunner import CommandResult, ToolRunner, run_local, run_tool
from swarm.workspaces import DEFAULT_NAMESPACE, fix_branch, investigation_dir

__all__ = [
    "Agent",
    "AgentContext",
    "Phase",
    "MessagePublisher",
    "EventPublisher",
    "StateAccess",
    "CancelToken",
    "Budget",
    "Cancelled",
    "BrainConfig",
    "RepositoryConfig",
    "AgentFailed",
    "BudgetExhausted",
    "TransientError",
    "InvalidInput",
    "normalise",
    "CommandResult",
    "ToolRunner",
    "run_tool",
    "run_local",
    "investigation_dir",
    "fix_branch",
    "DEFAULT_NAMESPACE",
]

Phase = Literal["plan", "execute", "express", "review"]


class _Config(FileModel):
    model_config = ConfigDict(extra="forbid")  # finite numbers: FileModel


class BrainConfig(_Config):
    """What a brain needs, the `brain:` section of configs/swarm.yaml:

    BrainConfig.model_validate(ctx.config.get("brain") or {})
    """

    model: str = "claude-sonnet-5"
    max_tokens: int = 4096
    max_tool_calls: int = 40
    budget_usd_per_investigation: float = 2.0
    base_url: str | None = None
    max_retries: int = 3
    retry_backoff_s: float = 1.0
    dead_for_s: float = 60.0  # an API found down is not asked again for this long (steps go offline at once)
    input_usd_per_mtok: float = 3.0
    output_usd_per_mtok: float = 15.0


class RepositoryConfig(_Config):
    """Where a service's code lives (`repositories.<service>`); `ctx.repository` is one, as a dict."""

    path: str | None = None
    url: str | None = None
    branch: str = "main"
    test_command: str = "python -m pytest -q"
    remote: str | None = None
    # delivery (swarm.delivery): a pull/merge request from the fix branch, behind an optional human gate
    provider: Literal["github", "gitlab"] | None = None
    repo: str | None = None  # GitHub "owner/name", GitLab "group/project" (or the numeric project id)
    base: str | None = None  # the branch the PR targets (default: `branch`)
    api_url: str | None = None  # default https://api.github.com / https://gitlab.com
    token_env: str | None = None  # the environment variable with the token (default GITHUB_TOKEN / GITLAB_TOKEN)
    labels: list[str] = Field(default_factory=lambda: ["swarm"])
    approval: Literal["auto", "approve_push", "approve_pr"] = "auto"
    approval_timeout_s: float = Field(default=86400.0, gt=0)  # no decision by then: rejected

    @model_validator(mode="after")
    def _where(self) -> RepositoryConfig:
        if not (self.path or self.url):
            raise ValueError("a repository needs `path` or `url`")
        if self.provider and not self.repo:
            raise ValueError(f"provider {self.provider!r} needs `repo` (owner/name or group/project)")
        if (self.provider or self.approval != "auto") and not self.remote:
            raise ValueError("a pull request or an approval gate needs `remote` (where the fix branch is pushed)")
        return self


class Cancelled(Exception):
    """Raised inside an agent when its investigation is cancelled (drain, timeout, budget)."""


class MessagePublisher(Protocol):
    async def say(self, kind: str, content: str, data: dict[str, Any] | None = None) -> None: ...


class EventPublisher(Protocol):
    async def event(self, event_type: str, data: dict[str, Any]) -> None: ...
    async def audit(self, action: str, target: str, outcome: str, details: dict[str, Any]) -> None: ...
    async def brain_dead(self, brain: str, reason: str, attempts: int, fallback: str | None) -> None: ...


class StateAccess(Protocol):
    """Read the investigation's PEER state; write only through the role's own phase."""

    async def read(self) -> dict[str, Any]: ...
    async def update_output(self, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]: ...


@dataclass
class CancelToken:
    event: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self.event.set()

    def raise_if_cancelled(self) -> None:
        if self.event.is_set():
            raise Cancelled(self.reason)


@dataclass
class Budget:
    """One investigation's spend; `charge` raises BudgetExhausted past the limit (a failed Result,
    unlike the swarm-wide OverBudget, which makes a report wait)."""

    limit_usd: float = float("inf")
    spent_usd: float = 0.0
    tokens: int = 0
    # records the spend swarm-wide; returns the investigation's total so far (all phases), or None
    on_charge: Callable[[int, float], Awaitable[float | None]] | None = None

    @property
    def remaining_usd(self) -> float:
        return self.limit_usd - self.spent_usd

    async def charge(self, tokens: int, usd: float) -> None:
        self.tokens += tokens
        self.spent_usd += usd
        if self.on_charge is not None:
            total = await self.on_charge(tokens, usd)
            if total is not None:  # parallel phases of the same investigation spend from one budget
                self.spent_usd = max(self.spent_usd, total)
        if self.spent_usd > self.limit_usd:
            raise BudgetExhausted(f"investigation budget ${self.limit_usd:.2f} exceeded (${self.spent_usd:.2f})")


@dataclass
class AgentContext:
    """Everything an agent may use for one phase of one investigation."""

    investigation_id: str
    role: str
    phase: Phase
    cycle: int
    report: ErrorReport
    signature: str
    kind: str = "error"
    plan: dict[str, Any] = field(default_factory=dict)  # the plan phase output of this cycle
    hypothesis: dict[str, Any] | None = None  # research: the one hypothesis to investigate
    findings: list[dict[str, Any]] = field(default_factory=list)  # implement/express: research outputs
    implementation: dict[str, Any] = field(default_factory=dict)  # express/review: implement output
    feedback: str | None = None  # review feedback from the previous cycle
    history: list[dict[str, Any]] = field(default_factory=list)  # outputs of earlier cycles
    repository: dict[str, Any] | None = None  # RepositoryConfig of the report's service, as a dict
    config: dict[str, Any] = field(default_factory=dict)  # SwarmConfig as a dict (brain, budget, git_author)
    messages: MessagePublisher | None = None
    events: EventPublisher | None = None
    state: StateAccess | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    budget: Budget = field(default_factory=Budget)
    namespace: str = DEFAULT_NAMESPACE  # the swarm's NATS namespace: its worktrees' folder and fix branch carry it


@runtime_checkable
class Agent(Protocol):
    role: str

    async def handle(self, ctx: AgentContext) -> dict[str, Any]: ...
