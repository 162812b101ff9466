"""`swarm bench fixes`: how often the offline brain names the right suspect commit and leaves a passing fix.

    swarm bench fixes --count 20            # 20 per split: dev (tuned on) and holdout (never tuned on)
    swarm bench fixes --count 8 --split holdout --json

Generated repositories (real git, real test runs) are investigated end to end in-process; the figures are
printed with naive baselines measured on the same repositories (last commit on the failing file, blame of
the failing line, blame + git revert). Goals: right suspect >= 95 %, passing fix >= 80 %, median < 30 s.
swarm never imports agents/: the benchmark body is the one `support.fixes_bench` in configs/swarm.yaml names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer
from rich.table import Table

from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, load_settings
from swarm.config import load_config

__all__ = ["command"]


def _render(data: dict[str, Any]) -> None:
    goals = data["goals"]
    for name, part in data["splits"].items():
        s = part["summary"]
        table = Table(title=f"swarm bench fixes [{name}]: {s['cases']} generated regressions (offline brain)")
        for col in ("shape", "cases", "right suspect %", "passing fix %", "median s"):
            table.add_column(col, justify="right" if col != "shape" else "left")
        for shape, row in part["by_shape"].items():
            table.add_row(shape, str(row["cases"]), f"{row['right_suspect_pct']:.1f}",
                          f"{row['passing_fix_pct']:.1f}", f"{row['median_s']:.2f}")
        table.add_row("all", str(s["cases"]), f"{s['right_suspect_pct']:.1f}", f"{s['passing_fix_pct']:.1f}",
                      f"{s['median_s']:.2f}", style="bold")
        console.print(table)
        for base, b in s["baselines"].items():
            key = "passing_fix_pct" if "passing_fix_pct" in b else "right_suspect_pct"
            ratio = f"{b['ratio']:.2f}x" if b["ratio"] else "n/a"
            console.print(f"  baseline {base}: {key.replace('_pct', '').replace('_', ' ')} {b[key]:.1f} % "
                          f"(median {b['median_s'] * 1000:.1f} ms); offline brain vs baseline: {ratio}")
        console.print(f"  per investigation: median {s['median_s']:.2f} s, p95 {s['p95_s']:.2f} s, "
                      f"total {s['total_s']:.1f} s; goals (right suspect >= {goals['right_suspect_pct']:.0f} %, "
                      f"passing fix >= {goals['passing_fix_pct']:.0f} %, median < {goals['median_s']:.0f} s): "
                      f"{'met' if s['goals_met'] else 'NOT met'}")


def _make_workdir(workdir: Path) -> None:
    """Create --workdir (the benchmark keeps its repositories there), or refuse it as a usage error naming it."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise typer.BadParameter(f"{workdir} exists and is not a directory", param_hint="'--workdir'") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot create {workdir}: {exc.strerror or exc}", param_hint="'--workdir'") \
            from None


def command(
    count: int = typer.Option(20, "--count", "-n", min=1, help="generated repositories per split"),
    seed: int = typer.Option(0, "--seed", help="first generator seed"),
    split: Literal["dev", "holdout", "both"] = typer.Option(
        "both", "--split", help="dev (tuned on), holdout (never tuned on) or both"),
    workdir: Path | None = typer.Option(None, "--workdir", help="keep the repositories here (default: a temp dir)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Offline brain on generated regressions: % right suspect commit, % passing fix branch, timings."""
    if workdir is not None:
        _make_workdir(workdir)
    with cli_errors():
        run = load_config(load_settings()).support.load("fixes_bench")

        def progress(done: int, total: int, row: dict[str, Any]) -> None:
            mark = "ok " if row["right_suspect"] and row["passing_fix"] else "MISS"
            err_console.print(
                f"[{done}/{total}] {mark} {row['split']:<7} {row['shape']:<13} seed {row['seed']:<3} "
                f"{row['status']:<7} {row.get('suspect_method') or '-':<8} {row['duration_s']:.2f} s",
                highlight=False,
            )

        from swarm.runtime.local import run_in_process  # handed to the body: agents/ never imports the runtime

        data = run(run_in_process, count=count, seed=seed, workdir=str(workdir) if workdir else None, split=split,
                   progress=progress)
    emit(data, json_out, render=_render)
