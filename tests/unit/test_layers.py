"""The layers the README draws, read from every module's imports (top level and inside functions):
`swarm/` never imports `agents/` (agents are loaded by dotted path), and `agents/` imports nothing of swarm
but the agent seam `swarm.agent` and `swarm.models`, and never `nats`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENT_SEAM = {"swarm.agent", "swarm.models"}


def imports(package: str) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), node.lineno, name) for name in names]
    return found


def test_swarm_never_imports_agents() -> None:
    assert [i for i in imports("swarm") if i[2].split(".")[0] == "agents"] == []


def test_agents_import_only_the_agent_seam_and_never_nats() -> None:
    found = imports("agents")
    assert len(found) > 50  # the scan reads the package
    outside = [i for i in found if i[2].split(".")[0] in ("swarm", "nats") and i[2] not in AGENT_SEAM]
    assert outside == [], "agents/ reaches past the agent seam (swarm.agent, swarm.models)"
