"""Following proposed fixes: a merged pull request makes its signature's entry `fixed`, one closed
without merge `no_fix` (swarm.runtime.lifecycle draws the whole lifecycle).

    follower = PullRequestFollower(index, cfg.repositories, blood)
    report = await follower.follow_once()   # FollowReport: checked, settled [...], errors [...]

The swarm runs a pass every `lifecycle.follow_interval_s` (default 300 s) while some repository names a
`provider`; `swarm fixes follow` runs one (from CI or cron). Each settlement is a compare-and-set on the
entry and a domain event, `fix_merged` or `fix_closed`. A provider that cannot be asked (no token, HTTP
error) leaves the entry `proposed`, named in `errors`: the next pass asks again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from swarm.delivery.providers import Provider, provider_for
from swarm.errors import DeliveryFailed, SwarmError
from swarm.runtime.grouping import SignatureIndex

__all__ = ["PullRequestFollower", "FollowReport"]

log = logging.getLogger(__name__)


class _Events(Protocol):
    async def event(self, event_type: str, data: dict[str, Any] | None = None,
                    investigation_id: str | None = None) -> bool: ...


@dataclass
class FollowReport:
    checked: int = 0  # proposed entries whose pull request was asked for
    settled: list[dict[str, Any]] = field(default_factory=list)  # entries that became fixed / no_fix
    errors: list[dict[str, Any]] = field(default_factory=list)  # entries whose provider could not be asked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PullRequestFollower:
    def __init__(self, index: SignatureIndex, repositories: Mapping[str, Any], events: _Events | None = None,
                 providers: Callable[[dict[str, Any]], Provider | None] = provider_for) -> None:
        self.index, self.events, self.providers = index, events, providers
        self.repositories = {k: (v.model_dump() if hasattr(v, "model_dump") else dict(v))
                             for k, v in repositories.items()}

    async def follow_once(self) -> FollowReport:
        report = FollowReport()
        for entry in await self.index.entries():
            if entry.get("status") != "proposed":
                continue
            pull = entry.get("pull_request") or {}
            where = {"signature": entry.get("signature"), "investigation_id": entry.get("investigation_id"),
                     "service": entry.get("service"), "pull_request": pull.get("url")}
            try:
                state = await self._state(entry, pull)
            except SwarmError as exc:  # no token, a refused or failed request: asked again next pass
                report.errors.append({**where, "error": str(exc)})
                log.warning("pull request %s of %s: %s", pull.get("url"), entry.get("investigation_id"), exc)
                continue
            report.checked += 1
            if state == "open":
                continue
            await self.index.settle_pull(str(entry["signature"]), str(entry["investigation_id"]), state)
            status = "fixed" if state == "merged" else "no_fix"
            report.settled.append({**where, "state": state, "status": status})
            if self.events is not None:
                await self.events.event("fix_merged" if state == "merged" else "fix_closed",
                                        {**where, "status": status}, investigation_id=where["investigation_id"])
        return report

    def start(self, interval_s: float) -> asyncio.Task[None]:
        """A pass every `interval_s` until the task is cancelled."""
        return asyncio.create_task(self._every(interval_s), name="follow-pull-requests")

    async def _every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.follow_once()
            except Exception as exc:  # one bad pass (NATS away) must not stop the loop
                log.warning("pull-request follow pass failed: %s", exc)

    async def _state(self, entry: dict[str, Any], pull: dict[str, Any]) -> str:
        service = str(entry.get("service"))
        repository = self.repositories.get(service)
        if repository is None:
            raise DeliveryFailed(f"service {service!r} has no repository in the config: cannot ask its pull request")
        provider = self.providers(repository)
        if provider is None:
            raise DeliveryFailed(f"repository of {service!r} names no provider")
        if not pull.get("number"):
            raise DeliveryFailed(f"no pull request number in {pull.get('url')!r}")
        return await provider.pull_request_state(int(pull["number"]))
