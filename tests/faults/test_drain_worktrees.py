"""Worktrees of an investigation a crash interrupted: the real agents on a real repository, a `swarm run`
killed (SIGKILL to it and its Ray) while a research phase runs its test command, then the next run
finishes the investigation and every worktree it ever had is gone (the fix branch stays)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from agents.testing.regressions import make_case
from swarm.config import SwarmConfig
from swarm.reporting.reporter import publish_report
from swarm.runtime.grouping import investigation_id_for
from swarm.runtime.investigate import fetch_result
from swarm.workspaces import investigation_dir
from tests.faults.conftest import fault_config, wait_for
from tests.faults.swarm_process import SwarmProcess, tail
from tests.support.runtime import run_until_empty

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]


def worktrees(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "worktree", "list", "--porcelain"], capture_output=True,
                         text=True, check=True).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def hang_once(marker: Path) -> str:
    """A test command whose first run writes its pid to `marker` and hangs until killed; later runs are
    `python -m pytest` with the arguments given."""
    code = (f"import os, signal, sys; m = {str(marker)!r}; first = not os.path.exists(m); "
            "first and open(m, 'w').write(str(os.getpid())); first and signal.pause(); "
            "os.execv(sys.executable, [sys.executable, '-m', 'pytest', *sys.argv[1:]])")
    return f"python -c \"{code}\" -q"


def real_agents(tmp_path: Path, repository: dict[str, str], service: str) -> SwarmConfig:
    roles = SwarmConfig.load(ROOT / "configs" / "swarm.yaml").model_dump(mode="json")["roles"]
    for spec in roles.values():
        spec.update(min_replicas=1, max_replicas=1)
    return fault_config(tmp_path, None, roles=roles, repositories={service: repository},
                        workspace_root=str(tmp_path / "ws"),
                        orchestration={"grace_period_s": 1, "phase_timeout_s": 600})


async def test_a_drained_investigation_leaves_no_worktree_once_the_next_run_settles_it(
    fault_bus, fault_settings, tmp_path
) -> None:
    case = make_case(tmp_path / "repo", "later_commits", seed=5)
    marker = tmp_path / "hung-test-command"
    repository = {"path": str(case.path), "branch": "main", "test_command": hang_once(marker)}
    cfg = real_agents(tmp_path, repository, case.report.service)
    inv = investigation_id_for(case.report.signature)
    await publish_report(fault_bus, case.report)
    with SwarmProcess(fault_settings, cfg, tmp_path) as first:

        async def mid_phase() -> bool:
            assert first.returncode is None, tail(first)
            return marker.exists() and bool(marker.read_text())

        await wait_for(mid_phase, 300, "the research phase to run its test command")
        # the phase cut short for good: the driver and its Ray die at once (a drain may or may not reach the
        # phase's own cleanup first, depending on how fast its actors started: not a state to test from)
        first.kill(signal.SIGKILL, group=True)
        first.wait(180)
    with contextlib.suppress(ProcessLookupError):  # the hung test run, in a session of its own
        os.kill(int(marker.read_text()), signal.SIGKILL)
    assert len(worktrees(case.path)) > 1, "the cut-short phase left no worktree: nothing to prove"
    assert investigation_dir(tmp_path / "ws", inv, fault_settings.nats_namespace.lower()).exists()

    counters = await run_until_empty(fault_settings, cfg, timeout_s=600)
    result = await fetch_result(fault_bus, inv)
    assert result is not None and counters["results"] == 1, counters
    assert result.status == "fixed", result
    assert worktrees(case.path) == [str(case.path)]  # the main checkout only: every admin entry pruned
    assert not investigation_dir(tmp_path / "ws", inv, fault_settings.nats_namespace.lower()).exists()
    branch = subprocess.run(["git", "-C", str(case.path), "rev-parse", "--verify", "--quiet", result.branch or "-"],
                            capture_output=True, text=True).stdout.strip()
    assert branch == result.fix_commit  # the fix branch is the product: it stays
