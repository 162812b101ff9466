"""Small agents for runtime tests, configured through `options` in the test's SwarmConfig.

options (all roles): sleep_s (per call); fail (raise in handle); hang_once (a path: the first call
creates it and then waits until cancelled or killed; later calls pass); sleep_once (a path: the first
call creates it and sleeps sleep_once_s, later calls do not); transient_count_file and
transient_times (raise TransientError on the first N calls); spend_usd (charge the budget per call);
request_changes_cycles (review: ask for changes in these cycles); hang_until_cancelled (a path: the
call creates it, then waits until its investigation is cancelled); commit (implement: a real commit on
branch swarm/fix/[<namespace>/]<id> of the repository's `path`, the working tree untouched); tool_run (research: a
command, "{python}" for this interpreter, run through the host's tool runner, `swarm.agent.run_tool`; a
failing run fails the call); env_probe (a directory: each call writes <role>.json there, the values in its
process environment of the names in env_probe_names, and its Ray runtime_env); hold_until (a path, `{namespace}`
filled in: each call waits until it exists, at most hold_until_s, default 300, so a test keeps a load standing as long
as it needs).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from swarm.agent import AgentContext, TransientError, fix_branch, run_tool


class _Base:
    role = ""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    async def _behave(self, ctx: AgentContext) -> None:
        # the fault suite's ledger (swarm.bench.ledger) counts agent calls by these
        start = {"phase": ctx.phase, "cycle": ctx.cycle, "hypothesis": (ctx.hypothesis or {}).get("id")}
        await ctx.messages.say("started", f"{self.role} {ctx.phase} {ctx.investigation_id}", start)  # type: ignore[union-attr]
        if probe := self.options.get("env_probe"):
            import ray  # what Ray holds as this actor's runtime_env: what the dashboard shows of it

            seen = {name: os.environ.get(name) for name in self.options.get("env_probe_names", [])}
            shown = dict(ray.get_runtime_context().runtime_env) if ray.is_initialized() else {}
            (Path(probe) / f"{self.role}.json").write_text(json.dumps({"env": seen, "runtime_env": shown}))
        marker = self.options.get("hang_once")
        if marker and not Path(marker).exists():
            Path(marker).write_text(ctx.investigation_id)
            await asyncio.Event().wait()  # until the actor is killed
        waiting = self.options.get("hang_until_cancelled")
        if waiting:
            Path(waiting).write_text(ctx.investigation_id)
            await ctx.cancel.event.wait()
            ctx.cancel.raise_if_cancelled()
        if gate := self.options.get("hold_until"):
            path, deadline = Path(str(gate).format(namespace=ctx.namespace)), time.monotonic()
            deadline += float(self.options.get("hold_until_s", 300))
            while not path.exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        once = self.options.get("sleep_once")
        if once and not Path(once).exists():
            Path(once).write_text(ctx.investigation_id)
            await asyncio.sleep(float(self.options.get("sleep_once_s", 30)))
        if self.options.get("sleep_s"):
            await asyncio.sleep(float(self.options["sleep_s"]))
        if self.options.get("fail"):
            raise RuntimeError(f"{self.role} agent failed on purpose")
        if self.options.get("spend_usd"):  # an LLM call's cost, charged as a real brain does
            await ctx.budget.charge(1000, float(self.options["spend_usd"]))
        counter = self.options.get("transient_count_file")
        if counter:  # fail transiently the first `transient_times` calls (a flaky dependency)
            path = Path(counter)
            calls = int(path.read_text()) if path.exists() else 0
            path.write_text(str(calls + 1))
            if calls < int(self.options.get("transient_times", 0)):
                raise TransientError(f"{self.role}: dependency unavailable (call {calls + 1})")


class Orchestrator(_Base):
    role = "orchestrator"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        if ctx.phase == "plan":
            n = int(self.options.get("hypotheses", 2))
            return {"hypotheses": [{"id": f"h{i}", "title": f"hypothesis {i}"} for i in range(n)]}
        return {
            "status": ctx.implementation.get("status", "no_fix"),
            "root_cause": f"test root cause of {ctx.report.error}",
            "summary": f"{len(ctx.findings)} findings",
            "branch": ctx.implementation.get("branch"),
        }


class Research(_Base):
    role = "research"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        hyp = (ctx.hypothesis or {}).get("id")
        findings: list[dict[str, Any]] = [{"file": ctx.report.context.file, "line": ctx.report.context.line}]
        if self.options.get("tool_run"):  # a test run, as the fix engine does it: through the host's runner
            args = [sys.executable if a == "{python}" else str(a) for a in self.options["tool_run"]]
            res = await asyncio.to_thread(run_tool, args, ".", timeout_s=120)
            if not res.ok:
                raise RuntimeError(f"tool run failed ({res.returncode}): {res.output[-500:]}")
            findings.append({"tool_output": res.output[-500:]})
        return {"hypothesis": hyp, "findings": findings, "suspects": []}


def _commit_branch(repo: str, branch: str, text: str) -> str:
    """A commit adding FIX.txt on `branch` (from HEAD), made with git plumbing: the worktree is untouched."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "swarm", "GIT_AUTHOR_EMAIL": "swarm@localhost",
           "GIT_COMMITTER_NAME": "swarm", "GIT_COMMITTER_EMAIL": "swarm@localhost"}

    def git(*args: str, stdin: str | None = None, **extra: str) -> str:
        return subprocess.run(["git", "-C", repo, *args], input=stdin, capture_output=True, text=True, check=True,
                              env={**env, **extra}).stdout.strip()

    with tempfile.TemporaryDirectory() as tmp:
        index = str(Path(tmp) / "index")
        git("read-tree", "HEAD", GIT_INDEX_FILE=index)
        blob = git("hash-object", "-w", "--stdin", stdin=text)
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},FIX.txt", GIT_INDEX_FILE=index)
        tree = git("write-tree", GIT_INDEX_FILE=index)
    sha = git("commit-tree", tree, "-p", "HEAD", "-m", f"fix: {text}")
    git("update-ref", f"refs/heads/{branch}", sha)
    return sha


class Implement(_Base):
    role = "implement"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        branch, sha = fix_branch(ctx.investigation_id, ctx.namespace), "f" * 40
        if self.options.get("commit"):
            sha = await asyncio.to_thread(_commit_branch, str((ctx.repository or {})["path"]), branch,
                                          ctx.investigation_id)
        return {
            "status": "fixed",
            "branch": branch,
            "fix_commit": sha,
            "remote_seen": (ctx.repository or {}).get("remote"),
            "research_seen": len(ctx.findings),
            "feedback_seen": ctx.feedback,
        }


class Review(_Base):
    role = "review"

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        await self._behave(ctx)
        if ctx.cycle in self.options.get("request_changes_cycles", []):
            return {
                "verdict": "request_changes",
                "reasons": ["needs a test"],
                "feedback": f"cycle {ctx.cycle}: add a test",
            }
        return {"verdict": "approve", "reasons": [], "tests": {"passed": 3, "failed": 0, "ok": True}}
