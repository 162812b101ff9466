"""From a fixed investigation to a pushed branch and a pull request, through the approval gate.

    if delivers(repository):
        result = await deliver(result, repository, gate, workspace_root=cfg.workspace_root)

When a repository names a `provider` or an approval gate, the swarm (not the implement agent) pushes
the fix branch: agents see the repository without its `remote` (`for_agents`). Then

    approve_push:  decision -> push -> pull request
    approve_pr:    push -> decision -> pull request
    auto:          push -> pull request

A rejection (or a timeout) leaves the fix on its local branch and the Result says `no_fix` with the
decision; a refused push or pull request (or a missing token) makes it `failed` with the reason in
`error` (the fix stays on its local branch: nothing was delivered, so the signature's entry must not say
fixed; a deploy or new evidence reopens it). A transient failure (5xx, 429, connection) is retried with
the report. The pull request's body
is the Result as markdown, with the investigation id and labels.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx

from swarm.agent import Cancelled
from swarm.delivery.approval import GATES, ApprovalGate
from swarm.delivery.providers import PullRequestDraft, provider_for
from swarm.errors import DeliveryFailed, SwarmError, TransientError
from swarm.models import Result

__all__ = ["delivers", "for_agents", "deliver", "result_markdown", "draft_for", "push_branch"]


def delivers(repository: dict[str, Any] | None) -> bool:
    """The swarm pushes and opens the pull request (not the implement agent)."""
    return bool(repository) and bool(repository.get("provider") or repository.get("approval", "auto") != "auto")


DELIVERY_FIELDS = ("provider", "repo", "base", "labels", "token_env", "api_url", "approval", "approval_timeout_s")


def for_agents(repository: dict[str, Any] | None) -> dict[str, Any] | None:
    """What agents see when the swarm delivers: the repository without its remote (nothing is pushed
    before the gate) and without the delivery settings (a repository with a provider or a gate but no
    remote is not valid: the agents validate what they get)."""
    if not delivers(repository):
        return repository
    assert repository is not None
    return {k: v for k, v in repository.items() if k not in DELIVERY_FIELDS} | {"remote": None}


def _source(repository: dict[str, Any], workspace_root: str) -> Path:
    """The repository the fix branch was committed in: `path`, or the clone of `url` that the
    workspaces are added from (agents/workspace.py: `<workspace_root>/_clones/<sha1(url)[:16]>`)."""
    if repository.get("path"):
        return Path(str(repository["path"])).expanduser().resolve()
    digest = hashlib.sha1(str(repository["url"]).encode()).hexdigest()[:16]
    return Path(workspace_root).expanduser().resolve() / "_clones" / digest


async def push_branch(source: Path, remote: str, branch: str, timeout_s: float = 300.0) -> None:
    proc = await asyncio.create_subprocess_exec(
        "git", "-C", str(source), "push", "--force", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError as exc:
        proc.kill()
        raise TransientError(f"git push of {branch} to {remote} did not finish in {timeout_s:g}s") from exc
    if proc.returncode != 0:
        raise DeliveryFailed(f"git push of {branch} to {remote} failed: {err.decode(errors='replace').strip()}")


def result_markdown(result: Result) -> str:
    """The Result as the pull request's body."""
    lines = [f"Automated fix by swarm for investigation `{result.investigation_id}`.", ""]
    if result.regression and result.previous_investigation_id:
        lines += [f"**Regression**: this error was fixed before in `{result.previous_investigation_id}`.", ""]
    if result.root_cause:
        lines += ["### Root cause", "", result.root_cause, ""]
    if result.summary:
        lines += ["### Summary", "", result.summary, ""]
    if result.suspect_commit:
        how = f" ({result.suspect_method})" if result.suspect_method else ""
        lines += [f"**Suspect commit**: `{result.suspect_commit}`{how}", ""]
    if result.repro and result.repro.kind != "none":
        lines += ["### Reproduction", "", f"`{result.repro.command}` ({result.repro.kind})", ""]
    if result.regression_test:
        lines += [f"**Regression test**: `{result.regression_test}` (fails without the fix, passes with it)", ""]
    for name, counts in (("before", result.tests_before), ("after", result.tests_after)):
        if counts is not None:
            lines.append(f"- tests {name} the fix: {counts.passed} passed, {counts.failed} failed, "
                         f"{counts.errors} errors")
    lines += ["", "| | |", "|---|---|", f"| investigation | `{result.investigation_id}` |",
              f"| signature | `{result.signature[:16]}` |", f"| service | {result.service} ({result.environment}) |",
              f"| occurrences | {result.occurrences} |", f"| fix commit | `{result.fix_commit or '-'}` |",
              f"| cycles | {result.cycles} |"]
    if result.release:
        lines.append(f"| release | {result.release} |")
    return "\n".join(lines) + "\n"


def draft_for(result: Result, error: str, labels: list[str]) -> PullRequestDraft:
    first = (error.strip().splitlines() or ["error"])[0]
    title = f"swarm: fix {first[:80]}" + ("…" if len(first) > 80 else "")
    wanted = list(dict.fromkeys([*labels, *(["regression"] if result.regression else [])]))
    return PullRequestDraft(head=str(result.branch), title=title, body=result_markdown(result), labels=wanted)


async def deliver(result: Result, repository: dict[str, Any], gate: ApprovalGate, *, error: str,
                  workspace_root: str, transport: httpx.AsyncBaseTransport | None = None) -> Result:
    """Push the fix branch and open its pull request, behind the repository's approval gate."""
    if result.status != "fixed" or not result.branch:
        return result
    waits = GATES.get(str(repository.get("approval", "auto")))
    remote, branch = str(repository["remote"]), result.branch
    update: dict[str, Any] = {}
    try:
        if waits == "push":
            decision = await gate.ask("push", target=f"{remote} {branch}", details={"branch": branch})
            if not decision.approved:
                return result.model_copy(update={"status": "no_fix", "approval": decision.describe(),
                                                 "error": f"the fix was not delivered: {decision.describe()}"})
            update["approval"] = decision.describe()
        await push_branch(_source(repository, workspace_root), remote, branch)
        update["pushed_to"] = f"{remote} {branch}"
        if waits == "pr":
            decision = await gate.ask("pr", target=f"{repository.get('repo') or remote} {branch}",
                                      details={"branch": branch})
            if not decision.approved:
                return result.model_copy(update={"status": "no_fix", "approval": decision.describe(),
                                                 "error": f"the pull request was not opened: {decision.describe()}"})
            update["approval"] = decision.describe()
        provider = provider_for(repository, transport)
        if provider is not None:
            pr = await provider.open_pull_request(draft_for(result, error, list(repository.get("labels") or [])))
            update["pr_url"] = pr.url
    except Cancelled as exc:  # cancelled while a gate waited: nothing more leaves; a branch pushed before stays said
        return result.model_copy(update={**update, "status": "failed", "approval": None,
                                         "error": f"cancelled: {exc}"})
    except TransientError:
        raise  # the report is redelivered; the gate and the push are idempotent
    except SwarmError as exc:  # refused push or pull request, missing token: the fix stays on its branch
        update.update(status="failed", error=f"the fix was not delivered: {exc}")
    return result.model_copy(update=update)
