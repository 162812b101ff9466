"""Implement: writes the fix on branch `swarm/fix/<investigation_id>` in its own worktree and commits it.

    out = await ImplementAgent().handle(ctx)    # ctx.findings = research outputs; ctx.feedback on later cycles
    out["status"], out["branch"], out["fix_commit"], out["tests_before"]["failed"], out["tests_after"]["ok"]

Tests run before and after. A fix counts only when the brain verified it and the tests pass after; then it
is committed with GitPython (author from config; trailers `Swarm-Investigation:` and `Swarm-Signature:`)
and pushed when ctx.repository["remote"] is set. Otherwise the status is no_fix with the reason, and the
branch is deleted so no empty fix branch is left behind. Each cycle starts the branch afresh from the base.
"""

from __future__ import annotations

import asyncio
from typing import Any

import git

from agents.brains import select_brain
from agents.common import AgentSettings, close_workspace, open_workspace, repository_of, say
from agents.fixtools import FixTools
from agents.regtest import keep_regression_test, regression_test, why_no_regression_test
from agents.repro import Repro
from agents.testrun import holds
from agents.tools import Toolbox
from agents.workspace import Workspace, run_command
from swarm.agent import DEFAULT_NAMESPACE, AgentContext
from swarm.models import TestCounts

__all__ = ["ImplementAgent", "commit_message"]


def commit_message(ctx: AgentContext, outcome: dict[str, Any]) -> str:
    title = ctx.report.error.splitlines()[0].strip() if ctx.report.error else "error"
    if len(title) > 60:  # a subject line: cut at a word, and say so
        title = title[:60].rsplit(" ", 1)[0].rstrip(",:;") + " …"
    body = [f"fix: {title}", ""]
    if outcome.get("summary"):
        body += [str(outcome["summary"]), ""]
    if outcome.get("root_cause"):
        body += [f"Root cause: {outcome['root_cause']}", ""]
    if outcome.get("suspect_commit"):
        body += [f"Suspect commit: {outcome['suspect_commit']}", ""]
    body += [f"Swarm-Investigation: {ctx.investigation_id}", f"Swarm-Signature: {ctx.signature}"]
    if ctx.namespace != DEFAULT_NAMESPACE:  # which swarm made it: two namespaces may commit the same fix
        body.append(f"Swarm-Namespace: {ctx.namespace}")
    return "\n".join(body) + "\n"


def _changed_files(ws: Workspace) -> list[str]:
    """Files the tools wrote that really differ from the base (a write of identical content is no change)."""
    if not ws.changed:
        return []
    out = ws.git("status", "--porcelain", "-z", "--untracked-files=all", "--", *sorted(ws.changed))
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})


def _commit_and_push(ws: Workspace, files: list[str], message: str, settings: AgentSettings,
                     remote: str | None) -> tuple[str, str | None]:
    repo = git.Repo(ws.root)
    try:
        repo.git.add("--all", "--", *files)
        actor = git.Actor(settings.author_name, settings.author_email)
        sha = repo.index.commit(message, author=actor, committer=actor).hexsha
        push_error = None
        if remote:
            try:
                repo.git.push("--force", "--quiet", remote, f"HEAD:refs/heads/{ws.branch}")
            except git.GitCommandError as exc:  # the fix stays on the local branch; say why it was not pushed
                push_error = f"push to {remote} failed: {exc.stderr.strip() or exc}"
        return sha, push_error
    finally:
        repo.close()


class ImplementAgent:
    role = "implement"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        settings = AgentSettings.of(ctx)
        repo = repository_of(ctx)
        ws = await open_workspace(ctx, mode="write")
        branch, source = ws.branch, ws.source
        fixed = False
        try:
            timeout = float(self.options.get("tests_timeout_s", 600))
            repro = next((f["repro"] for f in ctx.findings if isinstance(f.get("repro"), dict)), None)
            tools = Toolbox(ws, role="implement", test_command=repo["test_command"], tests_timeout_s=timeout,
                            fix=FixTools(ws, ctx.report, repo["test_command"], repro, tests_timeout_s=timeout))
            tests_before = await asyncio.to_thread(tools.run_tests)
            if tools.fix is not None:
                tools.fix.baseline = tests_before  # try_patch judges a suite red at HEAD by what was red there
            await say(ctx, "tests", f"before the fix: {tests_before.passed} passed, {tests_before.failed} failed, "
                      f"{tests_before.errors} errors", {"tests_before": tests_before.model_dump()})
            brain = select_brain(self.options)
            outcome = await brain.implement(ctx, ws, tools, tests_before)
            files = await asyncio.to_thread(_changed_files, ws)
            tests_after: TestCounts | None = None
            if files:
                tests_after = (TestCounts.model_validate(outcome["tests_after"]) if outcome.get("tests_after")
                               else await asyncio.to_thread(tools.run_tests))
            # a suite red before the fix (another failure) may stay red where it was: no test newly failing
            fixed = bool(files) and tests_after is not None and holds(tests_before, tests_after) and bool(
                outcome.get("verified"))
            out: dict[str, Any] = {
                "status": "fixed" if fixed else "no_fix",
                "branch": branch if fixed else None,
                "fix_commit": None,
                "suspect_commit": outcome.get("suspect_commit"),
                "tests_before": tests_before.model_dump(),
                "tests_after": tests_after.model_dump() if tests_after else None,
                "root_cause": str(outcome.get("root_cause") or outcome.get("reason") or ""),
                "summary": str(outcome.get("summary") or ""),
                "reason": "" if fixed else str(
                    outcome.get("reason") or self._why_not(files, tests_before, tests_after)),
                "files_changed": files if fixed else [],
                "tried": list(outcome.get("tried") or []),
                "untried_suspects": list(outcome.get("untried") or []),
                "brain": getattr(brain, "name", "unknown"),
                "repro": outcome.get("repro"),
                "suspect_method": outcome.get("suspect_method"),
                "search": outcome.get("search"),
                "fix_kind": outcome.get("fix_kind") if fixed else None,
                "pushed": False,
            }
            if fixed and self.options.get("regression_test", True):
                files, tests_after = await self._regression_test(ctx, ws, tools, outcome.get("repro") or repro, files,
                                                                 tests_before, tests_after, repo["test_command"], out)
                out.update(files_changed=files, tests_after=tests_after.model_dump() if tests_after else None)
            if fixed:
                sha, push_error = await asyncio.to_thread(
                    _commit_and_push, ws, files, commit_message(ctx, outcome), settings, repo.get("remote"))
                out.update(fix_commit=sha, pushed=bool(repo.get("remote")) and push_error is None)
                if out["pushed"]:
                    out["pushed_to"] = f"{repo['remote']} {branch}"
                if push_error:
                    out["push_error"] = push_error
                await say(ctx, "fix", f"committed {sha[:10]} on {branch}: {', '.join(files)}",
                          {"branch": branch, "fix_commit": sha, "tests_after": out["tests_after"]})
            else:
                await say(ctx, "no_fix", out["reason"])
            return out
        finally:
            await close_workspace(ws)
            if not fixed and branch:
                await asyncio.to_thread(run_command, ["git", "branch", "-D", branch], source)

    @staticmethod
    async def _regression_test(ctx: AgentContext, ws: Workspace, tools: Toolbox, repro_data: Any, files: list[str],
                               before: TestCounts, after: TestCounts | None, test_command: str,
                               out: dict[str, Any]) -> tuple[list[str], TestCounts | None]:
        """The fix's files plus a regression test (`agents.regtest`) when one was written and kept; the suite's
        counts with it. `out["regression_test"]` says which test; `out["regression_test_why_not"]` why one written
        was not kept."""
        repro = Repro.from_dict(repro_data) if isinstance(repro_data, dict) else None
        tracked = (await asyncio.to_thread(ws.git, "ls-files")).split()
        test = regression_test(ws.root, repro, ctx.report, ctx.investigation_id, tracked)
        if test is None or repro is None or after is None:
            out["regression_test"] = None
            if after is not None:
                out["regression_test_why_not"] = why_no_regression_test(repro)
            return files, after
        counts, why = await asyncio.to_thread(keep_regression_test, ws.root, test, repro, files, test_command,
                                              tools.run_tests, before, after)
        if counts is None:
            out["regression_test"], out["regression_test_why_not"] = None, f"{test.path}: {why}"
            await say(ctx, "regression_test", f"no regression test added: {test.path}: {why}")
            return files, after
        ws.changed.add(test.path)
        out["regression_test"] = test.path
        await say(ctx, "regression_test", f"added {test.path}: it raises the reported error without the fix and "
                  "passes with it", {"path": test.path})
        return sorted({*files, test.path}), counts

    @staticmethod
    def _why_not(files: list[str], tests_before: TestCounts, tests_after: TestCounts | None) -> str:
        if not files:
            return "the brain changed no files"
        if tests_after is not None and not tests_after.ok:
            new = ", ".join(t for t in tests_after.failing[:5] if t not in tests_before.failing)
            return (f"the tests still fail after the change ({tests_after.failed} failed, {tests_after.errors} errors"
                    f"{'; failing newly: ' + new if new else ''})")
        return "the change could not be verified"
