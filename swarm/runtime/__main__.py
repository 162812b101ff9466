"""`python -m swarm.runtime [options]` is `swarm run [options]` (what `ray job submit` launches)."""

import typer

from swarm.runtime.cli import run

if __name__ == "__main__":
    typer.run(run)
