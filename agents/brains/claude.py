"""Claude through the anthropic SDK: one tool-use loop per step, with the offline brain as the fallback.

    brain = ClaudeBrain(options)                 # needs ANTHROPIC_API_KEY; base URL from config or env
    findings = await brain.research(ctx, ws)     # tool_use -> tool_result turns until submit_findings

Config (ctx.config["brain"]): model, max_tokens, max_tool_calls (per step), budget_usd_per_investigation,
base_url (else ANTHROPIC_BASE_URL), max_retries, retry_backoff_s, input/output USD per million tokens.
Every response's token usage is charged to ctx.budget. Error text goes in as clearly delimited untrusted
data (`untrusted()`), never as instructions. API failures are retried with exponential backoff; then a
BrainDead event goes out (ctx.events.brain_dead) and the step is done by the offline brain instead. Running
out of budget or of tool calls also falls back to the offline brain (without a BrainDead: the API is fine).
An API found down (unreachable, 5xx or overloaded after the retries, or the key refused) is not asked again by
this process for `brain.dead_for_s`: later steps go to the offline brain at once (an agent message says so, no
new BrainDead), then one step tries Claude again. Every step paying the retries of an outage cost each
investigation phases' worth of backoff, and hammered an API that was already failing.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import secrets
import time
from importlib import resources
from typing import Any, Literal

import anthropic
from pydantic import BaseModel, Field, ValidationError

from agents.brains.offline import OfflineBrain
from agents.common import AgentSettings, say
from agents.fixtools import FixTools
from agents.tools import Toolbox, ToolError
from agents.workspace import SandboxViolation, Workspace, WorkspaceError, run_command
from swarm.agent import AgentContext, BrainConfig, BudgetExhausted, TransientError
from swarm.models import TestCounts

__all__ = ["ClaudeBrain", "BrainFailure", "untrusted", "render_report"]

_TAG = re.compile(r"<\s*(/?)\s*untrusted", re.I)
_DOWN: dict[tuple[str, str], tuple[float, str]] = {}  # (base url, key) -> (monotonic time it may be asked, why)


class BrainFailure(TransientError):
    """Claude could not finish a step; `api` says whether the API itself failed (-> BrainDead, when it was
    asked: `attempts` > 0), `down` whether it is down for every step (not asked again for `dead_for_s`)."""

    def __init__(self, message: str, *, api: bool, attempts: int = 0, down: bool = False) -> None:
        super().__init__(message)
        self.api, self.attempts, self.down = api, attempts, down


def untrusted(label: str, text: str) -> str:
    """Wrap untrusted text in tags with a random suffix; tag lookalikes inside are neutralised."""
    suffix = secrets.token_hex(3)
    body = _TAG.sub(lambda m: f"&lt;{m.group(1)}untrusted", text)
    return f"<untrusted_{label}_{suffix}>\n{body}\n</untrusted_{label}_{suffix}>"


def render_report(ctx: AgentContext) -> str:
    r = ctx.report
    context = json.dumps(r.context.model_dump(exclude_none=True), default=str)
    text = (f"error: {r.error}\nservice: {r.service}\nenvironment: {r.environment}\ncontext: {context}\n"
            f"stack:\n{r.stack[-8000:]}")
    return untrusted("error_report", text)


def _prompt(name: str) -> str:
    return (resources.files("agents") / "prompts" / f"{name}.md").read_text()


# -- what each step submits ------------------------------------------------------------------------------
class _Hypothesis(BaseModel):
    id: str
    title: str
    detail: str = ""


class PlanOut(BaseModel):
    hypotheses: list[_Hypothesis] = Field(min_length=1)


class _Finding(BaseModel):
    file: str
    line: int | None = None
    commit: str | None = None
    evidence: str = ""


class _SuspectIn(BaseModel):
    commit: str
    score: float = Field(ge=0)
    reason: str = ""


class FindingsOut(BaseModel):
    findings: list[_Finding] = Field(default_factory=list)
    suspects: list[_SuspectIn] = Field(default_factory=list)


class FixOut(BaseModel):
    root_cause: str
    suspect_commit: str | None = None
    summary: str


class SummaryOut(BaseModel):
    root_cause: str
    summary: str


class ReviewOut(BaseModel):
    verdict: Literal["approve", "request_changes"]
    reasons: list[str] = Field(default_factory=list)


def _finish_tool(name: str, model: type[BaseModel], what: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return {"name": name, "description": f"Submit {what}; ends this step.", "input_schema": schema}


class ClaudeBrain:
    name = "claude"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.offline = OfflineBrain(self.options)

    # -- the loop ---------------------------------------------------------------------------------------
    def _client(self, cfg: BrainConfig) -> anthropic.AsyncAnthropic:
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise BrainFailure("ANTHROPIC_API_KEY is not set", api=True)
        return anthropic.AsyncAnthropic(api_key=key, base_url=cfg.base_url or os.environ.get("ANTHROPIC_BASE_URL"),
                                        max_retries=0, timeout=float(self.options.get("request_timeout_s", 120)))

    async def _create(self, client: anthropic.AsyncAnthropic, cfg: BrainConfig, **kw: Any) -> Any:
        down = (str(client.base_url), client.api_key or "")
        until, why = _DOWN.get(down, (0.0, ""))
        if time.monotonic() < until:
            raise BrainFailure(f"Claude API down ({why}); asked again in {until - time.monotonic():.0f} s", api=True)
        try:
            return await self._attempts(client, cfg, **kw)
        except BrainFailure as exc:
            if exc.down:
                _DOWN[down] = (time.monotonic() + cfg.dead_for_s, str(exc))
            raise
        finally:
            if down in _DOWN and _DOWN[down][0] <= time.monotonic():
                del _DOWN[down]  # it answered, or its time was up

    async def _attempts(self, client: anthropic.AsyncAnthropic, cfg: BrainConfig, **kw: Any) -> Any:
        last = ""
        attempts = cfg.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return await client.messages.create(**kw)
            except anthropic.APIStatusError as exc:
                last = f"HTTP {exc.status_code}: {exc.message}"
                if exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    raise BrainFailure(f"Claude API refused the request ({last})", api=True, attempts=attempt,
                                       down=exc.status_code in (401, 403)) from exc
            except anthropic.APIConnectionError as exc:  # includes timeouts
                last = f"{type(exc).__name__}: {exc}"
            except anthropic.AnthropicError as exc:
                raise BrainFailure(f"Claude API error: {exc}", api=True, attempts=attempt) from exc
            if attempt < attempts:
                await asyncio.sleep(cfg.retry_backoff_s * 2 ** (attempt - 1))
        raise BrainFailure(f"Claude API unavailable after {attempts} attempts ({last})", api=True, attempts=attempts,
                           down=True)

    async def _charge(self, ctx: AgentContext, cfg: BrainConfig, usage: Any) -> None:
        tokens_in = int(getattr(usage, "input_tokens", 0) or 0) + int(
            getattr(usage, "cache_creation_input_tokens", 0) or 0) + int(
            getattr(usage, "cache_read_input_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
        usd = (tokens_in * cfg.input_usd_per_mtok + tokens_out * cfg.output_usd_per_mtok) / 1_000_000
        try:
            await ctx.budget.charge(tokens_in + tokens_out, usd)
        except BudgetExhausted as exc:
            raise BrainFailure(str(exc), api=False) from exc
        if math.isinf(ctx.budget.limit_usd) and ctx.budget.spent_usd > cfg.budget_usd_per_investigation:
            raise BrainFailure(f"investigation budget ${cfg.budget_usd_per_investigation:.2f} exceeded "
                               f"(${ctx.budget.spent_usd:.4f})", api=False)

    async def _loop(self, ctx: AgentContext, step: str, user: str, tools: Toolbox | None,
                    finish: str, model: type[BaseModel], what: str) -> BaseModel:
        cfg = AgentSettings.of(ctx).brain
        client = self._client(cfg)
        system = _prompt("system") + "\n\n" + _prompt(step).format(
            max_hypotheses=AgentSettings.of(ctx).max_hypotheses)
        defs = (tools.schemas() if tools else []) + [_finish_tool(finish, model, what)]
        messages: list[dict[str, Any]] = [{"role": "user", "content": user}]
        calls = nudges = 0
        try:
            while True:
                ctx.cancel.raise_if_cancelled()
                resp = await self._create(client, cfg, model=cfg.model, max_tokens=cfg.max_tokens, system=system,
                                          tools=defs, messages=messages)
                await self._charge(ctx, cfg, resp.usage)
                content = [_block(b) for b in resp.content]
                messages.append({"role": "assistant", "content": [c for c in content if c]})
                uses = [b for b in resp.content if b.type == "tool_use"]
                results: list[dict[str, Any]] = []
                for use in uses:
                    if use.name == finish:
                        try:
                            return model.model_validate(use.input)
                        except ValidationError as exc:
                            nudges += 1
                            results.append(_result(use.id, f"invalid {finish} input: {exc.errors(include_url=False)}",
                                                   error=True))
                        continue
                    calls += 1
                    if tools is None or calls > cfg.max_tool_calls:
                        text, err = f"no more tool calls available; call {finish} now", True
                        nudges += 1
                    else:
                        text, err = await self._tool(ctx, tools, use.name, use.input)
                    results.append(_result(use.id, text, error=err))
                if not uses:
                    nudges += 1
                    results = [{"type": "text", "text": f"Call the {finish} tool now with your result."}]
                if nudges > 3:
                    raise BrainFailure(f"Claude did not call {finish} (tool calls: {calls})", api=False)
                messages.append({"role": "user", "content": results})
        finally:
            await client.close()

    async def _tool(self, ctx: AgentContext, tools: Toolbox, name: str, args: Any) -> tuple[str, bool]:
        await say(ctx, "tool_call", f"{name} {json.dumps(args, default=str)[:200]}")
        try:
            return await asyncio.to_thread(tools.call, name, args if isinstance(args, dict) else {}), False
        except (ToolError, SandboxViolation, FileNotFoundError, WorkspaceError, OSError) as exc:
            return f"error: {exc}", True

    async def _fell_back(self, ctx: AgentContext, step: str, exc: BrainFailure) -> None:
        if exc.api and exc.attempts and ctx.events is not None:
            await ctx.events.brain_dead("claude", str(exc), exc.attempts, "offline")
        await say(ctx, "brain", f"claude could not do {step} ({exc}); the offline brain takes over")

    # -- the five steps ----------------------------------------------------------------------------------
    async def plan(self, ctx: AgentContext) -> dict[str, Any]:
        user = f"{render_report(ctx)}\n\nPropose at most {AgentSettings.of(ctx).max_hypotheses} hypotheses."
        try:
            out = await self._loop(ctx, "plan", user, None, "submit_plan", PlanOut, "the hypotheses")
        except BrainFailure as exc:
            await self._fell_back(ctx, "plan", exc)
            return await self.offline.plan(ctx)
        return out.model_dump()

    async def research(self, ctx: AgentContext, ws: Workspace) -> dict[str, Any]:
        hypothesis = untrusted("hypothesis", json.dumps(ctx.hypothesis or {}, default=str))
        user = f"{render_report(ctx)}\n\nHypothesis to investigate:\n{hypothesis}\n\nBase commit: {ws.base_commit}"
        test_command = str((ctx.repository or {}).get("test_command") or "python -m pytest -q")
        tools = Toolbox(ws, role="research", fix=FixTools(ws, ctx.report, test_command))
        try:
            out = await self._loop(ctx, "research", user, tools, "submit_findings",
                                   FindingsOut, "your findings and ranked suspects")
        except BrainFailure as exc:
            await self._fell_back(ctx, "research", exc)
            return await self.offline.research(ctx, ws)
        data = out.model_dump()
        suspects = []
        for sus in data["suspects"]:  # only commits that exist, as full hashes
            full = await asyncio.to_thread(_commit, ws, sus["commit"])
            if full:
                suspects.append({**sus, "commit": full})
        data["suspects"] = suspects
        return {"hypothesis": (ctx.hypothesis or {}).get("id"), **data}

    async def implement(self, ctx: AgentContext, ws: Workspace, tools: Toolbox,
                        tests_before: TestCounts) -> dict[str, Any]:
        findings = untrusted("findings", json.dumps(ctx.findings, default=str)[:12000])
        parts = [render_report(ctx), f"Research findings:\n{findings}",
                 f"Tests before any change: passed={tests_before.passed} failed={tests_before.failed} "
                 f"errors={tests_before.errors}\n" + untrusted("test_output", tests_before.output_tail[-3000:])]
        if ctx.feedback:
            parts.append("Review feedback on the previous attempt:\n" + untrusted("review_feedback", ctx.feedback))
        try:
            out = await self._loop(ctx, "implement", "\n\n".join(parts), tools, "submit_fix", FixOut,
                                   "the fix (root cause, suspect commit, summary)")
        except BrainFailure as exc:
            await self._fell_back(ctx, "implement", exc)
            await asyncio.to_thread(_undo, ws)
            return await self.offline.implement(ctx, ws, tools, tests_before)
        fix = out.model_dump()
        suspect = _commit(ws, fix["suspect_commit"]) if fix.get("suspect_commit") else None
        return {**fix, "suspect_commit": suspect, "verified": True, "tried": [suspect] if suspect else []}

    async def express(self, ctx: AgentContext) -> dict[str, Any]:
        impl = {k: v for k, v in (ctx.implementation or {}).items() if k not in ("tests_before", "tests_after")}
        user = (f"{render_report(ctx)}\n\nImplementation result:\n"
                f"{untrusted('implementation', json.dumps(impl, default=str)[:8000])}")
        try:
            out = await self._loop(ctx, "express", user, None, "submit_summary", SummaryOut, "the explanation")
        except BrainFailure as exc:
            await self._fell_back(ctx, "express", exc)
            return await self.offline.express(ctx)
        return out.model_dump()

    async def review(self, ctx: AgentContext, ws: Workspace, tools: Toolbox, facts: dict[str, Any]) -> dict[str, Any]:
        checks = "\n".join(f"- {r}" for r in facts.get("reasons") or []) or "- all automatic checks passed"
        tests = facts.get("tests") or {}
        user = (f"{render_report(ctx)}\n\nDiff against the base branch:\n"
                f"{untrusted('diff', str(facts.get('patch', ''))[:12000])}\n\nAutomatic checks:\n{checks}\n\n"
                f"Tests on the fix branch: passed={tests.get('passed')} failed={tests.get('failed')} "
                f"errors={tests.get('errors')} ok={tests.get('ok')}")
        if facts.get("failing_at_base"):
            user += ("\nTests that fail on the base commit too, without the fix (not the fix's doing): "
                     + ", ".join(map(str, facts["failing_at_base"][:20])))
        try:
            out = await self._loop(ctx, "review", user, tools, "submit_review", ReviewOut, "your verdict")
        except BrainFailure as exc:
            await self._fell_back(ctx, "review", exc)
            return await self.offline.review(ctx, ws, tools, facts)
        return out.model_dump()


def _block(block: Any) -> dict[str, Any] | None:
    if block.type == "text":
        return {"type": "text", "text": block.text} if block.text else None
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return None


def _result(tool_use_id: str, text: str, *, error: bool = False) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": text or "(empty)", "is_error": error}


def _commit(ws: Workspace, ref: str | None) -> str | None:
    """The full hash of a commit the model named, or None if it names nothing real."""
    if not ref or not re.fullmatch(r"[0-9a-fA-F]{4,40}", ref.strip()):
        return None
    res = run_command(["git", "rev-parse", "--verify", "--quiet", f"{ref.strip()}^{{commit}}"], ws.root)
    return res.output.strip() if res.ok else None


def _undo(ws: Workspace) -> None:
    """Drop a failed brain's partial edits before the offline brain starts from a clean worktree."""
    for path in sorted(ws.changed):
        tracked = run_command(["git", "ls-files", "--error-unmatch", "--", path], ws.root).ok
        if tracked:
            ws.git("checkout", "HEAD", "--", path)
        else:
            ws.resolve(path).unlink(missing_ok=True)
    ws.changed.clear()
