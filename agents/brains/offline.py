"""The offline brain: reproduce, bisect, repair — no model. Used when ANTHROPIC_API_KEY is not set.

    brain = OfflineBrain({"repair": {"max_candidates": 60}})
    plan = await brain.plan(ctx)      # h1 reproduce + bisect, h2 rank the history of the failing path

research "reproduce": run the tests, find the one that raises the reported error (same exception type,
same crash function or message), or build a call from the stack; check it is not flaky; bisect with it to
the first bad commit (`suspect_method` "bisected"). research "rank": blame and history of the failing path
rank suspect commits (`suspect_method` "ranked", the fallback without a repro). implement: candidate
patches smallest first — partial reverts of the suspect's tokens/lines on the failing path, fix templates
by exception type — each validated by the repro and the full test suite (agents/repair.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.bisect import bisect
from agents.common import say
from agents.findrepro import caller_repros, find_repro, injected_name
from agents.forensics import History, failing_path, parse_traceback
from agents.located import off_the_report
from agents.reordered import params_changed
from agents.repair import RepairBudget, repair, sites_for
from agents.repro import ErrorShape, Repro, flaky_runs, repo_path
from agents.suspectlines import parent_of, what_it_changed
from agents.tools import Toolbox
from agents.workspace import Workspace
from swarm.agent import AgentContext
from swarm.models import ErrorReport, TestCounts

__all__ = ["OfflineBrain", "best_repro", "tried_commits"]

FLAKY_RUNS = 3


def tried_commits(history: list[dict[str, Any]]) -> set[str]:
    """Suspects an earlier cycle already tried (a new cycle tries the next ones)."""
    seen: set[str] = set()

    def scan(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "tried" and isinstance(value, list):
                    seen.update(str(v) for v in value)
                else:
                    scan(value)
        elif isinstance(node, list):
            for item in node:
                scan(item)

    scan(history)
    return seen


def _excepted(tests_before: TestCounts) -> str:
    """What 'passes' leaves out when the suite was red at HEAD: the tests that failed there already."""
    if tests_before.ok:
        return ""
    named = ", ".join(tests_before.failing[:3]) + (f" and {len(tests_before.failing) - 3} more"
                                                   if len(tests_before.failing) > 3 else "")
    return f" but for the tests that fail at HEAD without it ({named}): none newly"


def best_repro(findings: list[dict[str, Any]]) -> Repro | None:
    """The repro a research output found (a test beats a built call beats the whole suite)."""
    found = [Repro.from_dict(f["repro"]) for f in findings if isinstance(f.get("repro"), dict)]
    order = {"test": 0, "built": 1, "suite": 2, "none": 3}
    return min(found, key=lambda r: order.get(r.kind, 9)) if found else None


def _report_files(root: Path, report: ErrorReport, frames: list[tuple[str, int, str]], shape: ErrorShape) -> set[str]:
    """The repository's files the report names: its stack's frames, the crash location, `context.file`."""
    named = {path for path, _, _ in frames if path}
    if shape.path:
        named.add(shape.path)
    if report.context.file and (path := repo_path(root, report.context.file)):
        named.add(path)
    return named


class OfflineBrain:
    name = "offline"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.max_candidates = int(self.options.get("max_candidates", 5))  # ranked suspects kept per research

    def _repair_options(self, ctx: AgentContext) -> dict[str, Any]:
        return {**((ctx.config or {}).get("repair") or {}), **(self.options.get("repair") or {})}

    # -- plan ------------------------------------------------------------------------------------------
    async def plan(self, ctx: AgentContext) -> dict[str, Any]:
        report = ctx.report
        frames = parse_traceback(report.stack)
        where = f"{frames[-1].file}:{frames[-1].line}" if frames else f"{report.context.file}:{report.context.line}"
        func = (frames[-1].function if frames else report.context.function) or "the failing function"
        first = report.error.splitlines()[0][:200] if report.error else "the error"
        return {"hypotheses": [
            {"id": "h1-reproduce", "kind": "reproduce", "title": f"a commit made {func}() raise {first[:80]}",
             "detail": "find a test that raises it (or build a call from the stack), then bisect with it"},
            {"id": "h2-history", "kind": "rank", "title": "a recent change on the failing path broke it",
             "detail": f"blame and history of {func}() at {where}, its callers in the trace and its callees"},
        ]}

    # -- research --------------------------------------------------------------------------------------
    def _reproduce(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]:
        opts = self._repair_options(ctx)
        test_command = str((ctx.repository or {}).get("test_command") or "python -m pytest -q")
        repro = find_repro(ws.root, ctx.report, test_command,
                           test_timeout_s=float(opts.get("repro_timeout_s", 120)))
        out: dict[str, Any] = {"repro": repro.to_dict(), "suspects": [], "suspect_method": None, "findings": []}
        if repro.kind == "none":
            out["findings"].append({"evidence": f"no repro: {repro.detail}"})
            return out
        misses = flaky_runs(ws.root, repro, FLAKY_RUNS)
        if misses:
            repro.flaky = True
            repro.detail += f"; flaky: it did not reproduce in {misses} of {FLAKY_RUNS + 1} runs"
            out["repro"] = repro.to_dict()
            out["findings"].append({"evidence": f"the repro is flaky ({repro.target}): not bisected"})
            return out
        result = bisect(ws.root, repro, budget_s=float(opts.get("bisect_budget_s", 120)))
        if repro.kind == "built" and not repro.made_up and not repro.injected and result.never_passed:
            # the report's own values fail the call at every commit that runs it: the function never accepted
            # them, so the cause is where they came from, a caller (its own call passes before the regression)
            repro, result, how, outer = self._from_callers(ctx, ws, test_command, opts, repro, result)
            out["repro"] = repro.to_dict()
            if how:
                out["findings"].append({"evidence": how})
            else:
                out["findings"].append({"evidence": f"repro: {repro.detail}; it fails at every commit that runs it "
                                        f"({result.reason or 'to the first commit'}): the report's values were "
                                        "never accepted there, so no commit of this function caused it (not "
                                        "bisected)" + (f"; the repair's repro is the outermost caller's call "
                                                       f"({outer.target}), which fails at every commit too" if outer
                                                       else "")})
                # production's own call: a fix where the value is made (a caller, or a function it called and
                # left) can pass it, and none can pass the crashing function's call with the value already made
                repro = outer or repro
                repro.never_passed = True  # a patch at the crash site would change what it accepts
                out["repro"] = repro.to_dict()
                out["suspects"] = [{**s.to_dict(), "method": "ranked"} for s in History(ws).rank(
                    failing_path(ws, ctx.report), message=ctx.report.error, origin=True)[: self.max_candidates]]
                out["suspect_method"] = "ranked" if out["suspects"] else None
                return out
        elif repro.kind == "built" and not repro.made_up and result.first_bad and _call_changed(ws, repro, result):
            # the commit changed how the crashing function is called, and the call was built from the report's
            # arguments, in its caller's order: only the caller's own call tells a caller left behind from a
            # broken function (a fix at the caller cannot pass a repro that calls the function directly)
            first_bad = result.first_bad
            repro, result, how, _ = self._from_callers(
                ctx, ws, test_command, opts, repro, result, accept=lambda r: r.first_bad == first_bad,
                why=f"{first_bad[:10]} changed the parameters of {repro.target}, so its call with the report's "
                "arguments may carry its caller's old order")
            out["repro"] = repro.to_dict()
            if how:
                out["findings"].append({"evidence": how})
        if repro.injected and not _handled_before(result):
            # every commit that runs the call shows the symptom: bisect named the oldest, not the cause
            out["findings"].append({"evidence": f"repro: {repro.detail}; a value the tests never give was put in: "
                                    "it shows the symptom at every commit that runs it, not the commit that caused "
                                    "it (not bisected)"})
            # the commits that changed how that field is written: where the value comes from
            name = injected_name(repro.injected)
            message = ctx.report.error + (f" '{name}'" if name else "")
            out["suspects"] = [{**s.to_dict(), "method": "ranked"} for s in
                               History(ws).rank(failing_path(ws, ctx.report), message=message)[: self.max_candidates]]
            out["suspect_method"] = "ranked" if out["suspects"] else None
            return out
        out["bisect"] = result.to_dict()
        history = History(ws)
        if result.first_bad:
            parent = parent_of(ws, result.first_bad)
            out["suspect_method"] = "bisected"
            out["suspects"] = [{"commit": result.first_bad, "parent": parent, "score": 100.0,
                                "subject": history.describe(result.first_bad),
                                "reason": f"bisected with {repro.target or repro.command} in {result.steps} steps "
                                f"({result.oracle}): the first commit where it raises {repro.shape.get('exc_type')}",
                                "method": "bisected"}]
        else:
            out["suspects"] = [{"commit": c, "parent": parent_of(ws, c), "score": 50.0 - i,
                                "reason": f"in the bisect range ({result.reason})", "method": "ranked"}
                               for i, c in enumerate(result.candidates[:5])]
        out["findings"].append({"evidence": f"repro: {repro.detail}; bisect by {result.oracle}: "
                                f"{result.first_bad or 'no single commit'} ({result.steps} steps"
                                f"{', ' + result.reason if result.reason else ''})", "commit": result.first_bad})
        return out

    def _from_callers(self, ctx: AgentContext, ws: Workspace, test_command: str, opts: dict[str, Any],
                      repro: Repro, result: Any, accept: Callable[[Any], bool] = lambda r: True,
                      why: str = "") -> tuple[Repro, Any, str, Repro | None]:
        """The first caller's call (its captured arguments) that raises the error at HEAD and passed at an older
        commit (and whose bisect `accept`s), with its bisect and the evidence; else the repro and bisect as they
        were, and "". Last, the outermost caller's call that raises the error at HEAD (None without one)."""
        why = why or f"the call of {repro.target} with the report's arguments fails at every commit that runs it"
        callers = caller_repros(ws.root, ctx.report, test_command,
                                test_timeout_s=float(opts.get("repro_timeout_s", 120)))
        for caller in callers:
            second = bisect(ws.root, caller, budget_s=float(opts.get("bisect_budget_s", 120)))
            if _handled_before(second) and accept(second):
                return caller, second, (
                    f"{why}; its caller's call ({caller.target}, with the arguments it had) passes at "
                    f"{str(second.last_good)[:10]}: {caller.detail}"), callers[0]
        return repro, result, "", callers[0] if callers else None

    def _rank(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]:
        regions = failing_path(ws, ctx.report)
        history = History(ws)
        suspects = history.rank(regions, message=ctx.report.error)
        return {
            "findings": [{"file": r.path, "line": r.focus_line or r.start, "evidence": f"{r.kind}: {r.label()}"}
                         for r in regions],
            "suspects": [{**s.to_dict(), "method": "ranked"} for s in suspects[: self.max_candidates]],
            "regions": [r.label() for r in regions],
        }

    async def research(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]:
        hypothesis = ctx.hypothesis or {}
        work = self._reproduce if hypothesis.get("kind") == "reproduce" else self._rank
        out = await asyncio.to_thread(work, ctx, ws)
        out["hypothesis"] = hypothesis.get("id")
        top = out["suspects"][0]["commit"][:10] if out["suspects"] else "none"
        repro = out.get("repro") or {}
        note = f"; repro {repro.get('kind')}: {repro.get('detail', '')[:200]}" if repro else ""
        await say(ctx, "finding", f"{out['hypothesis']}: {len(out['suspects'])} suspects, top {top}{note}",
                  {"suspect_method": out.get("suspect_method"), "repro": repro.get("command")})
        return out

    # -- implement ---------------------------------------------------------------------------------------
    def _suspects(self, ctx: AgentContext, ws: Workspace) -> tuple[list[tuple[str, str | None]], str | None]:
        """Suspects to repair from, best first, and how the first was found ("bisected" or "ranked")."""
        exclude = tried_commits(ctx.history)
        scored: dict[str, tuple[float, str | None, str]] = {}
        # a repro whose values never passed ranked where they were made: the plain ranking's blame of the stack's
        # own lines (which never accepted them) would outweigh it
        origin = [o for o in ctx.findings if (o.get("repro") or {}).get("never_passed") and o.get("suspects")]
        untried = [o for o in origin if any(str(s.get("commit") or "") not in exclude for s in o["suspects"])]
        for output in untried or ctx.findings:
            for s in output.get("suspects") or []:
                sha = str(s.get("commit") or "")
                if not sha or sha in exclude:
                    continue
                method = str(s.get("method") or output.get("suspect_method") or "ranked")
                score = float(s.get("score") or 0.0) + (1000.0 if method == "bisected" else 0.0)
                old = scored.get(sha)
                scored[sha] = (score + (old[0] if old else 0.0), s.get("parent") or parent_of(ws, sha),
                               "bisected" if method == "bisected" or (old and old[2] == "bisected") else "ranked")
        if not scored:
            for sus in History(ws).rank(failing_path(ws, ctx.report), exclude=exclude,
                                        message=ctx.report.error)[: self.max_candidates]:
                scored[sus.commit] = (sus.score, sus.parent, "ranked")
        ordered = sorted(scored.items(), key=lambda kv: -kv[1][0])
        return [(sha, v[1]) for sha, v in ordered[:3]], (ordered[0][1][2] if ordered else None)

    def _implement(self, ctx: AgentContext, ws: Workspace, tests_before: TestCounts) -> dict[str, Any]:
        opts = self._repair_options(ctx)
        test_command = str((ctx.repository or {}).get("test_command") or "python -m pytest -q")
        repro = best_repro(ctx.findings)
        if repro is None:  # research ran another brain: reproduce here
            repro = find_repro(ws.root, ctx.report, test_command)
        suspects, method = self._suspects(ctx, ws)
        base = {"repro": repro.to_dict(), "suspect_method": method if suspects else None,
                "suspect_commit": suspects[0][0] if suspects else None, "tried": [s for s, _ in suspects]}
        if repro.flaky:
            return {**base, "verified": False,
                    "reason": f"the repro is flaky, so no fix can be verified: {repro.detail}"}
        if repro.kind == "none" and tests_before.ok:
            guess = (f"; most likely commit, {_how(method)} (a guess): {History(ws).describe(suspects[0][0])}"
                     if suspects and method != "bisected" else "")
            return {**base, "verified": False,
                    "reason": f"no repro: {repro.detail}; the tests pass before any change, so no fix can be "
                    f"verified{guess}"}
        trace = repro.head_trace()
        if trace is not None:
            frames = [(f.path, f.line, f.function) for f in trace.frames]
        else:
            frames = [(p, f.line, f.function) for f in parse_traceback(ctx.report.stack)
                      if (p := repo_path(ws.root, f.file))]
        shape = repro.error_shape() if repro.shape else ErrorShape.of_report(ctx.report, ws.root)
        sites = sites_for(ws.root, frames, suspects[0][0] if suspects else None)
        result = repair(ws.root, repro=repro if repro.kind != "none" else None, test_command=test_command,
                        suspects=suspects, sites=sites, shape=shape, message=ctx.report.error,
                        budget=RepairBudget.of(opts), cancelled=lambda: ctx.cancel.cancelled,
                        # with no repro the suite is the only judge: its red tests must turn green
                        baseline=tests_before if repro.kind != "none" else None)
        search = {"generated": result.generated, "tried": result.tried, "test_runs": result.test_runs,
                  "elapsed_s": round(result.elapsed_s, 2), "log": result.attempts[-12:]}
        title = ctx.report.error.splitlines()[0][:160]
        sus = suspects[0][0] if suspects else None
        verb = "introduced" if method == "bisected" else "most likely introduced"  # bisect confirmed it
        if result.candidate is None:
            why = result.reason + (f"; repro: {repro.detail}" if repro.kind == "none" else "")
            cause = (f"commit {History(ws).describe(sus)} ({_how(method, repro.never_passed)}) {verb} {title!r}"
                     f"{what_it_changed(ws, sus)}; no fix: " if sus else "")
            return {**base, "verified": False, "reason": why, "search": search, "root_cause": cause + why}
        cand = result.candidate
        if repro.kind == "none":
            named = _report_files(ws.root, ctx.report, frames, shape)
            if not named & set(cand.texts):
                # with no repro, all that passed is the suite: a change to no file the report names turned
                # red tests of another failure green, which is no fix of this error
                why = (f"no repro: {repro.detail}; the change that made the tests pass ({cand.description}) edits "
                       f"{', '.join(sorted(cand.texts))}, none of the files the report names "
                       f"({', '.join(sorted(named)) or 'none in the repository'}): it fixes another failure")
                return {**base, "verified": False, "reason": why, "search": search, "root_cause": why}
            if outside := off_the_report(ws.root, ctx.report, frames, cand.texts, named):
                why = (f"no repro: {repro.detail}; the change that made the tests pass ({cand.description}) edits "
                       f"{outside}, not the function the report names: it fixes another failure in that file")
                return {**base, "verified": False, "reason": why, "search": search, "root_cause": why}
        for path in cand.texts:
            ws.changed.add(path)
        if result.returned:  # the regression test asserts it
            base["repro"] = {**base["repro"], "returned": result.returned}
        return {
            **base,
            "verified": True,
            "search": search,
            "root_cause": (f"commit {History(ws).describe(sus)} ({_how(method, repro.never_passed)}) {verb} {title!r}"
                           if sus
                           else f"{title!r} on the failing path"),
            "summary": f"{cand.description} ({cand.unit}, {cand.size} token(s)); the repro "
            f"{'now passes' if repro.kind != 'none' else 'was not available'} and the full test suite passes twice"
            f"{_excepted(tests_before) if repro.kind != 'none' else ''}; {result.tried} of {result.generated} "
            "candidate(s) tried" + ("; NOTE: it deletes what the suspect commit added (a name it brought in, its "
                                    "feature may go with it): no candidate that keeps it passed; check the feature "
                                    "before merging" if cand.drops_added else "")
            + (f"; NOTE: {result.value_changed}: no candidate gave the old value back; check that the difference "
               "is the suspect's feature before merging" if result.value_changed else ""),
            "fix_kind": cand.unit,
        }

    async def implement(
        self, ctx: AgentContext, ws: Workspace, tools: Toolbox, tests_before: TestCounts
    ) -> dict[str, Any]:
        await say(ctx, "attempt", "reproducing, then trying candidate patches smallest first")
        out = await asyncio.to_thread(self._implement, ctx, ws, tests_before)
        if out.get("verified"):
            await say(ctx, "attempt", out["summary"])
        return out

    # -- express, review ---------------------------------------------------------------------------------
    async def express(self, ctx: AgentContext) -> dict[str, Any]:
        impl = ctx.implementation or {}
        root = impl.get("root_cause") or impl.get("reason") or "not determined"
        return {"root_cause": root, "summary": ""}

    async def review(self, ctx: AgentContext, ws: Workspace, tools: Toolbox, facts: dict[str, Any]) -> dict[str, Any]:
        return {"verdict": None, "reasons": []}  # the role's own checks are the whole review offline


_DIRECT = ("HEAD's repro", "the repro", "HEAD's test")  # bisect's oracle when the repro itself judged both ends


def _call_changed(ws: Workspace, repro: Repro, result: Any) -> bool:
    """Whether the bisected commit changed the parameter list of the function the built repro calls."""
    path, _, function = (repro.target or "").rpartition(":")
    return bool(path and function) and params_changed(ws.root, result.first_bad, parent_of(ws, result.first_bad),
                                                       path, function)


def _handled_before(result: Any) -> bool:
    """Whether a bisect of a repro with an injected value found an older commit that ran the call with that value
    and returned (the value was handled there, and the first bad commit stopped handling it), by HEAD's repro
    itself: then it names a cause, not the oldest commit that shows the symptom."""
    return bool(result.first_bad and result.last_good and not result.never_passed
                and result.tested.get(result.last_good) == "good" and result.oracle in _DIRECT)


def _how(method: str | None, never_passed: bool = False) -> str:
    """How a suspect was found, as the Result's root cause says it: a ranked one is a guess."""
    if method == "bisected":
        return "bisected"
    if never_passed:  # there is a repro, but no commit to bisect against: say why (review 20, berthing)
        return ("ranked from the history, not confirmed by a repro: the report's values fail the call at every "
                "commit that runs it")
    return "ranked from the history, not confirmed by a repro"
