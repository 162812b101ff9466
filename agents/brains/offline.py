"""The offline brain: forensic reasoning over git history, no model. Used when ANTHROPIC_API_KEY is not set.

    brain = OfflineBrain({"max_candidates": 5})
    plan = await brain.plan(ctx)      # crash function / callers in the trace / callees of the failing line

stack trace -> failing file and line (innermost frame inside the repo) -> git blame and history of the
failing function, of its callers in the trace and of the code the failing line calls -> ranked suspect
commits -> revert only the suspect's hunks on the failing path (the rest of that commit and later
commits stay) -> tests before and after. When no revert makes the tests pass it says so: status no_fix.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.common import say
from agents.forensics import History, Region, Suspect, failing_path, parse_traceback
from agents.tools import Toolbox
from agents.workspace import Workspace, WorkspaceError
from swarm.models import TestCounts
from swarm.runtime.agent import AgentContext

__all__ = ["OfflineBrain"]

KINDS = {"crash": "crash", "callers": "caller", "callees": "callee"}


def tried_commits(history: list[dict[str, Any]]) -> set[str]:
    """Suspects an earlier cycle already reverted (a new cycle tries the next ones)."""
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


class OfflineBrain:
    name = "offline"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.max_candidates = int(self.options.get("max_candidates", 5))

    # -- plan ------------------------------------------------------------------------------------------
    async def plan(self, ctx: AgentContext) -> dict[str, Any]:
        report = ctx.report
        frames = parse_traceback(report.stack)
        where = f"{frames[-1].file}:{frames[-1].line}" if frames else f"{report.context.file}:{report.context.line}"
        func = (frames[-1].function if frames else report.context.function) or "the failing function"
        hypotheses = [
            {
                "id": "h1-crash",
                "kind": "crash",
                "title": f"a recent change to {func}() broke it",
                "detail": f"{report.error.splitlines()[0][:200]} raised at {where}: blame the failing function "
                "and rank the commits that changed it",
            },
        ]
        if len(frames) > 1:
            callers = ", ".join(f"{f.function}()" for f in reversed(frames[:-1]))
            hypotheses.append({
                "id": "h2-callers",
                "kind": "callers",
                "title": "a caller in the trace now passes something different",
                "detail": f"history of the callers in the trace: {callers[:300]}",
            })
        hypotheses.append({
            "id": "h3-callees",
            "kind": "callees",
            "title": "code called from the failing line changed",
            "detail": f"history of the functions the line at {where} calls",
        })
        return {"hypotheses": hypotheses}

    # -- research --------------------------------------------------------------------------------------
    def _research(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]:
        hypothesis = ctx.hypothesis or {}
        regions = failing_path(ws, ctx.report)
        kind = KINDS.get(str(hypothesis.get("kind", "")))
        selected = [r for r in regions if r.kind == kind] if kind else regions
        history = History(ws)
        suspects = history.rank(selected)
        findings = [self._finding(history, r, suspects) for r in selected]
        return {
            "hypothesis": hypothesis.get("id"),
            "findings": findings,
            "suspects": [s.to_dict() for s in suspects[: self.max_candidates]],
            "regions": [r.label() for r in selected],
        }

    @staticmethod
    def _finding(history: History, region: Region, suspects: list[Suspect]) -> dict[str, Any]:
        line = region.focus_line or region.start
        blamed = history.blame_line(region.path, line)
        touching = [s for s in suspects if any(h.file == region.path and h.function == region.qualname
                                               for h in s.hunks)]
        commits = ", ".join(f"{s.commit[:10]} '{s.subject}'" for s in touching[:3]) or "none besides its creation"
        evidence = (
            f"{region.kind}: {region.qualname or 'module code'} at {region.path}:{line}; "
            f"line last changed by {history.describe(blamed) if blamed else 'unknown'}; "
            f"commits changing this function: {commits}"
        )
        return {"file": region.path, "line": line, "commit": blamed, "evidence": evidence}

    async def research(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]:
        out = await asyncio.to_thread(self._research, ctx, ws)
        top = out["suspects"][0]["commit"][:10] if out["suspects"] else "none"
        await say(ctx, "finding", f"{out['hypothesis']}: {len(out['suspects'])} suspects, top {top}",
                  {"regions": out["regions"]})
        return out

    # -- implement ---------------------------------------------------------------------------------------
    def _candidates(self, ctx: AgentContext, ws: Workspace, history: History) -> list[Suspect]:
        exclude = tried_commits(ctx.history)
        merged: dict[str, Suspect] = {}
        for output in ctx.findings:
            for data in output.get("suspects") or []:
                try:
                    sus = Suspect.from_dict(data)
                except (KeyError, TypeError, ValueError):
                    continue
                if sus.commit in exclude:
                    continue
                have = merged.setdefault(sus.commit, Suspect(sus.commit, sus.parent, sus.subject))
                have.score += sus.score
                have.reasons.extend(sus.reasons)
                have.hunks.extend(h for h in sus.hunks if h not in have.hunks)
        own = history.rank(failing_path(ws, ctx.report), exclude=exclude)
        by_sha = {s.commit: s for s in own}
        ordered = sorted(merged.values(), key=lambda s: -s.score)
        for sus in ordered:  # a research output without hunks (e.g. from Claude): use our own on-path hunks
            if not sus.hunks and sus.commit in by_sha:
                sus.hunks, sus.parent = by_sha[sus.commit].hunks, by_sha[sus.commit].parent
        ordered += [s for s in own if s.commit not in merged]
        return [s for s in ordered if s.hunks][: self.max_candidates]

    def _attempt(self, ws: Workspace, tools: Toolbox, history: History, sus: Suspect) -> TestCounts | None:
        parent = sus.parent
        if parent is None:
            try:
                parent = ws.git("rev-parse", "--verify", "--quiet", f"{sus.commit}^").strip() or None
            except WorkspaceError:
                parent = None  # a root commit: reverting means deleting what it added
        texts = {}
        for path in sorted({h.file for h in sus.hunks}):
            text = history.revert(sus.commit, parent, path, sus.hunks_in(path))
            if text is None:
                return None
            texts[path] = text
        for path, text in texts.items():
            tools.write_file(path, text)
        counts = tools.run_tests()
        if not counts.ok:
            for path in texts:
                ws.git("checkout", "HEAD", "--", path)
                ws.changed.discard(path)
        return counts

    async def implement(
        self, ctx: AgentContext, ws: Workspace, tools: Toolbox, tests_before: TestCounts
    ) -> dict[str, Any]:
        history = History(ws)
        candidates = await asyncio.to_thread(self._candidates, ctx, ws, history)
        if not candidates:
            return {"verified": False, "reason": "no commit changed code on the failing path; nothing to revert",
                    "tried": [], "suspect_commit": None}
        top = candidates[0]
        if tests_before.ok:
            return {
                "verified": False,
                "suspect_commit": top.commit,
                "tried": [],
                "reason": f"the tests pass before any change, so no fix can be verified offline; the top suspect "
                f"is {history.describe(top.commit)} ({'; '.join(top.reasons)})",
            }
        tried: list[str] = []
        for sus in candidates:
            ctx.cancel.raise_if_cancelled()
            tried.append(sus.commit)
            files = sorted({h.file for h in sus.hunks})
            await say(ctx, "attempt", f"reverting {len(sus.hunks)} hunk(s) of {sus.commit[:10]} in {', '.join(files)}")
            counts = await asyncio.to_thread(self._attempt, ws, tools, history, sus)
            if counts is not None and counts.ok:
                where = ", ".join(sorted({f"{h.function or 'code'}() in {h.file}" for h in sus.hunks}))
                return {
                    "verified": True,
                    "suspect_commit": sus.commit,
                    "tried": tried,
                    "tests_after": counts.model_dump(),
                    "root_cause": f"commit {history.describe(sus.commit)} changed {where}; that change is on the "
                    f"failing path of {ctx.report.error.splitlines()[0][:160]!r}",
                    "summary": f"reverted {len(sus.hunks)} hunk(s) of {sus.commit[:10]} on the failing path "
                    f"({where}); the rest of that commit and later commits are kept",
                    "evidence": sus.reasons,
                    "untried": [s.commit for s in candidates if s.commit not in tried],
                }
        return {
            "verified": False,
            "suspect_commit": top.commit,
            "tried": tried,
            "reason": f"reverting the on-path hunks of {len(tried)} suspect(s) "
            f"({', '.join(s[:10] for s in tried)}) did not make the tests pass",
        }

    # -- express, review ---------------------------------------------------------------------------------
    async def express(self, ctx: AgentContext) -> dict[str, Any]:
        impl = ctx.implementation or {}
        root = impl.get("root_cause") or impl.get("reason") or "not determined"
        return {"root_cause": root, "summary": ""}

    async def review(self, ctx: AgentContext, ws: Workspace, tools: Toolbox, facts: dict[str, Any]) -> dict[str, Any]:
        return {"verdict": None, "reasons": []}  # the role's own checks are the whole review offline
