"""Pull requests on GitHub and merge requests on GitLab, over their REST APIs (httpx).

    provider = provider_for(repository)          # from `repositories.<service>` (provider, repo, base, ...)
    pr = await provider.open_pull_request(PullRequestDraft(head="swarm/fix/inv-1", title=..., body=..., labels=[...]))
    pr.url, pr.number
    await provider.pull_request_state(pr.number)  # "open" | "merged" | "closed" (closed without merge)

Opening is idempotent: an open pull request from the same branch into the same base is found first and
returned (a report redelivered after its pull request was opened does not open a second one).
GitHub: `GET /repos/{owner}/{repo}/pulls?head=owner:branch&base=..&state=open` (pulls/list), else
`POST /repos/{owner}/{repo}/pulls` (pulls/create); the labels with
`POST /repos/{owner}/{repo}/issues/{number}/labels` (issues/add-labels, idempotent); the state with
`GET /repos/{owner}/{repo}/pulls/{number}` (pulls/get). GitLab: `GET /api/v4/projects/{id}/merge_requests
?source_branch=..&target_branch=..&state=opened`, else `POST` there (labels in the same request); the
state with `GET /api/v4/projects/{id}/merge_requests/{iid}`. The token comes from the
environment (`token_env`, default GITHUB_TOKEN / GITLAB_TOKEN). HTTP failures are mapped at this
boundary: 5xx, 429 and connection errors are a TransientError, anything else DeliveryFailed naming
the provider's answer.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx

from swarm.errors import ConfigError, DeliveryFailed, TransientError

__all__ = ["PullRequest", "PullRequestDraft", "PullState", "Provider", "GitHub", "GitLab", "provider_for",
           "token_env_vars", "missing_tokens"]

DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com"}
DEFAULT_TOKEN_ENV = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PullRequestDraft:
    head: str  # the fix branch, already pushed
    title: str
    body: str
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PullRequest:
    url: str
    number: int
    provider: str


PullState = Literal["open", "merged", "closed"]


class Provider(Protocol):
    name: str

    async def open_pull_request(self, draft: PullRequestDraft) -> PullRequest: ...

    async def pull_request_state(self, number: int) -> PullState: ...


class _Rest(ABC):
    """REST over httpx: the providers differ in headers and paths only."""

    name = ""

    def __init__(self, repo: str, base: str, token: str, api_url: str, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.repo, self.base, self.token = repo, base, token
        self.api_url = api_url.rstrip("/")
        self.transport = transport

    @abstractmethod
    def _headers(self) -> dict[str, str]:
        """The provider's authentication and API-version headers."""

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
        return await self._send(client, "POST", path, json=body)

    async def _get(self, client: httpx.AsyncClient, path: str, **params: str) -> Any:
        return await self._send(client, "GET", path, params=params)

    async def _send(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.name} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"{self.name} {path}: HTTP {response.status_code}: {response.text[:300]}")
        if response.status_code >= 400:
            raise DeliveryFailed(f"{self.name} refused {path}: HTTP {response.status_code}: {response.text[:500]}")
        try:
            return response.json()
        except ValueError as exc:
            raise DeliveryFailed(f"{self.name} {path}: not JSON (HTTP {response.status_code})") from exc

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_url, headers=self._headers(), timeout=TIMEOUT_S,
                                 transport=self.transport)


class GitHub(_Rest):
    name = "github"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28"}

    def _prefix(self) -> str:
        owner, _, name = self.repo.partition("/")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    async def open_pull_request(self, draft: PullRequestDraft) -> PullRequest:
        prefix, owner = self._prefix(), self.repo.partition("/")[0]
        async with self._client() as client:
            found = await self._get(client, f"{prefix}/pulls", head=f"{owner}:{draft.head}", base=self.base,
                                    state="open")
            pr = found[0] if found else await self._post(client, f"{prefix}/pulls", {
                "title": draft.title, "head": draft.head, "base": self.base, "body": draft.body,
                "maintainer_can_modify": True,
            })
            number = int(pr["number"])
            if draft.labels:
                await self._post(client, f"{prefix}/issues/{number}/labels", {"labels": list(draft.labels)})
        return PullRequest(url=str(pr["html_url"]), number=number, provider=self.name)

    async def pull_request_state(self, number: int) -> PullState:
        async with self._client() as client:
            pr = await self._get(client, f"{self._prefix()}/pulls/{int(number)}")
        if pr.get("merged") or pr.get("merged_at"):
            return "merged"
        return "open" if pr.get("state") == "open" else "closed"


class GitLab(_Rest):
    name = "gitlab"

    def _headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token}

    def _prefix(self) -> str:
        return f"/api/v4/projects/{quote(self.repo, safe='')}"  # "group/project" is one path segment

    async def open_pull_request(self, draft: PullRequestDraft) -> PullRequest:
        path = f"{self._prefix()}/merge_requests"
        async with self._client() as client:
            found = await self._get(client, path, source_branch=draft.head, target_branch=self.base, state="opened")
            mr = found[0] if found else await self._post(client, path, {
                "title": draft.title, "source_branch": draft.head, "target_branch": self.base,
                "description": draft.body, "labels": list(draft.labels), "remove_source_branch": True,
            })
        return PullRequest(url=str(mr["web_url"]), number=int(mr["iid"]), provider=self.name)

    async def pull_request_state(self, number: int) -> PullState:
        async with self._client() as client:
            mr = await self._get(client, f"{self._prefix()}/merge_requests/{int(number)}")
        state = mr.get("state")
        return "merged" if state == "merged" else "open" if state in ("opened", "locked") else "closed"


def provider_for(repository: dict[str, Any], transport: httpx.AsyncBaseTransport | None = None) -> Provider | None:
    """The provider a repository is configured with (None: no pull request, the branch is the fix)."""
    kind = repository.get("provider")
    if not kind:
        return None
    if kind not in DEFAULT_API:
        raise ConfigError(f"unknown provider {kind!r}: expected github or gitlab")
    token_env = repository.get("token_env") or DEFAULT_TOKEN_ENV[kind]
    token = os.environ.get(token_env)
    if not token:
        raise ConfigError(f"{kind} pull requests need a token: set {token_env}")
    cls = GitHub if kind == "github" else GitLab
    base = str(repository.get("base") or repository.get("branch") or "main")
    return cls(str(repository["repo"]), base, token, str(repository.get("api_url") or DEFAULT_API[kind]), transport)


def _token_names(repositories: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(service, environment variable) of each provider token the configured repositories need."""
    out = []
    for service, repo in repositories.items():
        data = repo.model_dump() if hasattr(repo, "model_dump") else dict(repo)
        if data.get("provider"):
            name = data.get("token_env") or DEFAULT_TOKEN_ENV.get(str(data["provider"]), "")
            if name:
                out.append((service, name))
    return out


def missing_tokens(repositories: Mapping[str, Any]) -> list[str]:
    """'VAR (repositories.<service>)' for each provider token this environment lacks."""
    return [f"{name} (repositories.{service})" for service, name in _token_names(repositories)
            if not os.environ.get(name)]


def token_env_vars(repositories: Mapping[str, Any]) -> dict[str, str]:
    """The provider tokens the configured repositories name, from this (the driver's) environment:
    the orchestrator actors that open the pull requests get them (Ray `runtime_env`)."""
    return {name: os.environ[name] for _, name in _token_names(repositories) if os.environ.get(name)}
