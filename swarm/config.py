"""The runtime configuration, `configs/swarm.yaml`, as one typed object. Durations in seconds.

    cfg = SwarmConfig.load("configs/swarm.yaml")
    cfg.roles["research"].agent          # 'agents.research:ResearchAgent'

Connection settings (NATS_URL, namespace, credentials) live in `swarm.bus.settings.Settings`;
`load_config(settings)` reads the file that `SWARM_CONFIG` names.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from swarm.agent import BrainConfig, RepositoryConfig
from swarm.bus.settings import Settings, validate_namespace
from swarm.errors import ConfigError, explain
from swarm.files import FileModel, read_yaml

__all__ = [
    "SwarmConfig",
    "RoleConfig",
    "SupportConfig",
    "ToolsConfig",
    "RepositoryConfig",
    "BrainConfig",
    "load_config",
    "check_agent_class",
    "load_object",
    "ROLES",
]

ROLES = ("orchestrator", "research", "implement", "review")


class _Section(FileModel):
    model_config = ConfigDict(extra="forbid")  # finite numbers: FileModel


class IntakeConfig(_Section):
    actors: int = Field(default=2, ge=1)
    envs: list[str] = Field(default_factory=lambda: ["default", "staging", "production"])
    batch: int = Field(default=16, ge=1)  # the smallest fetch; it grows with the backlog up to max_batch
    max_batch: int = Field(default=256, ge=1)
    # a new investigation waits up to this long while the intake groups a backlog of more than max_batch
    # reports it can still fetch (a storm's duplicates first: swarm.runtime.batch.CatchUp); 0: never waits
    open_hold_s: float = Field(default=2.0, ge=0)
    fetch_timeout_s: float = 1.0
    in_progress_interval_s: float = 20.0
    nak_delay_s: float = 2.0
    filter: str = "swarm.security.injection:InjectionFilter"
    tasks: bool = True  # also take operator-submitted investigations from `{ns}.tasks.investigation`
    # a dead letter keeps a bounded prefix of a large report (plus its size and sha256); with this set
    # the whole original also goes to the `{NS}_DEAD_LETTER_PAYLOADS` object store bucket
    dead_letter_objects: bool = False


class RoleConfig(_Section):
    agent: str
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=4, ge=1)
    max_concurrency: int = Field(default=8, ge=1)
    target_per_replica: float = Field(default=4.0, gt=0)
    num_cpus: float = Field(default=0.0, ge=0)  # what one replica's own work uses (Ray schedules by it)
    memory_mb: int = Field(default=0, ge=0)  # one replica's memory, reserved in Ray (0: not declared)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounds(self) -> RoleConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} > max_replicas {self.max_replicas}")
        return self


class OrchestrationConfig(_Section):
    max_cycles: int = Field(default=3, ge=1)
    phase_timeout_s: float = 900.0
    # > 0: a phase's RUNNING record and status are written once its agent has worked this long, a quicker
    # phase is recorded once, DONE, its status not published (swarm.runtime.phasemark); 0: both as it starts
    running_mark_s: float = Field(default=2.0, ge=0)
    grace_period_s: float = 30.0
    max_hypotheses: int = Field(default=3, ge=1)


class AutoscaleConfig(_Section):
    enabled: bool = True
    interval_s: float = 2.0
    upscale_delay_s: float = 4.0
    downscale_delay_s: float = 30.0
    request_resources: bool = True  # ask Ray's autoscaler for the CPUs pools and tool tasks need


class ToolsConfig(_Section):
    """Heavy tool work (test runs, repro runs, bisect steps) as Ray tasks (swarm.runtime.tooltask)."""

    # auto: Ray tasks on a cluster, and on a local Ray only when its node holds the pools at their largest and a
    # tool task beside them (else a task pinned there would wait for CPUs the actors never give back); False: run
    # them inside the role actor's process
    ray_tasks: bool | Literal["auto"] = "auto"
    num_cpus: float = Field(default=1.0, ge=0)  # one tool run's CPUs, declared to Ray's scheduler
    memory_mb: int = Field(default=0, ge=0)
    # a task not started within this (its node's CPUs are taken): cancelled, the command runs in the actor
    schedule_timeout_s: float = Field(default=60.0, gt=0)


class BudgetConfig(_Section):
    tokens_per_hour: int | None = None
    dollars_per_hour: float | None = None
    max_concurrent_investigations: int = Field(default=16, ge=1)
    retry_delay_s: float = 15.0


class GitAuthor(_Section):
    name: str = "swarm"
    email: str = "swarm@localhost"


class BloodstreamConfig(_Section):
    outbox_dir: str = ".swarm/outbox"
    event_versions: list[int] = Field(default_factory=lambda: [1])
    health_check_interval_s: float = 1.0
    missed_heartbeats: int = 3
    auto_heal: bool = True
    doctor_interval_s: float = 30.0
    outage_grace_s: float = 10.0  # after a NATS outage: no service verdict (nor healing) for this long


class RepairConfig(_Section):
    """Bounds of the offline fix engine's search (agents/repair.py)."""

    max_candidates: int = Field(default=120, ge=1)
    max_test_runs: int = Field(default=200, ge=1)
    max_seconds: float = Field(default=240.0, gt=0)
    bisect_budget_s: float = Field(default=120.0, gt=0)
    repro_timeout_s: float = Field(default=120.0, gt=0)


class LifecycleConfig(_Section):
    """When an error that was investigated counts as new again (swarm.runtime.lifecycle)."""

    quiet_period_s: float | None = Field(default=None, gt=0)  # back after this long unseen (None: never)
    follow_interval_s: float = Field(default=300.0, gt=0)  # how often proposed fixes' pull requests are asked


class SupportConfig(_Section):
    """Code that is not an agent but that commands load by dotted path (swarm never imports agents/)."""

    # `swarm bench fixes`: run(investigate, count, seed, workdir, split, progress) -> dict
    fixes_bench: str | None = None
    demo_case: str | None = None  # `swarm demo`: make_case(path, shape, seed) -> a generated regression

    def load(self, name: str) -> Any:
        dotted = getattr(self, name)
        if not dotted:
            raise ConfigError(f"support.{name} is not set: name it in configs/swarm.yaml (a 'package.module:attr')")
        return load_object(dotted)


class SwarmConfig(_Section):
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    roles: dict[str, RoleConfig]
    autoscale: AutoscaleConfig = Field(default_factory=AutoscaleConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    heartbeat_interval_s: float = 5.0
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    brain: BrainConfig = Field(default_factory=BrainConfig)
    repair: RepairConfig = Field(default_factory=RepairConfig)
    workspace_root: str = ".swarm/workspaces"
    # the name fix branches (`swarm/fix/<it>/<id>`) and worktree folders carry; None: the NATS namespace. Two
    # swarms of one namespace name on two servers, sharing a repository, give each its own
    fix_namespace: str | None = None
    git_author: GitAuthor = Field(default_factory=GitAuthor)
    repositories: dict[str, RepositoryConfig] = Field(default_factory=dict)
    bloodstream: BloodstreamConfig = Field(default_factory=BloodstreamConfig)
    security: dict[str, Any] = Field(default_factory=dict)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    support: SupportConfig = Field(default_factory=SupportConfig)

    def tool_tasks_on_ray(self, on_cluster: bool, node_cpus: float) -> bool:
        """`tools.ray_tasks` resolved for a swarm on a cluster (an address given) or on a local Ray of
        `node_cpus`: `auto` is Ray tasks on a cluster (its autoscaler adds nodes for the pools), and on one node
        only when the pools at their largest leave a tool task's CPUs free.

        >>> config = SwarmConfig.load("configs/swarm.yaml")   # 4 roles of 0.25 CPU, 20 replicas at most
        >>> config.tool_tasks_on_ray(on_cluster=False, node_cpus=2.0), config.tool_tasks_on_ray(False, 16.0)
        (False, True)
        """
        if self.tools.ray_tasks != "auto":
            return bool(self.tools.ray_tasks)
        largest = sum(role.max_replicas * role.num_cpus for role in self.roles.values())
        return on_cluster or node_cpus - largest >= self.tools.num_cpus

    @field_validator("fix_namespace")
    @classmethod
    def _fix_namespace(cls, value: str | None) -> str | None:
        return None if value is None else validate_namespace(value)  # a token of a git branch name

    def fix_scope(self, nats_namespace: str) -> str:
        """The namespace the fix branches and worktree folders carry (`fix_namespace`, else the NATS one)."""
        return self.fix_namespace or nats_namespace

    @model_validator(mode="after")
    def _roles(self) -> SwarmConfig:
        missing = [r for r in ROLES if r not in self.roles]
        if missing:
            raise ValueError(f"roles missing from config: {', '.join(missing)}")
        return self

    @classmethod
    def load(cls, path: str | Path) -> SwarmConfig:
        path = Path(path)
        try:
            return cls.model_validate(read_yaml(path, "config file") or {})
        except ValidationError as exc:
            raise ConfigError(f"invalid config {path}: {explain(exc, 'top level')}") from exc


def load_config(settings: Settings) -> SwarmConfig:
    return SwarmConfig.load(settings.swarm_config)


def check_agent_class(key: str, dotted: str) -> None:
    """`dotted` names a class with an async `handle(ctx)` (swarm.agent.Agent), or a ConfigError names `key`."""
    try:
        obj = load_object(dotted)
    except ConfigError as exc:
        raise ConfigError(f"{key}: {exc}") from exc
    if not (isinstance(obj, type) and inspect.iscoroutinefunction(getattr(obj, "handle", None))):
        raise ConfigError(f"{key}: {dotted!r} is not an agent class (a class with an async handle(ctx) method)")


def load_object(dotted: str) -> Any:
    """Import `package.module:attr` (agent classes, filters), with a clear error."""
    module_name, _, attr = dotted.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"invalid dotted path {dotted!r}: expected 'package.module:Name'")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {dotted!r}: {exc}") from exc
