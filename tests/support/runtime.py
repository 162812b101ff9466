"""Build a SwarmConfig for runtime tests: test agents, one replica each, fast timers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swarm.config import SwarmConfig

AGENTS = {"orchestrator": "Orchestrator", "research": "Research", "implement": "Implement", "review": "Review"}


def runtime_config(tmp_path: Path, options: dict[str, dict[str, Any]] | None = None, **overrides: Any) -> SwarmConfig:
    options = options or {}
    data: dict[str, Any] = {
        "intake": {
            "actors": 1,
            "envs": ["default", "production"],
            "batch": 64,
            "fetch_timeout_s": 0.2,
            "in_progress_interval_s": 1.0,
            "nak_delay_s": 0.2,
        },
        "orchestration": {"max_cycles": 3, "phase_timeout_s": 60, "grace_period_s": 10},
        "roles": {
            role: {
                "agent": f"tests.support.agents:{cls}",
                "min_replicas": 1,
                "max_replicas": 3,
                "max_concurrency": 64,
                "target_per_replica": 8,
                "options": options.get(role, {}),
            }
            for role, cls in AGENTS.items()
        },
        "autoscale": {"enabled": False, "interval_s": 0.2, "upscale_delay_s": 0, "downscale_delay_s": 1},
        "heartbeat_interval_s": 1.0,
        "budget": {"max_concurrent_investigations": 64, "retry_delay_s": 0.2},
        # a loaded CI machine can starve a beat for seconds: only the healing tests ask for a short fuse
        "bloodstream": {"outbox_dir": str(tmp_path / "outbox"), "missed_heartbeats": 10},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return SwarmConfig.model_validate(data)


async def run_until_empty(settings: Any, config: SwarmConfig, timeout_s: float = 600) -> dict[str, int]:
    """Start a runtime, drain the queues, stop it; the intake counters."""
    from swarm.runtime.app import SwarmRuntime

    runtime = SwarmRuntime(settings, config)
    await runtime.start()
    try:
        return await runtime.until_empty(timeout_s=timeout_s)
    finally:
        await runtime.stop()
