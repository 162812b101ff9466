"""Proposed fixes followed to their pull request's end, on a real nats-server (the signature index in
JetStream KV) and loopback GitHub / GitLab servers validating every request against the providers'
published API descriptions: merged -> fixed (and a later recurrence after a deploy is a regression),
closed without merge -> no_fix; while proposed, a recurrence is one more duplicate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.cli import app
from swarm.delivery.providers import GitHub, PullRequestDraft, provider_for
from swarm.models import DeployMarker, ErrorReport
from swarm.runtime.follow import PullRequestFollower
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.lifecycle import DeployMarkers
from tests.support.bloodstream import stored
from tests.support.providers import ProviderServer

runner = CliRunner()


def report(service: str, n: int) -> ErrorReport:
    return ErrorReport(error=f"KeyError: 'coupon{n}'", service=service,
                       stack=f'Traceback (most recent call last):\n  File "app.py", line {n}, in total\nKeyError')


async def propose(index: SignatureIndex, r: ErrorReport, seq: int, pr_url: str) -> str:
    tally = await index.count(r, sources=[("T_ERRORS", seq)])
    assert tally.kinds == ["new"]
    await index.close(r.signature, tally.investigation_id, "fixed", None, pr_url)
    return tally.investigation_id


async def entry(index: SignatureIndex, r: ErrorReport) -> dict:
    assert index.kv is not None
    return json.loads((await index.kv.get(r.signature)).value)


@pytest.mark.parametrize("provider", ["github", "gitlab"])
async def test_merged_is_fixed_closed_is_no_fix_and_open_stays_proposed(bus: Bus, provider: str, monkeypatch) -> None:
    index = await SignatureIndex(bus.js, bus.names).open()
    with ProviderServer(provider) as server:
        monkeypatch.setenv("GITHUB_TOKEN" if provider == "github" else "GITLAB_TOKEN", server.token)
        repo = {"provider": provider, "repo": "acme/shop", "api_url": server.url, "remote": "origin"}
        url = ("https://github.com/acme/shop/pull/{}" if provider == "github"
               else "https://gitlab.com/acme/shop/-/merge_requests/{}")
        api = provider_for(repo)
        assert api is not None
        reports = [report("shop", n) for n in range(3)]
        for n, r in enumerate(reports):  # the pull requests the deliveries opened
            pr = await api.open_pull_request(PullRequestDraft(head=f"swarm/fix/{n}", title="t", body="b"))
            assert pr.url == url.format(n + 1)
            await propose(index, r, n + 1, pr.url)
        assert [(await entry(index, r))["status"] for r in reports] == ["proposed"] * 3

        # while proposed, the error is one more duplicate, even after a deploy (the fix is not in it)
        await (await DeployMarkers(bus.js, bus.names).open()).mark(DeployMarker(service="shop", version="2"))
        assert (await index.count(reports[0], sources=[("T_ERRORS", 10)])).kinds == ["duplicate"]

        server.settle(1, merged=True)
        server.settle(2, merged=False)
        events: list[tuple[str, dict]] = []

        class Events:
            async def event(self, kind: str, data: dict | None = None, investigation_id: str | None = None) -> bool:
                events.append((kind, data or {}))
                return True

        follower = PullRequestFollower(index, {"shop": repo}, Events())
        first = await follower.follow_once()
        again = await follower.follow_once()
    assert server.violations == []
    assert first.checked == 3 and first.errors == []
    assert {(s["pull_request"], s["status"]) for s in first.settled} == {(url.format(1), "fixed"),
                                                                         (url.format(2), "no_fix")}
    assert again.checked == 1 and again.settled == []  # only the open one is asked again
    merged, closed, still = [await entry(index, r) for r in reports]
    assert (merged["status"], merged["pull_request"]["state"]) == ("fixed", "merged")
    assert (closed["status"], closed["pull_request"]["state"]) == ("no_fix", "closed")
    assert still["status"] == "proposed"
    assert sorted(k for k, _ in events) == ["fix_closed", "fix_merged"]

    # merged, then a deploy, then the error again: a regression, a second investigation linking the first
    await (await DeployMarkers(bus.js, bus.names).open()).mark(DeployMarker(service="shop", version="3"))
    back = await index.count(reports[0], sources=[("T_ERRORS", 11)])
    assert back.kinds == ["new"] and back.entry["regression"] is True
    assert back.entry["previous"]["investigation_id"] == merged["investigation_id"]


async def test_fixes_list_and_follow_from_the_cli(bus: Bus, cli_env, monkeypatch, tmp_path) -> None:
    index = await SignatureIndex(bus.js, bus.names).open()
    with ProviderServer("github") as gh:
        monkeypatch.setenv("GITHUB_TOKEN", gh.token)
        pr = await GitHub("acme/shop", "main", gh.token, gh.url).open_pull_request(
            PullRequestDraft(head="swarm/fix/a", title="t", body="b"))
        r = report("shop", 7)
        inv = await propose(index, r, 1, pr.url)
        orphan = report("cart", 8)  # a service without a repository in the config: named in the errors
        await propose(index, orphan, 2, "https://github.com/acme/cart/pull/9")
        config = tmp_path / "swarm.yaml"
        data = yaml.safe_load(Path(cli_env.get("SWARM_CONFIG") or "configs/swarm.yaml").read_text())
        data["repositories"] = {"shop": {"path": str(tmp_path), "provider": "github", "repo": "acme/shop",
                                         "api_url": gh.url, "remote": "origin"}}
        data["bloodstream"] = {**data.get("bloodstream", {}), "outbox_dir": str(tmp_path / "outbox")}
        config.write_text(yaml.safe_dump(data))

        listed = await asyncio.to_thread(runner.invoke, app, ["fixes", "list", "--status", "proposed", "--json"])
        assert listed.exit_code == 0, listed.output
        rows = {row["investigation_id"]: row for row in json.loads(listed.stdout)}
        assert rows[inv]["pull_request"] == pr.url and rows[inv]["status"] == "proposed" and len(rows) == 2

        gh.settle(pr.number, merged=True)
        out = await asyncio.to_thread(runner.invoke, app, ["fixes", "follow", "--config", str(config), "--json"])
    assert out.exit_code == 1, out.output  # the orphan's provider could not be asked: said, and exit 1
    done = json.loads(out.stdout)
    assert [(s["investigation_id"], s["status"]) for s in done["settled"]] == [(inv, "fixed")]
    assert len(done["errors"]) == 1 and "'cart' has no repository" in done["errors"][0]["error"]
    events = await stored(bus, bus.names.events_all(1))
    assert [e["event_type"] for e in events] == ["fix_merged"]  # published by the CLI's pass too
    fixed = json.loads((await asyncio.to_thread(runner.invoke, app, ["fixes", "list", "--status", "fixed",
                                                                      "--json"])).stdout)
    assert [row["investigation_id"] for row in fixed] == [inv]
    bad = await asyncio.to_thread(runner.invoke, app, ["fixes", "list", "--status", "merged"])
    assert bad.exit_code == 2 and "unknown status 'merged'" in bad.output
