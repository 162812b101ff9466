"""The fixes benchmark: the offline brain on generated regressions, against naive baselines from the same run.

    data = run_fixes_bench(count=20, seed=0, progress=print)
    data["summary"]["right_suspect_pct"], data["summary"]["passing_fix_pct"]

Per case: generate a repository of one shape (SHAPES, round robin), run the whole investigation in-process
(plan -> research -> implement -> express -> review) with the offline brain, then check independently:
the named suspect is the regression commit; the fix branch passes the tests in a fresh checkout and keeps
what must survive. Baselines, measured on the same repositories: "last commit touching the failing file"
and "blame of the failing line".
"""

from __future__ import annotations

import asyncio
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.testing.drive import run_investigation
from agents.testing.regressions import SHAPES, RegressionCase, make_case

__all__ = ["run_fixes_bench"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def _branch_passes(case: RegressionCase, branch: str, where: Path) -> bool:
    _git(case.path, "worktree", "add", "-q", "--detach", str(where), branch)
    try:
        args = shlex.split(case.test_command)
        args[0] = sys.executable if args[0] == "python" else args[0]
        ok = subprocess.run(args, cwd=where, capture_output=True, timeout=300).returncode == 0
        return ok and all(snippet in _git(case.path, "show", f"{branch}:{path}") for path, snippet in case.must_keep)
    finally:
        _git(case.path, "worktree", "remove", "--force", str(where))


def _baselines(case: RegressionCase) -> dict[str, tuple[bool, float]]:
    file, line = case.report.context.file or "", case.report.context.line or 1
    t0 = time.perf_counter()
    last = _git(case.path, "log", "-1", "--format=%H", "--", file).strip()
    t1 = time.perf_counter()
    blame = _git(case.path, "blame", "--porcelain", "-L", f"{line},{line}", "--", file).split(" ", 1)[0]
    t2 = time.perf_counter()
    return {"last_commit_on_file": (last == case.regression_commit, t1 - t0),
            "blame_failing_line": (blame == case.regression_commit, t2 - t1)}


async def _one(case: RegressionCase, config: dict[str, Any], work: Path, i: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = await run_investigation(case.report, case.repository, config, investigation_id=f"bench-{i}",
                                  options={"brain": "offline"})
    took = time.perf_counter() - t0
    express = out["express"]
    passing = bool(express["status"] == "fixed" and express["branch"]
                   and await asyncio.to_thread(_branch_passes, case, express["branch"], work / f"check-{i}"))
    return {
        "case": i, "shape": case.shape, "seed": case.seed, "status": express["status"],
        "right_suspect": express["suspect_commit"] == case.regression_commit,
        "passing_fix": passing, "review": out["review"]["verdict"], "cycles": out["cycles"],
        "duration_s": round(took, 3),
        "baselines": {k: v[0] for k, v in _baselines(case).items()},
        "baseline_s": {k: round(v[1], 5) for k, v in _baselines(case).items()},
    }


def _pct(rows: list[dict[str, Any]], key: str) -> float:
    return round(100.0 * sum(1 for r in rows if r[key]) / len(rows), 1) if rows else 0.0


def run_fixes_bench(count: int = 20, seed: int = 0, workdir: str | None = None,
                    progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run `count` generated cases (shapes round robin); returns per-case rows and the summary."""
    with tempfile.TemporaryDirectory(prefix="swarm-bench-fixes-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        config = {"workspace_root": str(work / "ws"), "orchestration": {"max_cycles": 2, "max_hypotheses": 3},
                  "git_author": {"name": "swarm", "email": "swarm@localhost"}}
        rows = []
        for i in range(count):
            shape = SHAPES[i % len(SHAPES)]
            t0 = time.perf_counter()
            case = make_case(work / f"repo-{i}-{shape}", shape, seed=seed + i // len(SHAPES))
            generate_s = time.perf_counter() - t0
            row = asyncio.run(_one(case, config, work, i))
            row["generate_s"] = round(generate_s, 3)
            rows.append(row)
            if progress:
                progress(i + 1, count, row)
    durations = [r["duration_s"] for r in rows]
    summary = {
        "cases": len(rows),
        "right_suspect_pct": _pct(rows, "right_suspect"),
        "passing_fix_pct": _pct(rows, "passing_fix"),
        "median_s": round(statistics.median(durations), 3) if durations else 0.0,
        "p95_s": round(sorted(durations)[max(0, int(len(durations) * 0.95) - 1)], 3) if durations else 0.0,
        "total_s": round(sum(durations), 3),
        "goals": {"right_suspect_pct": 90.0, "passing_fix_pct": 80.0},
    }
    baselines = {}
    for name in ("last_commit_on_file", "blame_failing_line"):
        pct = round(100.0 * sum(1 for r in rows if r["baselines"][name]) / len(rows), 1) if rows else 0.0
        baselines[name] = {"right_suspect_pct": pct,
                           "median_s": round(statistics.median(r["baseline_s"][name] for r in rows), 5) if rows
                           else 0.0,
                           "ratio_right_suspect": round(summary["right_suspect_pct"] / pct, 2) if pct else None}
    summary["baselines"] = baselines
    summary["goals_met"] = (summary["right_suspect_pct"] >= 90.0 and summary["passing_fix_pct"] >= 80.0)
    by_shape = {shape: {"cases": len(sel), "right_suspect_pct": _pct(sel, "right_suspect"),
                        "passing_fix_pct": _pct(sel, "passing_fix"),
                        "median_s": round(statistics.median(r["duration_s"] for r in sel), 3) if sel else 0.0}
                for shape in SHAPES if (sel := [r for r in rows if r["shape"] == shape]) or True}
    return {"summary": summary, "by_shape": by_shape, "cases": rows}
