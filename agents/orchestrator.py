"""The orchestrator: plans which hypotheses to research in parallel, then expresses the result.

    agent = OrchestratorAgent()
    plan = await agent.handle(ctx)        # ctx.phase == "plan"    -> {"hypotheses": [...]}
    result = await agent.handle(ctx)      # ctx.phase == "express" -> {"status", "root_cause", "summary", ...}

Facts in the express output (status, branch, commits, test counts) come from the implement output, never
from a model; the brain contributes the root cause wording and the narrative.
"""

from __future__ import annotations

from typing import Any

from agents.brains import select_brain
from agents.common import AgentSettings, say
from swarm.agent import AgentContext, AgentFailed

__all__ = ["OrchestratorAgent", "render_summary"]


def _tests_line(label: str, tests: dict[str, Any] | None) -> str:
    if not tests:
        return f"| {label} | - | - | - | not run |"
    return (f"| {label} | {tests.get('passed', 0)} | {tests.get('failed', 0)} | {tests.get('errors', 0)} | "
            f"{'green' if tests.get('ok') else 'red'} |")


def _repro_line(repro: dict[str, Any] | None) -> str:
    if not repro or repro.get("kind") in (None, "none"):
        return "none: " + str((repro or {}).get("detail") or "the error could not be reproduced")
    return f"{repro['kind']} `{repro.get('target') or repro.get('command', '')}`: {repro.get('detail', '')}"


def render_summary(result: dict[str, Any], impl: dict[str, Any], narrative: str = "") -> str:
    """The markdown summary: root cause, suspect commit, fix summary, branch, test evidence."""
    lines = [
        f"### {result['status'].replace('_', ' ')}: {impl.get('error_title', '')}".rstrip(": "),
        "",
        "**Root cause.** " + (result.get("root_cause") or "not determined"),
        "",
        f"**Suspect commit.** `{result['suspect_commit'][:12]}` ({result.get('suspect_method') or 'ranked'})"
        if result.get("suspect_commit") else "**Suspect commit.** none identified",
        "",
        "**Repro.** " + _repro_line(result.get("repro")),
        "",
        "**Fix.** " + (impl.get("summary") or impl.get("reason") or "no fix was written"),
    ]
    if result.get("branch"):
        lines += ["", f"**Branch.** `{result['branch']}` at `{(result.get('fix_commit') or '')[:12]}`"]
    if impl.get("files_changed"):
        lines += ["", "**Files changed.** " + ", ".join(f"`{f}`" for f in impl["files_changed"])]
    if result.get("regression_test"):
        lines += ["", f"**Regression test.** `{result['regression_test']}`: the repro's call, which raises the "
                  "error without the fix and passes with it"]
    elif result.get("branch") and impl.get("regression_test_why_not"):
        lines += ["", f"**Regression test.** none: {impl['regression_test_why_not']}"]
    lines += [
        "",
        "**Test evidence.**",
        "",
        "| run | passed | failed | errors | result |",
        "|---|---|---|---|---|",
        _tests_line("before", result.get("tests_before")),
        _tests_line("after", result.get("tests_after")),
    ]
    if narrative:
        lines += ["", narrative.strip()]
    return "\n".join(lines) + "\n"


class OrchestratorAgent:
    role = "orchestrator"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        if ctx.phase == "plan":
            return await self._plan(ctx)
        if ctx.phase == "express":
            return await self._express(ctx)
        raise AgentFailed(f"the orchestrator has no {ctx.phase!r} phase (plan, express)")

    async def _plan(self, ctx: AgentContext) -> dict[str, Any]:
        limit = AgentSettings.of(ctx).max_hypotheses
        plan = await select_brain(self.options).plan(ctx)
        hypotheses = []
        for i, h in enumerate(plan.get("hypotheses") or [], 1):
            if isinstance(h, dict) and h.get("title"):
                hypotheses.append({"id": str(h.get("id") or f"h{i}"), "title": str(h["title"]),
                                   "detail": str(h.get("detail", "")), **{k: v for k, v in h.items()
                                                                           if k not in ("id", "title", "detail")}})
        if not hypotheses:
            raise AgentFailed("the plan has no hypotheses")
        hypotheses = hypotheses[:limit]
        await say(ctx, "plan", f"{len(hypotheses)} hypotheses: " + "; ".join(h["title"] for h in hypotheses))
        return {"hypotheses": hypotheses}

    async def _express(self, ctx: AgentContext) -> dict[str, Any]:
        settings = AgentSettings.of(ctx)
        impl = dict(ctx.implementation or {})
        status = impl.get("status")
        status = status if status in ("fixed", "no_fix") else "failed"
        words = await select_brain(self.options).express(ctx)
        suspect = impl.get("suspect_commit") or next(
            (s.get("commit") for out in ctx.findings for s in (out.get("suspects") or [])[:1]), None)
        result: dict[str, Any] = {
            "status": status,
            "root_cause": str(words.get("root_cause") or impl.get("root_cause") or impl.get("reason") or
                              "the investigation produced no implementation"),
            "suspect_commit": suspect,
            "suspect_method": impl.get("suspect_method") if suspect else None,
            "repro": impl.get("repro"),
            "branch": impl.get("branch") if status == "fixed" else None,
            "fix_commit": impl.get("fix_commit") if status == "fixed" else None,
            "tests_before": impl.get("tests_before"),
            "tests_after": impl.get("tests_after"),
            "regression_test": impl.get("regression_test") if status == "fixed" else None,
        }
        impl["error_title"] = ctx.report.error.splitlines()[0][:120] if ctx.report.error else ""
        result["summary"] = render_summary(result, impl, str(words.get("summary") or ""))
        untried = bool(impl.get("untried_suspects"))
        result["needs_another_cycle"] = status != "fixed" and ctx.cycle < settings.max_cycles and untried
        await say(ctx, "result", f"{status}: {result['root_cause'][:300]}",
                  {"suspect_commit": suspect, "branch": result["branch"]})
        return result
