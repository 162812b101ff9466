"""Run the blind fix set through `swarm investigate` exactly as a user would, and score it.

    python -m tests.holdout.fixes_blind.run --set dev|heldout|review5|all [--only NAME] [--json] [--timeout S]

A thin wrapper over `tests.holdout.fixes.run`: the same build, the same `swarm investigate` subprocess, the
same scoring (right suspect; passing fix = status `fixed` and the fix branch, with `tests/` restored from
HEAD, passes the test command and keeps every `must_keep` snippet) and the same baselines (blame of the
crash line; blame + `git revert`). Only the case list and the per-split totals differ.

For the heldout split, print aggregate figures only (`--quiet`): its per-case rows are not for tuning.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.holdout.fixes import run as base
from tests.holdout.fixes.gitrepo import test_env
from tests.holdout.fixes.run import _head, run_case, swarm_executable
from tests.holdout.fixes_blind.cases import SETS

YES = {True: "yes", False: "-"}


def totals(rows: list[dict[str, object]]) -> dict[str, object]:
    secs = sorted(float(r["seconds"]) for r in rows)  # type: ignore[arg-type]
    median = 0.0
    if secs:
        mid = len(secs) // 2
        median = secs[mid] if len(secs) % 2 else (secs[mid - 1] + secs[mid]) / 2
    return {
        "cases": len(rows),
        **{k: sum(bool(r[k]) for r in rows) for k in ("suspect_ok", "fix_ok", "blame_ok", "blame_revert_ok")},
        "median_seconds": round(median, 1),
        "total_seconds": round(sum(secs), 1),
    }


def render_totals(name: str, t: dict[str, object]) -> str:
    n = t["cases"]
    return (
        f"{name:8} right suspect {t['suspect_ok']}/{n}  passing fix {t['fix_ok']}/{n}  blame {t['blame_ok']}/{n}  "
        f"blame+revert {t['blame_revert_ok']}/{n}  median {t['median_seconds']} s  total {t['total_seconds']} s"
    )


def render(rows: list[dict[str, object]]) -> str:
    lines = [f"{'#':>2}  {'case':34} {'status':8} {'suspect':7} {'fix':4} {'blame':5} {'b+rev':5} {'s':>6}  kind"]
    for r in rows:
        lines.append(
            f"{r['n']:>2}  {r['name']:34} {r['status']:8} {YES[bool(r['suspect_ok'])]:7} {YES[bool(r['fix_ok'])]:4} "
            f"{YES[bool(r['blame_ok'])]:5} {YES[bool(r['blame_revert_ok'])]:5} {r['seconds']:>6}  {r['kind']}"
        )
    return "\n".join(lines)


def engine_version() -> str:
    """The commit (and dirty flag) of the code the `swarm` executable really imports (an editable install may
    point at another checkout than this one, whose HEAD `_head()` reports)."""
    python = Path(swarm_executable()).with_name("python")
    code = "import agents, os; print(os.path.dirname(os.path.dirname(os.path.abspath(agents.__file__))))"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=test_env(), cwd="/",
                          check=False)
    root = proc.stdout.strip()
    if not root:
        return "unknown"
    git = ["git", "-C", root]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "agents", "swarm"], capture_output=True, text=True,
                           check=False).stdout.strip()
    return f"{root}@{head[:12]}" + (" (+uncommitted edits)" if dirty else "")


def _keep_results(where: Path) -> None:
    """Wrap the shared runner's `investigate` so the engine's Result JSON of each case is written to `where`."""
    where.mkdir(parents=True, exist_ok=True)
    investigate = base.investigate

    def keeping(case, work, timeout):  # type: ignore[no-untyped-def]
        result, problem, seconds = investigate(case, work, timeout)
        record = {"case": case.name, "suspect": case.suspect, "problem": problem, "seconds": seconds, "result": result}
        (where / f"{case.name}.json").write_text(json.dumps(record, indent=2) + "\n")
        return result, problem, seconds

    base.investigate = keeping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["dev", "heldout", "review5", "all"], default="dev")
    parser.add_argument("--only", action="append", help="case number within the set (1-10) or name prefix")
    parser.add_argument("--json", action="store_true", help="machine-readable output (per-case rows included)")
    parser.add_argument("--quiet", action="store_true", help="aggregate figures only, no case names (heldout)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per investigation")
    parser.add_argument("--save", type=Path, help="directory to keep each case's raw Result JSON in (not with --quiet)")
    args = parser.parse_args(argv)
    if args.save and not args.quiet:
        _keep_results(args.save)
    names = ["dev", "heldout"] if args.set == "all" else [args.set]
    report: dict[str, object] = {"runner_commit": _head(), "engine_at_start": engine_version(), "sets": {}}
    for set_name in names:
        specs = SETS[set_name]
        rows = []
        for n, spec in enumerate(specs, start=1):
            if args.only and not any(o == str(n) or spec.name.startswith(o) for o in args.only):
                continue
            label = f"{set_name} {n}/{len(specs)}" + ("" if args.quiet else f" {spec.name}")
            print(f"[{label}] ...", file=sys.stderr, flush=True)
            row = run_case(spec, n, args.timeout)
            rows.append(row)
            if not args.quiet:
                verdict = f"suspect={'ok' if row['suspect_ok'] else 'no'} fix={'ok' if row['fix_ok'] else 'no'}"
                line = f"[{label}] {row['status']} {verdict} ({row['seconds']} s) {row['note']}"
                print(line, file=sys.stderr, flush=True)
        report["sets"][set_name] = {"totals": totals(rows), **({} if args.quiet else {"cases": rows})}  # type: ignore[index]
        report["engine_at_end"] = engine_version()
        if not args.json:
            if not args.quiet:
                print(render(rows))
            print(render_totals(set_name, totals(rows)))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.pop("ANTHROPIC_API_KEY", None)
    raise SystemExit(main())
