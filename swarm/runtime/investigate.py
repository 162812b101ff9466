"""One investigation through the same machinery as `swarm run`: `swarm investigate`.

    done = await investigate_once(settings, config, Path("repo"), report, test_command="pytest -q")
    done.result.status, done.result.suspect_commit, done.result.branch
    done.review            # {"verdict": "approve", "reasons": [...], ...} of its last cycle, or None

The report's service is mapped to the repository, the swarm runs until its queues are empty, and
the Result is read back from the RESULTS stream (a signature investigated before in this namespace
returns that investigation's Result). A report the injection filter rejects comes back with status
`rejected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarm.bus.connect import Bus, open_bus
from swarm.bus.settings import Settings
from swarm.config import RepositoryConfig, SwarmConfig
from swarm.errors import ConfigError, InvalidInput, TransientError
from swarm.models import ErrorReport, Result
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.fixview import review_of
from swarm.runtime.grouping import SignatureIndex, investigation_id_for
from swarm.workspaces import discard_worktrees

__all__ = ["Investigated", "Interrupted", "investigate_once", "fetch_result", "repository_for", "default_test_command"]


class Interrupted(Exception):
    """The investigation was stopped (`stop` set: Ctrl-C or SIGTERM) before its Result: nothing was committed,
    its worktrees were removed."""

    def __init__(self, investigation_id: str, removed: int) -> None:
        self.investigation_id, self.removed = investigation_id, removed
        super().__init__(f"interrupted: the investigation {investigation_id} was stopped before its Result; nothing "
                         f"was committed, and its {removed} worktree(s) were removed")


@dataclass(frozen=True)
class Investigated:
    """What `swarm investigate` prints: the Result, and the reviewer's verdict on the last cycle's fix."""

    result: Result
    review: dict[str, Any] | None = None
    earlier: bool = False  # the report was a duplicate of an error investigated before: that investigation's Result


def repository_for(repo: Path, test_command: str | None, config: SwarmConfig, service: str) -> RepositoryConfig:
    if not repo.exists():
        raise InvalidInput(f"--repo {repo}: no such directory")
    if not (repo / ".git").exists():
        raise InvalidInput(f"--repo {repo}: not a git repository (no .git)")
    branch = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not branch or branch == "HEAD":
        raise InvalidInput(f"--repo {repo}: HEAD is detached; check out the branch the error came from")
    known = config.repositories.get(service)
    command = test_command or (known.test_command if known else None) or default_test_command(repo)
    if not command:
        raise ConfigError(f"--repo {repo}: no pytest tests found at its root or in one top-level directory, and "
                          f"no test command configured for service {service!r}: pass --test-command")
    return RepositoryConfig(path=str(repo.resolve()), branch=branch, test_command=command)


_PYTEST_FILES = ("pytest.ini", "conftest.py", "tox.ini", "setup.cfg")


def default_test_command(repo: Path) -> str | None:
    """`python -m pytest -q` where the repository's tests are (pytest's configuration or test files at its
    root, else in exactly one top-level directory: `cd service && python -m pytest -q`), or None."""

    def has_tests(where: Path) -> bool:
        if any((where / name).is_file() for name in _PYTEST_FILES):
            return True
        pyproject = where / "pyproject.toml"
        if pyproject.is_file() and "[tool.pytest" in pyproject.read_text(errors="replace"):
            return True
        return any(where.glob("test_*.py")) or any(where.glob("tests/**/test_*.py")) or \
            any(where.glob("test/**/test_*.py"))

    if has_tests(repo):
        return "python -m pytest -q"
    subdirs = [d for d in sorted(repo.iterdir()) if d.is_dir() and not d.name.startswith((".", "_"))]
    found = [d for d in subdirs if has_tests(d)]
    return f"cd {shlex.quote(found[0].name)} && python -m pytest -q" if len(found) == 1 else None


async def fetch_result(bus: Bus, investigation_id: str, timeout_s: float = 5.0) -> Result | None:
    sub = await bus.js.subscribe(bus.names.result_of(investigation_id), ordered_consumer=True)
    try:
        msg = await sub.next_msg(timeout=timeout_s)
        return Result.model_validate_json(msg.data)
    except TimeoutError:
        return None
    finally:
        await sub.unsubscribe()


async def last_dead_letter(bus: Bus) -> str | None:
    """The reason of the newest dead letter of the namespace (what a user needs when no Result came)."""
    try:
        msg = await bus.js.get_last_msg(bus.names.stream("dead_letters"), bus.names.dead_all())
    except Exception:  # noqa: BLE001 - no dead letter, or no stream: nothing to add
        return None
    try:
        return str(json.loads(msg.data).get("reason"))
    except ValueError:
        return None


async def investigate_once(
    settings: Settings,
    config: SwarmConfig,
    repo: Path,
    report: ErrorReport,
    test_command: str | None = None,
    *,
    address: str | None = None,
    timeout_s: float | None = 1800.0,
    stop: asyncio.Event | None = None,
    started: Callable[[], None] | None = None,
) -> Investigated:
    """The investigation's Result; `stop`, once set, ends it early (Interrupted); `started` is called once the
    swarm runs (`ray.init` replaces signal handlers: the caller puts its own back)."""
    repository = repository_for(repo, test_command, config, report.service)
    config = config.model_copy(
        update={
            "repositories": {**config.repositories, report.service: repository},
            "intake": config.intake.model_copy(update={"actors": 1}),
            "autoscale": config.autoscale.model_copy(update={"enabled": False}),
        }
    )
    runtime = SwarmRuntime(settings, config, address=address)
    await runtime.start()
    if started is not None:
        started()
    stopped = False
    try:
        # under SWARM_NATS_AUTH each side with its own role: the report as a reporter, the Result as an operator
        async with open_bus(settings, role="reporter") as reporter:
            await publish_report(reporter, report)
        try:
            counters = await _until_empty_or_stopped(runtime, timeout_s, stop)
        except TimeoutError as exc:
            raise TransientError(f"the investigation did not finish in time: {exc}") from exc
        if counters is None:
            stopped = True
            raise Interrupted(await _stopped_id(settings, report), 0)
        async with open_bus(settings, role="operator") as operator:
            inv = await _opened_id(operator, report)
            result = await fetch_result(operator, inv)
            reason = None if result is not None else await last_dead_letter(operator)
            review = await review_of(operator, inv) if result is not None else None
        if result is not None:
            # no investigation opened: a duplicate of an earlier one (or a copy JetStream's dedup window dropped);
            # a report the injection filter rejected opened none either, and was never investigated before
            earlier = counters["investigations"] == 0 and not counters["rejected"] and result.status != "rejected"
            return Investigated(result, review, earlier=earlier)
        if counters["rejected"]:
            return Investigated(Result(
                investigation_id=inv,
                signature=report.signature,
                status="rejected",
                service=report.service,
                environment=report.environment,
                error="rejected by the prompt-injection filter (see the security.rejected stream)",
            ))
        raise ConfigError(f"no Result for {inv} (counters: {counters})"
                          + (f"; dead-lettered: {reason}" if reason else "; see the dead letters stream"))
    except Interrupted as exc:
        await runtime.stop()
        removed = await asyncio.to_thread(discard_worktrees, config.workspace_root, exc.investigation_id,
                                          config.fix_scope(settings.nats_namespace.lower()))
        raise Interrupted(exc.investigation_id, len(removed)) from None
    finally:
        if not stopped:
            await runtime.stop()


async def _opened_id(bus: Bus, report: ErrorReport) -> str:
    """The id of the investigation the report opened (a reopened one is `-<n>`), as the signature index has it."""
    entry = await (await SignatureIndex(bus.js, bus.names).open()).get(report.signature)
    return str(entry["investigation_id"]) if entry else investigation_id_for(report.signature)


async def _stopped_id(settings: Settings, report: ErrorReport) -> str:
    """`_opened_id` for an interrupted run, best effort (the run may have stopped before the index was written)."""
    with contextlib.suppress(Exception):
        async with open_bus(settings, role="operator") as operator:
            return await _opened_id(operator, report)
    return investigation_id_for(report.signature)


async def _until_empty_or_stopped(runtime: SwarmRuntime, timeout_s: float | None,
                                  stop: asyncio.Event | None) -> dict[str, int] | None:
    """The counters once the queues are empty; None when `stop` was set first (the work in flight is handed
    back at once and the actors stop: an agent's phase can take minutes)."""
    if stop is None:
        return await runtime.until_empty(timeout_s=timeout_s)
    waiter = asyncio.create_task(runtime.until_empty(timeout_s=timeout_s))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if waiter in done:
        return waiter.result()
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await waiter
    with contextlib.suppress(Exception):
        await runtime.drain(grace_s=0)
    return None
