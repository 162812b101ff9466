"""`swarm bench <name>`: each benchmark module under swarm/bench defines `command` (a Typer command).

Benchmarks print figures and ratios against a baseline measured in the same run; they are never
timed assertions in tests.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["bench_app"]

bench_app = typer.Typer(help="benchmarks: figures and ratios against a baseline measured in the same run")

for _name in ("state", "security", "pipeline", "fixes", "scenarios"):
    bench_app.command(_name)(importlib.import_module(f"swarm.bench.{_name}").command)
