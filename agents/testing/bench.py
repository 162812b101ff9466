"""The fixes benchmark: the offline brain on generated regressions, against naive baselines from the same run.

    data = run_fixes_bench(investigate, count=20, seed=0, split="both", progress=print)
    data["splits"]["holdout"]["summary"]["right_suspect_pct"], ...["passing_fix_pct"]

Two splits: "dev" (the original shapes and the scenarios' development variants, used while tuning) and
"holdout" (scenario variants never used while tuning), reported separately.
Per case: generate a repository of one shape (round robin), run the whole investigation in-process
(plan -> research -> implement -> express -> review) with the offline brain, then check independently:
the named suspect is the regression commit; the fix branch passes the tests in a fresh checkout and keeps
what must survive. Baselines, measured on the same repositories: "last commit touching the failing file",
"blame of the failing line" and "blame + git revert passes the tests".
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agents.testcmd import TestCommand
from agents.testing.regressions import SHAPES, RegressionCase, make_case
from agents.testing.scenarios import SCENARIO_SHAPES, make_scenario

# dev: the original generator and the scenarios' dev variants (tuned on); holdout: variants never tuned on
SPLIT_SHAPES = {"dev": (*SHAPES, *SCENARIO_SHAPES), "holdout": SCENARIO_SHAPES}

__all__ = ["run_fixes_bench", "Investigate"]

# what swarm hands in (`swarm.runtime.local.run_in_process`): agents/ imports only the agent seam and the models
Investigate = Callable[..., Awaitable[dict[str, Any]]]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def _branch_passes(case: RegressionCase, branch: str, where: Path) -> bool:
    _git(case.path, "worktree", "add", "-q", "--detach", str(where), branch)
    try:
        args = TestCommand(case.test_command).argv()
        ok = subprocess.run(args, cwd=where, capture_output=True, timeout=300).returncode == 0
        return ok and all(snippet in _git(case.path, "show", f"{branch}:{path}") for path, snippet in case.must_keep)
    finally:
        _git(case.path, "worktree", "remove", "--force", str(where))


def _baselines(case: RegressionCase, work: Path, i: int) -> dict[str, tuple[bool, float]]:
    """Naive baselines on the same repository: last commit on the file, blame of the line, blame + revert."""
    file, line = case.report.context.file or "", case.report.context.line or 1
    t0 = time.perf_counter()
    last = _git(case.path, "log", "-1", "--format=%H", "--", file).strip()
    t1 = time.perf_counter()
    blame = _git(case.path, "blame", "--porcelain", "-L", f"{line},{line}", "--", file).split(" ", 1)[0]
    t2 = time.perf_counter()
    where = work / f"baseline-{i}"
    _git(case.path, "worktree", "add", "-q", "--detach", str(where), "HEAD")
    try:
        reverted = subprocess.run(["git", "revert", "--no-edit", blame], cwd=where, capture_output=True).returncode == 0
        args = TestCommand(case.test_command).argv()
        passes = reverted and subprocess.run(args, cwd=where, capture_output=True, timeout=300).returncode == 0
        passes = passes and all(snippet in (where / path).read_text() for path, snippet in case.must_keep
                                if (where / path).exists())
    finally:
        _git(case.path, "worktree", "remove", "--force", str(where))
    t3 = time.perf_counter()
    return {"last_commit_on_file": (last == case.regression_commit, t1 - t0),
            "blame_failing_line": (blame == case.regression_commit, t2 - t1),
            "blame_revert_passes": (passes, t3 - t2)}


async def _one(investigate: Investigate, case: RegressionCase, config: dict[str, Any], work: Path,
               i: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = await investigate(case.report, case.repository, config, investigation_id=f"bench-{i}",
                                  options={"brain": "offline"})
    took = time.perf_counter() - t0
    express = out["express"]
    impl = out["implement"]
    passing = bool(express["status"] == "fixed" and express["branch"]
                   and await asyncio.to_thread(_branch_passes, case, express["branch"], work / f"check-{i}"))
    base = await asyncio.to_thread(_baselines, case, work, i)
    return {
        "case": i, "shape": case.shape, "seed": case.seed, "status": express["status"],
        "variant": getattr(case, "variant", "dev"),
        "right_suspect": express["suspect_commit"] == case.regression_commit,
        "suspect_method": express.get("suspect_method"), "repro": (impl.get("repro") or {}).get("kind"),
        "fix_kind": impl.get("fix_kind"),
        "passing_fix": passing, "review": out["review"]["verdict"], "cycles": out["cycles"],
        "duration_s": round(took, 3),
        "baselines": {k: v[0] for k, v in base.items()},
        "baseline_s": {k: round(v[1], 5) for k, v in base.items()},
    }


def _pct(rows: list[dict[str, Any]], key: str) -> float:
    return round(100.0 * sum(1 for r in rows if r[key]) / len(rows), 1) if rows else 0.0


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    durations = [r["duration_s"] for r in rows]
    summary: dict[str, Any] = {
        "cases": len(rows),
        "right_suspect_pct": _pct(rows, "right_suspect"),
        "passing_fix_pct": _pct(rows, "passing_fix"),
        "median_s": round(statistics.median(durations), 3) if durations else 0.0,
        "p95_s": round(sorted(durations)[max(0, int(len(durations) * 0.95) - 1)], 3) if durations else 0.0,
        "total_s": round(sum(durations), 3),
    }
    baselines = {}
    for name in ("last_commit_on_file", "blame_failing_line", "blame_revert_passes"):
        pct = round(100.0 * sum(1 for r in rows if r["baselines"][name]) / len(rows), 1) if rows else 0.0
        key = "passing_fix_pct" if name == "blame_revert_passes" else "right_suspect_pct"
        baselines[name] = {key: pct,
                           "median_s": round(statistics.median(r["baseline_s"][name] for r in rows), 5) if rows
                           else 0.0,
                           "ratio": round(summary[key] / pct, 2) if pct else None}
    summary["baselines"] = baselines
    return summary


def run_fixes_bench(investigate: Investigate, count: int = 20, seed: int = 0, workdir: str | None = None,
                    split: str = "both",
                    progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """`count` generated cases per split (shapes round robin); per-case rows and a summary per split.

    investigate(report, repository, config, investigation_id=..., options=...) runs one investigation in
    this process and returns each phase's output (swarm hands in `swarm.runtime.local.run_in_process`).

    split: "dev" (tuned on), "holdout" (never tuned on) or "both".
    """
    splits = ["dev", "holdout"] if split == "both" else [split]
    if any(s not in SPLIT_SHAPES for s in splits):
        raise ValueError(f"unknown split {split!r}; expected dev, holdout or both")
    goals = {"right_suspect_pct": 95.0, "passing_fix_pct": 80.0, "median_s": 30.0}
    out: dict[str, Any] = {"splits": {}, "goals": goals}
    total = count * len(splits)
    with tempfile.TemporaryDirectory(prefix="swarm-bench-fixes-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        config = {"workspace_root": str(work / "ws"), "orchestration": {"max_cycles": 2, "max_hypotheses": 3},
                  "git_author": {"name": "swarm", "email": "swarm@localhost"}}
        done = 0
        for name in splits:
            shapes, rows = SPLIT_SHAPES[name], []
            for i in range(count):
                shape = shapes[i % len(shapes)]
                case_seed = seed + i // len(shapes)
                t0 = time.perf_counter()
                path = work / f"{name}-{i}-{shape}"
                case = (make_scenario(path, shape, seed=case_seed, split=name) if shape in SCENARIO_SHAPES
                        else make_case(path, shape, seed=case_seed))
                generate_s = time.perf_counter() - t0
                row = asyncio.run(_one(investigate, case, config, work, done))
                row.update(generate_s=round(generate_s, 3), split=name)
                rows.append(row)
                done += 1
                if progress:
                    progress(done, total, row)
            summary = _summary(rows)
            summary["goals_met"] = (summary["right_suspect_pct"] >= goals["right_suspect_pct"]
                                    and summary["passing_fix_pct"] >= goals["passing_fix_pct"]
                                    and summary["median_s"] < goals["median_s"])
            by_shape = {shape: {"cases": len(sel), "right_suspect_pct": _pct(sel, "right_suspect"),
                                "passing_fix_pct": _pct(sel, "passing_fix"),
                                "median_s": round(statistics.median(r["duration_s"] for r in sel), 3)}
                        for shape in shapes if (sel := [r for r in rows if r["shape"] == shape])}
            out["splits"][name] = {"summary": summary, "by_shape": by_shape, "cases": rows}
    return out
