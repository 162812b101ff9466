"""`swarm bench pipeline --json` runs a tiny workload on the session's Ray and nats-server and reports sane figures.

No timing thresholds: the assertions are about what the figures must be whatever the machine's
speed (every report got its Result, latencies are ordered and include the agents' sleeps, the
efficiency cannot beat the ideal, nothing is left behind on the server, the shared Ray survives).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import ray
from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.bus.names import Names
from swarm.bus.settings import Settings
from swarm.cli import app

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(900)]

SLEEP_S = 0.2
ARGS = ["--reports", "5", "--sleep-reports", "2", "--sleep-s", str(SLEEP_S), "--serial", "1"]
ARGS += ["--raw-messages", "50", "--task-messages", "40", "--replicas", "1", "--concurrency", "2", "--json"]
ARGS += ["--storm-reports", "300", "--storm-signatures", "3", "--storm-runs", "2"]


def _ordered(p: dict[str, float]) -> bool:
    return 0 < p["p50"] <= p["p95"] <= p["p99"] <= p["max"]


def test_bench_pipeline_json_has_sane_figures(cli_env: dict[str, str], settings: Settings) -> None:
    result = CliRunner().invoke(app, ["bench", "pipeline", *ARGS])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["server"] == cli_env["NATS_URL"]
    assert "noop: Results" in result.stderr  # progress was shown

    raw, noop, sleep = data["raw"], data["noop"], data["sleep"]
    assert raw["messages"] == 50 and raw["per_s"] > 0
    # the baseline is the median of six runs: three at the start, three just before the storm
    assert raw["when"] == ["start"] * 3 + ["before storm"] * 3 and len(raw["runs_per_s"]) == 6
    assert raw["per_s"] == sorted(raw["runs_per_s"])[3] and min(raw["runs_per_s"]) > 0
    # the NATS-only task path ran with as many in flight as the swarm has slots (1 replica x 2)
    task = data["task_path"]
    assert task["messages"] == 40 and task["slots"] == 2 and task["per_s"] > 0
    assert data["ratios"]["noop/task_path"] == pytest.approx(data["noop"]["per_s"] / task["per_s"])
    # the same task path with one Ray actor call per hop of the critical path (intake -> orchestrator,
    # research, implement, review): each report went through each of the 4 hop actors once, in the same run
    floor = data["ray_floor"]
    assert floor["messages"] == 40 and floor["slots"] == 2 and floor["ray_calls"] == 4
    assert floor["calls_per_hop"] == [40] * 4 and floor["per_s"] > 0
    assert data["ratios"]["ray_floor/task_path"] == pytest.approx(floor["per_s"] / task["per_s"])
    assert data["ratios"]["noop/ray_floor"] == pytest.approx(data["noop"]["per_s"] / floor["per_s"])
    assert "task path + 4 Ray calls" in result.stderr

    # every report of the burst and the lone one became exactly one investigation and one "fixed" Result
    want = {"received": 6, "investigations": 6, "duplicates": 0, "dead_lettered": 0, "rejected": 0, "results": 6,
            "handed_back": 0}
    assert noop["counters"] == want and noop["statuses"] == ["fixed"]
    assert noop["reports"] == 5 and noop["per_s"] > 0 and noop["serial"]["reports"] == 1
    assert _ordered(noop["latency_s"]) and _ordered(noop["duration_s"])
    # end to end includes the orchestrator's own time for the same reports
    assert noop["latency_s"]["p50"] >= noop["duration_s"]["p50"]
    # what one investigation cost, counted in the actors: every phase (plan, 2 research, implement,
    # express, review) wrote PEER state, the four specialist calls were actor calls, a Result was sent
    per = noop["per_investigation"]
    assert per["kv_writes"] >= 6 and per["ray_calls"] >= 4 and per["nats_out"] >= per["kv_writes"]
    # the actors' CPU over the burst, by role: every role that worked shows up
    cpu = noop["cpu"]
    assert {"intake", "orchestrator", "research", "implement", "review", "budget"} <= set(cpu["by_role"])
    assert cpu["ms_per_investigation"] == pytest.approx(sum(cpu["by_role"].values())) and cpu["cpu_s"] > 0

    # the burst's 2, after one warm-up investigation that memory sampling starts behind
    assert sleep["warmup"] == 1 and noop["warmup"] == 0
    assert sleep["counters"]["results"] == 2 + 1 and sleep["counters"]["dead_lettered"] == 0
    assert sleep["statuses"] == ["fixed"] and _ordered(sleep["latency_s"])
    critical = 5 * SLEEP_S  # plan, research, implement, express, review each slept once on the path
    assert sleep["ideal"]["critical_path_s"] == pytest.approx(critical)
    assert sleep["ideal"]["slots"] == 2  # budget = 1 replica x 2 investigations
    assert sleep["duration_s"]["p50"] >= critical and sleep["latency_s"]["p50"] >= critical
    assert sleep["overhead_s"] == pytest.approx(sleep["duration_s"]["p50"] - critical)
    # 2 reports fit the 2 slots: the ideal is one critical path, which no real run can beat
    assert sleep["ideal"]["ideal_per_s"] == pytest.approx(2 / critical)
    assert 0 < sleep["efficiency"] <= 1
    assert data["ratios"]["noop/raw"] == pytest.approx(noop["per_s"] / raw["per_s"])
    assert data["ratios"]["sleep/ideal"] == pytest.approx(sleep["efficiency"])

    # the storm: every copy counted once, one investigation per error, intake timed from the actors
    storm = data["storm"]
    want = {"received": 300, "investigations": 3, "duplicates": 297, "dead_lettered": 0, "rejected": 0, "results": 3,
            "handed_back": 0}
    assert storm["counters"] == want and storm["occurrences"] == 300
    assert storm["per_s"] > 0 and 0 < storm["seconds"] < storm["start_and_drain_s"]
    assert data["ratios"]["storm/raw"] == pytest.approx(storm["per_s"] / raw["per_s"])
    # run twice, each in a fresh swarm and namespace; the figure is the run of median rate (the upper of two)
    assert len(storm["runs_per_s"]) == 2 and storm["per_s"] == max(storm["runs_per_s"])
    # 300 reports, a first fetch of 4 (the free slots): 296 left, more than a full fetch (256), so the storm's
    # investigations wait for the backlog to be grouped (one that reaches its admission later need not), and
    # the bench says so
    assert 1 <= storm["held"]["count"] <= 3 and storm["held"]["max_s"] > 0
    assert len(set(storm["namespaces"])) == 2 and storm["namespace"] in storm["namespaces"]
    mem = sleep["memory"]  # sampled while the sleeping burst ran
    assert mem["actors"] >= 5 and mem["in_flight"] >= 1 and mem["peak_mb"] > 0 and mem["per_inflight_kb"] >= 0
    assert {"intake", "orchestrator", "research", "implement", "review"} <= set(mem["per_inflight_kb_by_role"])

    # what a human reads (without --json): the raw line lists the six raw runs, not the storm's
    from swarm.bench.pipeline_table import render
    from swarm.clikit import console

    with console.capture() as shown:
        render(data)
    text = " ".join(shown.get().split())
    raw_line = text.split("raw fetch+ack runs: ")[1]
    assert raw_line.startswith(", ".join(f"{x:,.0f}" for x in raw["runs_per_s"]) + "/s"), text
    assert "storm runs: " + ", ".join(f"{x:,.0f}" for x in storm["runs_per_s"]) + " reports/s" in text, text

    assert ray.is_initialized(), "the bench must join the running Ray, not shut it down"
    leftovers = asyncio.run(_streams_of(settings, [noop["namespace"], sleep["namespace"], *storm["namespaces"]]))
    assert leftovers == [], "the bench left streams behind"


async def _streams_of(settings: Settings, namespaces: list[str]) -> list[str]:
    bus = await Bus.connect(settings)
    try:
        prefixes = tuple(p for ns in namespaces for p in (f"{Names(ns).NS}_", f"KV_{Names(ns).NS}_"))
        return [i.config.name for i in await bus.js.streams_info() if i.config.name.startswith(prefixes)]
    finally:
        await bus.close()
