"""`swarm version`: which swarm this command runs: its version, the checkout its code is imported from (and
that checkout's commit), the Python and Ray it runs on, and the configuration files it reads.

    swarm version            # a few lines for people
    swarm version --json     # {"version", "package", "checkout", "commit", "dirty", "python", "ray", "configs"}

A virtual environment made with an editable install (`make venv`) imports the checkout it was made in,
wherever the `swarm` script is called from; this command says which one, and whether it has changes that
are not committed.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

import swarm
from swarm.clikit import JSON_OPTION, cli_errors, console, emit, load_settings

__all__ = ["about", "about_app"]

about_app = typer.Typer()


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def about() -> dict[str, Any]:
    """What `swarm version --json` prints."""
    package = Path(swarm.__file__).resolve().parent
    checkout = package.parent
    commit = _git(checkout, "rev-parse", "HEAD") if (checkout / ".git").exists() else None
    dirty = None if commit is None else bool(_git(checkout, "status", "--porcelain", "--", "swarm", "agents",
                                                  "configs"))
    try:
        version = importlib.metadata.version("swarm")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        ray_version: str | None = importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        ray_version = None
    settings = load_settings()
    configs = {"swarm": settings.swarm_config, "streams": settings.swarm_streams_config,
               "auth": settings.swarm_auth_config}
    return {"version": version, "package": str(package), "checkout": str(checkout) if commit else None,
            "commit": commit, "dirty": dirty, "python": sys.version.split()[0], "ray": ray_version,
            "pythonpath": os.environ.get("PYTHONPATH") or None,
            "configs": {k: {"path": str(Path(v).resolve()), "exists": Path(v).is_file()} for k, v in configs.items()}}


@about_app.command("version")
def version_command(as_json: bool = JSON_OPTION) -> None:
    """Which swarm runs: version, the checkout and commit its code comes from, the configs it reads."""
    with cli_errors():
        data = about()

    def render(d: dict[str, Any]) -> None:
        where = (f"{d['checkout']} at {d['commit'][:12]}" + (" (with uncommitted changes)" if d["dirty"] else "")
                 if d["commit"] else f"{d['package']} (not a git checkout)")
        lines = [f"swarm {d['version']} from {where}", f"python {d['python']}, ray {d['ray'] or 'not installed'}"]
        lines += [f"{name} config: {c['path']}" + ("" if c["exists"] else " (missing)")
                  for name, c in d["configs"].items()]
        for line in lines:  # paths are not wrapped: a script or a reader copies them whole
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    emit(data, as_json, render)
