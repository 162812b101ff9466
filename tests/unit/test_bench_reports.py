"""The bench's reports are errors that the shipped injection filter lets through: a storm of K errors counts
K investigations only if none of its K reports is rejected (the default storm of 10 once lost one)."""

from __future__ import annotations

import uuid

from swarm.bench.baseline import bench_report
from swarm.security.injection import InjectionFilter


def test_the_shipped_filter_lets_every_bench_report_through() -> None:
    flt = InjectionFilter()
    tags = ["storm"] + [f"bench{uuid.uuid4().hex[:8]}" for _ in range(3)]
    rejected = [(t, i) for t in tags for i in range(400) if flt.check_report(bench_report(t, i)).rejected]
    assert rejected == []
