"""GitHub and GitLab providers against loopback servers that validate every request against the
providers' published API descriptions (tests/data/provider_api.json); no Ray, no NATS needed."""

from __future__ import annotations

import httpx
import pytest

from swarm.delivery.deliver import draft_for, result_markdown
from swarm.delivery.providers import GitHub, GitLab, PullRequestDraft, provider_for, token_env_vars
from swarm.errors import ConfigError, DeliveryFailed
from swarm.models import Result, TestCounts
from tests.support.providers import DESCRIPTIONS, ProviderServer

DRAFT = PullRequestDraft(head="swarm/fix/inv-1", title="swarm: fix KeyError", body="## body", labels=["swarm", "bug"])


def test_the_vendored_descriptions_name_their_source_and_licence() -> None:
    for provider in ("github", "gitlab"):
        assert DESCRIPTIONS[provider]["source"] and DESCRIPTIONS[provider]["licence"]
    assert set(DESCRIPTIONS["github"]["operations"]) == {"pulls/create", "issues/add-labels", "pulls/list",
                                                         "pulls/get"}
    assert set(DESCRIPTIONS["gitlab"]["operations"]) == {"postApiV4ProjectsIdMergeRequests",
                                                         "getApiV4ProjectsIdMergeRequests",
                                                         "getApiV4ProjectsIdMergeRequestsMergeRequestIid"}


async def test_github_pull_request_with_labels_matches_the_description() -> None:
    with ProviderServer("github") as gh:
        pr = await GitHub("acme/shop", "main", gh.token, gh.url).open_pull_request(DRAFT)
    assert gh.violations == []
    assert pr.url == "https://github.com/acme/shop/pull/1" and pr.number == 1
    (listed, q_params, _), (create, c_params, c_body), (labels, l_params, l_body) = gh.requests
    assert (listed, q_params) == ("pulls/list", {"owner": "acme", "repo": "shop", "head": "acme:swarm/fix/inv-1",
                                                 "base": "main", "state": "open"})
    assert (create, c_params) == ("pulls/create", {"owner": "acme", "repo": "shop"})
    assert c_body["head"] == "swarm/fix/inv-1" and c_body["base"] == "main" and c_body["body"] == "## body"
    assert (labels, l_params["issue_number"], l_body) == ("issues/add-labels", "1", {"labels": ["swarm", "bug"]})


async def test_gitlab_merge_request_matches_the_description() -> None:
    with ProviderServer("gitlab") as gl:
        mr = await GitLab("acme/backend/shop", "develop", gl.token, gl.url).open_pull_request(DRAFT)
    assert gl.violations == []
    assert mr.url == "https://gitlab.com/acme/backend/shop/-/merge_requests/1"
    (listed, q_params, _), (op, params, body) = gl.requests
    assert (listed, q_params) == ("getApiV4ProjectsIdMergeRequests", {
        "id": "acme/backend/shop", "source_branch": "swarm/fix/inv-1", "target_branch": "develop", "state": "opened"})
    assert op == "postApiV4ProjectsIdMergeRequests" and params == {"id": "acme/backend/shop"}
    assert (body["source_branch"], body["target_branch"], body["labels"]) == ("swarm/fix/inv-1", "develop",
                                                                              ["swarm", "bug"])
    assert body["description"] == "## body"


@pytest.mark.parametrize(("provider", "path", "body", "problem"), [
    ("github", "/repos/acme/shop/pulls", {"title": "t", "head": "b"}, "'base' is a required property"),
    ("github", "/repos/acme/shop/pulls", {"titel": "t", "head": "b", "base": "main"}, "'titel' was unexpected"),
    ("github", "/repos/acme/shop/pulls", {"title": "t", "head": "b", "base": "main", "draft": "yes"},
     "'yes' is not of type 'boolean'"),
    ("github", "/repos/acme/shop/issues/1/labels", {"labels": "swarm"}, "labels"),
    ("github", "/repos/acme/shop/pull", {"title": "t", "head": "b", "base": "main"}, "no such operation"),
    ("gitlab", "/api/v4/projects/acme%2Fshop/merge_requests", {"title": "t", "source_branch": "b"},
     "'target_branch' is a required property"),
    ("gitlab", "/api/v4/projects/acme%2Fshop/merge_requests",
     {"title": "t", "source_branch": "b", "target_branch": "main", "labels": "swarm,bug"},
     "'swarm,bug' is not of type 'array'"),
    ("gitlab", "/api/v4/projects/acme%2Fshop/merge_requests",
     {"title": "t", "source_branch": "b", "target_branch": "main", "body": "the field is description"},
     "'body' was unexpected"),
])
def test_a_request_that_violates_the_description_is_refused(provider: str, path: str, body: dict,
                                                            problem: str) -> None:
    with ProviderServer(provider) as server:
        headers = ({"Authorization": f"Bearer {server.token}", "Accept": "application/vnd.github+json"}
                   if provider == "github" else {"PRIVATE-TOKEN": server.token})
        response = httpx.post(server.url + path, json=body, headers=headers)
    assert response.status_code == 422
    assert len(server.violations) == 1 and problem in server.violations[0], server.violations
    assert server.requests == []


async def test_a_refused_request_is_a_delivery_failure_naming_the_answer() -> None:
    with ProviderServer("github", token="right") as gh, pytest.raises(DeliveryFailed, match="HTTP 422.*bearer token"):
        await GitHub("acme/shop", "main", "wrong", gh.url).open_pull_request(DRAFT)
    assert len(gh.violations) == 1


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = {"provider": "gitlab", "repo": "acme/shop", "branch": "main", "token_env": "SHOP_GITLAB_TOKEN"}
    monkeypatch.delenv("SHOP_GITLAB_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="SHOP_GITLAB_TOKEN"):
        provider_for(repo)
    monkeypatch.setenv("SHOP_GITLAB_TOKEN", "s3cret")
    provider = provider_for(repo)
    assert isinstance(provider, GitLab) and provider.token == "s3cret" and provider.base == "main"
    assert token_env_vars({"shop": repo, "other": {"path": "."}}) == {"SHOP_GITLAB_TOKEN": "s3cret"}
    assert provider_for({"path": "."}) is None


def test_the_body_is_the_result_as_markdown_with_the_investigation() -> None:
    result = Result(investigation_id="inv-abc-2", signature="ab" * 32, status="fixed", service="shop",
                    root_cause="the coupon map has no default", summary="use .get", fix_commit="f" * 40,
                    tests_after=TestCounts(passed=3, ok=True), regression=True,
                    previous_investigation_id="inv-abc", branch="swarm/fix/inv-abc-2", release="1.2")
    body = result_markdown(result)
    assert "`inv-abc-2`" in body and "the coupon map has no default" in body and "`inv-abc`" in body
    assert "3 passed, 0 failed" in body and "| release | 1.2 |" in body
    assert "Regression test" not in body
    assert "**Regression test**: `tests/test_swarm_x_1.py`" in result_markdown(
        result.model_copy(update={"regression_test": "tests/test_swarm_x_1.py"}))
    draft = draft_for(result, "KeyError: 'coupon'\nmore", ["swarm"])
    assert draft.title == "swarm: fix KeyError: 'coupon'" and draft.labels == ["swarm", "regression"]
    assert draft.head == "swarm/fix/inv-abc-2"


@pytest.mark.parametrize("provider", ["github", "gitlab"])
async def test_opening_again_finds_the_open_pull_request_instead_of_a_second_one(provider: str) -> None:
    cls = GitHub if provider == "github" else GitLab
    with ProviderServer(provider) as server:
        first = await cls("acme/shop", "main", server.token, server.url).open_pull_request(DRAFT)
        again = await cls("acme/shop", "main", server.token, server.url).open_pull_request(DRAFT)
        other = await cls("acme/shop", "main", server.token, server.url).open_pull_request(
            PullRequestDraft(head="swarm/fix/inv-2", title="t", body="b"))
        server.settle(first.number, merged=False)  # closed: a later delivery opens a new one
        after_close = await cls("acme/shop", "main", server.token, server.url).open_pull_request(DRAFT)
    assert server.violations == []
    assert again == first and other.number != first.number
    assert after_close.number not in (first.number, other.number)
    assert len(server.pulls) == 3


@pytest.mark.parametrize("provider", ["github", "gitlab"])
async def test_the_pull_request_state_follows_the_review(provider: str) -> None:
    cls = GitHub if provider == "github" else GitLab
    with ProviderServer(provider) as server:
        api = cls("acme/shop", "main", server.token, server.url)
        merged = await api.open_pull_request(DRAFT)
        closed = await api.open_pull_request(PullRequestDraft(head="swarm/fix/inv-2", title="t", body="b"))
        assert await api.pull_request_state(merged.number) == "open"
        server.settle(merged.number, merged=True)
        server.settle(closed.number, merged=False)
        states = (await api.pull_request_state(merged.number), await api.pull_request_state(closed.number))
        with pytest.raises(DeliveryFailed, match="HTTP 404"):
            await api.pull_request_state(99)
    assert server.violations == []
    assert states == ("merged", "closed")


@pytest.mark.parametrize(("provider", "path", "problem"), [
    ("github", "/repos/acme/shop/pulls?state=merged", "state: 'merged' is not one of"),
    ("github", "/repos/acme/shop/pulls?source_branch=x", "'source_branch' is not in the description"),
    ("github", "/repos/acme/shop/pulls/abc", "pull_number: 'abc' is not of type 'integer'"),
    ("gitlab", "/api/v4/projects/acme%2Fshop/merge_requests?state=open", "state: 'open' is not one of"),
    ("gitlab", "/api/v4/projects/acme%2Fshop/merge_requests?head=x", "'head' is not in the description"),
])
def test_a_query_that_violates_the_description_is_refused(provider: str, path: str, problem: str) -> None:
    with ProviderServer(provider) as server:
        headers = {"Authorization": f"Bearer {server.token}", "Accept": "application/vnd.github+json",
                   "PRIVATE-TOKEN": server.token}
        response = httpx.get(server.url + path, headers=headers)
    assert response.status_code == 422
    assert len(server.violations) == 1 and problem in server.violations[0], server.violations
