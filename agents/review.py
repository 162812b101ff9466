"""Review: runs the tests on the fix branch (own worktree) and audits the diff against the base branch.

    out = await ReviewAgent().handle(ctx)      # ctx.implementation = implement output (branch, fix_commit)
    out["verdict"], out["reasons"], out["tests"]["ok"]

Rejected (request_changes): failing tests, an empty or oversized diff, too many files, deleted test files
or test functions, removed or changed assertions, added skips, CI or workflow edits, any change to an
existing test file, a changed file that is neither on the failing path nor in the suspect commit (unless it
defines a function or class the error names, or the failing path imports it: `connected`), and a repro
that does not pass on the fix branch. The brain may add
reasons of its own but can never approve what the checks reject. An Audit goes out via ctx.events.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from agents.brains import select_brain
from agents.common import close_workspace, open_workspace, repository_of, say
from agents.forensics import parse_traceback
from agents.repro import Repro, repo_path, run_repro
from agents.testrun import holds, new_failures
from agents.tools import Toolbox
from agents.workspace import Workspace, run_command
from swarm.agent import AgentContext
from swarm.models import TestCounts

__all__ = ["ReviewAgent", "audit_diff", "is_test_path", "connected"]

CI_PATHS = re.compile(
    r"^(\.github/|\.gitlab-ci\.yml$|\.gitlab/|\.circleci/|Jenkinsfile$|\.travis\.yml$|azure-pipelines\.yml$|"
    r"\.buildkite/|bitbucket-pipelines\.yml$|\.drone\.yml$)"
)
_TEST_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(")
_ASSERT = re.compile(r"\bassert\w*\b|\bpytest\.raises\b|\bassertRaises\w*\b|\bexpect\(")
_SKIP = re.compile(r"pytest\.mark\.(?:skip|xfail)|unittest\.skip|pytest\.skip\(|\.skipTest\(|expectedFailure")


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (path.startswith(("tests/", "test/")) or "/tests/" in path or "/test/" in path
            or name.startswith("test_") or name.endswith(("_test.py", ".test.js", ".spec.js", "_test.go")))


def audit_diff(name_status: str, numstat: str, patch: str, *, max_lines: int = 200, max_files: int = 10) -> list[str]:
    """Reasons to reject a diff (empty list: nothing wrong). Inputs are `git diff` outputs base..fix."""
    reasons: list[str] = []
    entries = [line.split("\t") for line in name_status.splitlines() if line.strip()]
    if not entries:
        return ["the fix branch has no changes against the base branch"]
    files = [e[-1] for e in entries]
    for status, *paths in entries:
        if status.startswith("D") and is_test_path(paths[0]):
            reasons.append(f"deletes test file {paths[0]}")
        if status.startswith("R") and is_test_path(paths[0]) and not is_test_path(paths[-1]):
            reasons.append(f"moves test file {paths[0]} out of the test suite")
    for path in files:
        if CI_PATHS.match(path):
            reasons.append(f"edits CI/workflow configuration {path}")
    changed = 0
    for row in numstat.splitlines():
        added, removed, *_ = row.split("\t") + ["", ""]
        changed += int(added) if added.isdigit() else 0
        changed += int(removed) if removed.isdigit() else 0
    if changed > max_lines:
        reasons.append(f"the diff is too large: {changed} changed lines (limit {max_lines})")
    if len(files) > max_files:
        reasons.append(f"touches {len(files)} files (limit {max_files})")
    reasons += _test_weakening(patch)
    return reasons


def _test_weakening(patch: str) -> list[str]:
    """Removed test functions, removed or changed assertions and added skips, in test files only."""
    reasons: list[str] = []
    current = ""
    removed: dict[str, list[str]] = {}
    added: dict[str, list[str]] = {}
    for line in patch.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else current
        elif line.startswith("--- "):
            current = line[6:] if line.startswith("--- a/") else ""
        elif line.startswith("-") and not line.startswith("---") and is_test_path(current):
            removed.setdefault(current, []).append(line[1:])
        elif line.startswith("+") and not line.startswith("+++") and is_test_path(current):
            added.setdefault(current, []).append(line[1:])
    for path in sorted(set(removed) | set(added)):
        gone, new = removed.get(path, []), added.get(path, [])
        new_stripped = {n.strip() for n in new}
        defs_gone = {m.group(1) for g in gone if (m := _TEST_DEF.match(g))}
        defs_new = {m.group(1) for n in new if (m := _TEST_DEF.match(n))}
        for name in sorted(defs_gone - defs_new):
            reasons.append(f"deletes test {name} in {path}")
        weakened = [g.strip() for g in gone if _ASSERT.search(g) and g.strip() not in new_stripped]
        if weakened:
            reasons.append(f"removes or weakens assertions in {path}: {weakened[0][:120]!r}"
                           + (f" (+{len(weakened) - 1} more)" if len(weakened) > 1 else ""))
        skips = [n.strip() for n in new if _SKIP.search(n)]
        if skips:
            reasons.append(f"skips tests in {path}: {skips[0][:120]!r}")
    return reasons


def _diff_facts(ws: Workspace, base: str) -> dict[str, str]:
    mb = ws.git("merge-base", base, "HEAD").strip()
    return {
        "merge_base": mb,
        "name_status": ws.git("diff", "--name-status", "-M", mb, "HEAD"),
        "numstat": ws.git("diff", "--numstat", "-M", mb, "HEAD"),
        "patch": ws.git("diff", "--no-color", "-M", mb, "HEAD"),
    }


def connected(root: Path, path: str, on_path: set[str], error: str) -> bool:
    """Whether a file off the failing path is still tied to the error: it defines a function or class the
    error message names (an override `SmsNotifier.render()` in its own module), or a module on the
    failing path imports it (the helper that handed back the bad value)."""
    try:
        text = (root / path).read_text(errors="replace")
    except OSError:
        return False
    named = set(re.findall(r"[A-Za-z_]\w{2,}", error))
    if any(re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(n)}\b", text, re.M) for n in named):
        return True
    if not path.endswith(".py"):
        return False
    module = path[:-3].rsplit("/", 1)[-1]
    for other in on_path:
        try:
            source = (root / other).read_text(errors="replace") if other.endswith(".py") else ""
        except OSError:
            continue
        if re.search(rf"^\s*(?:from\s+[\w.]*\b{re.escape(module)}\s+import|import\s+[\w.]*\b{re.escape(module)}\b)",
                     source, re.M):
            return True
    return False


def _strict_reasons(ws: Workspace, ctx: AgentContext, impl: dict[str, Any], name_status: str) -> list[str]:
    """No existing test file changed; every changed file on the failing path; the repro passes now."""
    reasons: list[str] = []
    entries = [line.split("\t") for line in name_status.splitlines() if line.strip()]
    for status, *paths in entries:
        if is_test_path(paths[0]) and not status.startswith("A"):
            reasons.append(f"changes test file {paths[0]} (the tests of HEAD must stay as they are)")
    on_path = {p for f in parse_traceback(ctx.report.stack) if (p := repo_path(ws.root, f.file))}
    repro = impl.get("repro") if isinstance(impl.get("repro"), dict) else None
    for frame in ((repro or {}).get("trace") or {}).get("frames") or []:
        on_path.add(str(frame.get("path")))
    suspect = impl.get("suspect_commit")
    if suspect:
        res = run_command(["git", "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", str(suspect)],
                          ws.root)
        on_path.update(res.output.split() if res.ok else [])
    if on_path:
        for _, *paths in entries:
            if (not is_test_path(paths[-1]) and paths[-1] not in on_path
                    and not connected(ws.root, paths[-1], on_path, ctx.report.error)):
                reasons.append(f"changes {paths[-1]}, which is neither on the failing path nor in the suspect commit, "
                               "defines nothing the error names and is not imported by the failing path")
    if repro and repro.get("kind") not in (None, "none"):
        made = Repro.from_dict(repro)  # production's values: the call must run through, not fail further on
        outcome = run_repro(ws.root, made, strict=made.kind == "built" and not made.synthetic)
        if outcome != "good":
            what = "still raises the reported error" if outcome == "bad" else "does not pass (another failure)"
            reasons.append(f"the repro {repro.get('target') or repro.get('command')} {what} on the fix branch")
    return reasons


async def _suite_at_base(ctx: AgentContext, base_commit: str, test_command: str, timeout_s: float) -> TestCounts:
    """The suite on the commit the fix branch starts from: what was red before the fix."""
    base = await open_workspace(ctx, mode="review", ref=base_commit)
    try:
        return await asyncio.to_thread(
            Toolbox(base, role="review", test_command=test_command, tests_timeout_s=timeout_s).run_tests)
    finally:
        await close_workspace(base)


class ReviewAgent:
    role = "review"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    async def handle(self, ctx: AgentContext) -> dict[str, Any]:
        impl = ctx.implementation or {}
        target = impl.get("fix_commit") or impl.get("branch")
        if not target:
            out = {"verdict": "request_changes", "reasons": ["there is no fix branch to review"],
                   "feedback": impl.get("reason") or "no fix was written", "tests": None}
            await self._audit(ctx, "", out, {})
            return out
        repo = repository_of(ctx)
        ws = await open_workspace(ctx, mode="review", ref=str(target))
        try:
            tools = Toolbox(ws, role="review", test_command=repo["test_command"],
                            tests_timeout_s=float(self.options.get("tests_timeout_s", 600)))
            tests = await asyncio.to_thread(tools.run_tests)
            facts = await asyncio.to_thread(_diff_facts, ws, ws.base_commit)
            reasons = audit_diff(facts["name_status"], facts["numstat"], facts["patch"],
                                 max_lines=int(self.options.get("max_diff_lines", 200)),
                                 max_files=int(self.options.get("max_files", 10)))
            red_before: TestCounts | None = None
            if not tests.ok:
                red_before = await _suite_at_base(ctx, ws.base_commit, repo["test_command"], tools.tests_timeout_s)
                if not holds(red_before, tests):
                    new = new_failures(red_before, tests)
                    reasons.insert(0, f"tests fail on the fix branch: {tests.passed} passed, {tests.failed} failed, "
                                   f"{tests.errors} errors" + (f"; failing newly: {', '.join(new[:5])}" if new else ""))
            reasons += await asyncio.to_thread(_strict_reasons, ws, ctx, impl, facts["name_status"])
            at_base = red_before.failing if not tests.ok and red_before is not None else []
            opinion = await select_brain(self.options).review(
                ctx, ws, tools, {**facts, "tests": tests.model_dump(), "reasons": list(reasons),
                                 "failing_at_base": at_base})
        finally:
            await close_workspace(ws)
        if opinion.get("verdict") == "request_changes":
            reasons += [f"reviewer: {r}" for r in opinion.get("reasons") or ["requested changes"]]
        verdict = "approve" if not reasons else "request_changes"
        feedback = ("; ".join(reasons) if reasons else "approved: tests pass and the diff is clean" if tests.ok
                    else f"approved: the diff is clean and no test fails that passes on {ws.base_commit[:10]} "
                    f"(failing there too: {', '.join(tests.failing[:5])})")
        out = {"verdict": verdict, "reasons": reasons, "feedback": feedback, "tests": tests.model_dump(),
               "files": [line.split("\t")[-1] for line in facts["name_status"].splitlines() if line.strip()]}
        await self._audit(ctx, str(impl.get("branch") or target), out, facts)
        await say(ctx, "review", f"{verdict}: {feedback[:300]}")
        return out

    @staticmethod
    async def _audit(ctx: AgentContext, target: str, out: dict[str, Any], facts: dict[str, str]) -> None:
        if ctx.events is None:
            return
        tests = out.get("tests") or {}
        await ctx.events.audit(
            "review",
            target,
            out["verdict"],
            {
                "investigation_id": ctx.investigation_id,
                "reasons": out["reasons"],
                "files": out.get("files", []),
                "tests": {k: tests.get(k) for k in ("passed", "failed", "errors", "ok")} if tests else None,
                "merge_base": facts.get("merge_base"),
            },
        )
