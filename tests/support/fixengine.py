"""The fix engine's steps in order, as an investigation takes them: repro, bisect (a caller's captured call
when the crashing function's own never passed, as the offline brain does), repair at the bisected commit.
Asserts the repro and the bisected commit on the way."""

from __future__ import annotations

from agents.bisect import bisect
from agents.findrepro import caller_repros, find_repro
from agents.repair import RepairBudget, RepairResult, repair, sites_for
from agents.repro import Repro, run_repro
from agents.testing.regressions import _Repo
from swarm.models import ErrorReport

__all__ = ["repro_bisect_repair"]


def repro_bisect_repair(repo: _Repo, report: ErrorReport, bad: str,
                        test_command: str = "python -m pytest -q") -> tuple[Repro, RepairResult]:
    repro = find_repro(repo.path, report, test_command)
    assert repro.kind == "built" and run_repro(repo.path, repro) == "bad", repro.detail
    found = bisect(repo.path, repro)
    if found.never_passed:
        for caller in caller_repros(repo.path, report, test_command):
            second = bisect(repo.path, caller)
            if second.first_bad and not second.never_passed:
                repro, found = caller, second
                break
    assert found.first_bad == bad, found
    trace = repro.head_trace()
    assert trace is not None
    sites = sites_for(repo.path, [(f.path, f.line, f.function) for f in trace.frames], bad)
    result = repair(repo.path, repro=repro, test_command=test_command, suspects=[(bad, found.last_good)],
                    sites=sites, shape=repro.error_shape(), message=report.error, budget=RepairBudget())
    return repro, result
