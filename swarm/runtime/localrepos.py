"""Whether the swarm runs on this machine's own Ray, and the checks that only hold there: a configured
repository path is this machine's (on a cluster it is the workers', checked where a phase runs).

    local_repositories_checked(cfg, address)   # ConfigError naming the first wrong repositories.<service>.path
"""

from __future__ import annotations

import os
from pathlib import Path

from swarm.config import SwarmConfig
from swarm.errors import ConfigError

__all__ = ["joins_a_cluster", "local_repositories_checked", "local_repositories_exist"]


def local_repositories_exist(config: SwarmConfig) -> None:
    """ConfigError naming the first `repositories.<service>.path` that is no git repository on this machine (else
    the swarm started, and every report of that service failed when it came)."""
    for service, repo in config.repositories.items():
        if repo.path is None:
            continue
        path = Path(repo.path).expanduser()
        if not path.exists():
            raise ConfigError(f"repositories.{service}.path {path}: no such directory")
        if not (path / ".git").exists() and not (path / "HEAD").exists():
            raise ConfigError(f"repositories.{service}.path {path}: not a git repository (no .git)")


def joins_a_cluster(address: str | None) -> bool:
    """Whether a driver with this `--address` joins a Ray it did not start (--address, RAY_ADDRESS, a Ray job)."""
    return bool(address or os.environ.get("RAY_ADDRESS"))


def local_repositories_checked(config: SwarmConfig, address: str | None) -> None:
    """`local_repositories_exist` when the swarm runs on this machine's own Ray (a cluster's paths are its
    workers', checked where a phase runs): before anything starts, so a wrong path is said at once."""
    if not joins_a_cluster(address):
        local_repositories_exist(config)
