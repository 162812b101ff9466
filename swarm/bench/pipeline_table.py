"""What `swarm bench pipeline` prints for a human (without --json): one table row per scenario, then
the no-op investigation's cost, the sleeping agents' concurrency efficiency and memory per investigation.

    results = await measure(settings)   # swarm.bench.pipeline: the figures, as --json prints them
    render(results)                     # the table and summary lines, on swarm.clikit.console
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from swarm.clikit import console

__all__ = ["render"]


def render(r: dict[str, Any]) -> None:
    raw = r["raw"]["per_s"]
    title = f"pipeline: {r['replicas']} replica(s) per role, {r['concurrency']} investigations per orchestrator"
    table = Table("scenario", "reports", "per s", "vs raw", "p50 s", "p95 s", "p99 s", "start-up s", title=title)
    runs = r["raw"].get("runs_per_s", [raw])
    table.add_row(f"raw fetch+ack (baseline, median of {len(runs)})", str(r["raw"]["messages"]), f"{raw:,.0f}", "1",
                  "", "", "", "")
    task = r["task_path"]
    table.add_row(f"NATS-only task path, {task['slots']} in flight", str(task["messages"]), f"{task['per_s']:,.0f}",
                  f"{task['per_s'] / raw:.3g}", "", "", "", "")
    floor = r.get("ray_floor")
    if floor is not None:
        table.add_row(f"  + {floor['ray_calls']} Ray calls (one per phase)", str(floor["messages"]),
                      f"{floor['per_s']:,.0f}", f"{floor['per_s'] / raw:.3g}", "", "", "", "")
    for key in ("noop", "sleep"):
        s = r[key]
        if s is None:
            continue
        lat = s["latency_s"]
        label = "no-op agents" if key == "noop" else f"agents sleep {s['sleep_s']:g} s/phase"
        figures = [f"{lat[p]:.3f}" for p in ("p50", "p95", "p99")]
        ratio = f"{s['per_s'] / raw:.3g}"
        table.add_row(label, str(s["reports"]), f"{s['per_s']:,.2f}", ratio, *figures, f"{s['startup_s']:.1f}")
        if s.get("serial"):
            lone = [f"{s['serial']['latency_s'][p]:.3f}" for p in ("p50", "p95", "p99")]
            table.add_row("  one at a time", str(s["serial"]["reports"]), "", "", *lone, "")
    storm = r.get("storm")
    if storm is not None:
        label = f"storm intake: {storm['signatures']} errors, {storm['intake_actors']} intake actor(s)"
        ratio = f"{storm['per_s'] / raw:.3g}"
        storm_runs = storm.get("runs_per_s", [storm["per_s"]])
        label += f" (median of {len(storm_runs)})" if len(storm_runs) > 1 else ""
        table.add_row(label, f"{storm['reports']:,}", f"{storm['per_s']:,.0f}", ratio, "", "", "", "")
    console.print(table)
    console.print(f"raw fetch+ack runs: {', '.join(f'{x:,.0f}' for x in runs)}/s (the baseline is their median)",
                  highlight=False)
    if storm is not None and len(storm.get("runs_per_s", [])) > 1:
        console.print(f"storm runs: {', '.join(f'{x:,.0f}' for x in storm['runs_per_s'])} reports/s "
                      f"({', '.join(f'{x / raw:.2f}' for x in storm['runs_per_s'])} x raw)", highlight=False)
    if storm is not None and storm.get("held", {}).get("count"):
        console.print(f"storm investigations held while its backlog was grouped: {storm['held']['count']}, "
                      f"the longest {storm['held']['max_s']:.2f} s (intake.open_hold_s)", highlight=False)
    console.print(f"no-op investigations {r['ratios']['noop/task_path']:.3g} x the NATS-only task path "
                  f"({r['noop']['per_s']:,.1f}/s vs {task['per_s']:,.0f}/s; goal 0.25)", highlight=False)
    if floor is not None:
        console.print(f"task path with one Ray call per phase {r['ratios']['ray_floor/task_path']:.3g} x the task "
                      f"path; no-op investigations {r['ratios']['noop/ray_floor']:.3g} x that floor", highlight=False)
    per = r["noop"]["per_investigation"]
    console.print("one no-op investigation: " + ", ".join(f"{v:.1f} {k}" for k, v in per.items())
                  + " (task path: 1 kv create, 1 kv write, 1 publish, 1 ack)", highlight=False)
    cpu = r["noop"]["cpu"]
    console.print(f"actor CPU per no-op investigation: {cpu['ms_per_investigation']:.1f} ms ("
                  + ", ".join(f"{role} {ms:.1f}" for role, ms in cpu["by_role"].items()) + ")", highlight=False)
    sleep = r["sleep"]
    if sleep is not None:
        best = sleep["ideal"]
        console.print(
            f"concurrency efficiency {sleep['efficiency']:.2f}: {sleep['per_s']:.2f}/s measured vs "
            f"{best['ideal_per_s']:.2f}/s ideal ({best['slots']} investigation slots, "
            f"{best['critical_path_s']:g} s of sleeps per investigation); runtime overhead per investigation "
            f"{sleep['overhead_s']:.3f} s (p50 duration beyond the sleeps)",
            highlight=False,
        )
        mem = sleep.get("memory")
        if mem:
            console.print(
                f"memory: {mem['per_inflight_kb']:,.0f} KB per investigation in flight ({mem['in_flight']} in flight; "
                f"{mem['actors']} actors {mem['idle_mb']:,.0f} MB idle, {mem['peak_mb']:,.0f} MB at the peak); "
                "by role: " + ", ".join(f"{role} {kb:,.0f} KB" for role, kb in mem["per_inflight_kb_by_role"].items()),
                highlight=False,
            )
