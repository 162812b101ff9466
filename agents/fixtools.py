"""The fix engine as tools, so a model uses the same machinery as the offline brain.

    ft = FixTools(ws, report, test_command, repro=research_repro_dict)
    ft.run_repro()            # "bad: tests.test_x raises KeyError ..." (finds a repro first if none is known)
    ft.bisect()               # "first bad commit 3f2a... (bisected in 4 steps)"
    ft.try_patch(diff)        # applies, runs the repro and the full suite; keeps the patch only if both pass

`bisect` runs in a temporary worktree of its own beside the investigation's others (so a run cut short leaves
it where the investigation's settlement removes it), and the implement worktree stays on its fix branch.
"""

from __future__ import annotations

import shutil
import uuid
from typing import Any

from agents.bisect import bisect
from agents.findrepro import find_repro
from agents.repro import Repro, is_test_file, run_repro_traced
from agents.testcmd import TestCommand
from agents.testrun import holds, new_failures, parse_test_counts
from agents.workspace import Workspace, run_command, test_env
from swarm.models import ErrorReport, TestCounts

__all__ = ["FixTools"]


class FixTools:
    def __init__(self, ws: Workspace, report: ErrorReport | None, test_command: str,
                 repro: dict[str, Any] | None = None, *, tests_timeout_s: float = 600.0) -> None:
        self.ws, self.report, self.test_command = ws, report, test_command
        self.repro = Repro.from_dict(repro) if isinstance(repro, dict) and repro.get("kind") else None
        self.tests_timeout_s = tests_timeout_s
        self.baseline: TestCounts | None = None  # the suite at HEAD (implement sets it): red there, judged by it

    def _need_repro(self) -> Repro:
        if self.repro is None:
            if self.report is None:
                raise ValueError("no error report to reproduce")
            self.repro = find_repro(self.ws.root, self.report, self.test_command)
        return self.repro

    def run_repro(self) -> str:
        repro = self._need_repro()
        if repro.kind == "none":
            return f"no repro: {repro.detail}"
        outcome, trace = run_repro_traced(self.ws.root, repro)
        what = {"bad": "the reported error happens", "good": "passes (the error is gone)",
                "skip": "fails in another way (not the reported error)"}[outcome]
        where = f" at {trace.crash.path}:{trace.crash.line}" if trace and trace.crash else ""
        return f"{outcome}: {repro.kind} repro `{repro.command}` {what}{where}"

    def bisect(self) -> str:
        repro = self._need_repro()
        if repro.kind == "none":
            return f"cannot bisect without a repro: {repro.detail}"
        where = self.ws.root.parent / f"bisect-{uuid.uuid4().hex[:8]}"
        add = run_command(["git", "worktree", "add", "-q", "--detach", str(where), "HEAD"], self.ws.root)
        if not add.ok:
            shutil.rmtree(where, ignore_errors=True)
            return f"cannot create a bisect worktree: {add.output.strip()[-300:]}"
        try:
            result = bisect(where, repro)
        finally:
            run_command(["git", "worktree", "remove", "--force", str(where)], self.ws.root)
            shutil.rmtree(where, ignore_errors=True)
        if result.first_bad:
            return (f"first bad commit {result.first_bad} (bisected in {result.steps} steps; "
                    f"last good {result.last_good})")
        return f"no single first bad commit: {result.reason}; candidates: {', '.join(result.candidates[:5])}"

    def try_patch(self, patch: str) -> str:
        check = run_command(["git", "apply", "--check", "--recount", "-"], self.ws.root, stdin=patch)
        if not check.ok:
            return f"rejected: the patch does not apply: {check.output.strip()[-800:]}"
        paths = [p for p in run_command(["git", "apply", "--numstat", "-"], self.ws.root, stdin=patch)
                 .output.split("\n") if p.strip()]
        files = [line.split("\t")[-1] for line in paths]
        if any(is_test_file(f) for f in files):
            return "rejected: the patch changes test files; the tests of HEAD must stay as they are"
        repro = self._need_repro()  # found on HEAD's code, before the patch can hide the error
        run_command(["git", "apply", "--recount", "-"], self.ws.root, stdin=patch)
        outcome = run_repro_traced(self.ws.root, repro)[0] if repro.kind != "none" else "good"
        suite = run_command(TestCommand(self.test_command).argv(), self.ws.root, timeout_s=self.tests_timeout_s,
                            max_output=20_000, env=test_env())
        counts = parse_test_counts(suite)
        # a suite red at HEAD may stay red where it was (with a repro to judge the fix): no test newly failing
        passes = suite.ok or (repro.kind != "none" and holds(self.baseline, counts))
        if outcome == "good" and passes:
            self.ws.changed.update(files)
            return (f"kept: the repro passes and the full test suite passes ({', '.join(files)})" if suite.ok else
                    f"kept: the repro passes and no test fails that passes at HEAD ({', '.join(files)}; failing at "
                    f"HEAD too: {', '.join(counts.failing[:5])})")
        run_command(["git", "apply", "-R", "--recount", "-"], self.ws.root, stdin=patch)
        why = [] if outcome == "good" else [f"the repro is still {outcome}"]
        new = new_failures(self.baseline, counts) if repro.kind != "none" else None
        why += [] if passes else [f"the test suite fails{': newly ' + ', '.join(new[:5]) if new else ''}: "
                                  f"{suite.output.strip()[-600:]}"]
        return "reverted: " + "; ".join(why)

