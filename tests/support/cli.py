"""The installed `swarm` command, run the way a user runs it, for tests of what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SWARM = str(Path(sys.executable).with_name("swarm"))


def swarm_json(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, Any, str]:
    """`swarm ARGS --json` (in `cwd`): (exit code, the JSON object on stdout, stderr); never a traceback."""
    done = subprocess.run([SWARM, *args, "--json"], input=stdin, capture_output=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)
    stderr = done.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, stderr
    return done.returncode, json.loads(done.stdout), stderr
