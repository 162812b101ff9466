"""`swarm version` names the checkout its code is imported from, that checkout's commit and the configs it reads:
a user whose venv is an editable install of another checkout can see which code runs (review 23)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SWARM = [sys.executable, "-c", "from swarm.cli import main; main()"]


def _version(env: dict[str, str], cwd: Path) -> dict:
    out = subprocess.run([*SWARM, "version", "--json"], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def test_version_names_the_checkout_its_commit_and_the_configs_the_environment_chose(tmp_path: Path) -> None:
    env = {**os.environ, "SWARM_CONFIG": str(tmp_path / "mine.yaml")}
    data = _version(env, tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert data["package"] == str(ROOT / "swarm") and data["checkout"] == str(ROOT)
    assert data["commit"] == head and isinstance(data["dirty"], bool)
    assert data["configs"]["swarm"] == {"path": str(tmp_path / "mine.yaml"), "exists": False}
    assert data["configs"]["streams"]["path"].endswith("configs/streams.yaml")


def test_version_follows_pythonpath_to_another_copy(tmp_path: Path) -> None:
    copy = tmp_path / "engine"
    shutil.copytree(ROOT / "swarm", copy / "swarm", ignore=shutil.ignore_patterns("__pycache__", "model"))
    env = {**os.environ, "PYTHONPATH": str(copy), "COLUMNS": "40"}  # a narrow terminal: paths are not wrapped
    env.pop("SWARM_CONFIG", None)
    data = _version(env, tmp_path)
    assert data["package"] == str(copy / "swarm") and data["checkout"] is None and data["commit"] is None
    assert data["pythonpath"] == str(copy)
    text = subprocess.run([*SWARM, "version"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert f"from {copy / 'swarm'} (not a git checkout)" in text
