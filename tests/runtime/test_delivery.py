"""From a fix branch to a pull request, behind the approval gate: real Ray, NATS and git, and a loopback
GitHub that validates every request against GitHub's published API description."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.cli import app
from swarm.errors import ConfigError, ControlRefused
from swarm.models import ErrorReport, Result
from swarm.reporting.reporter import publish_report
from swarm.runtime.app import SwarmRuntime
from swarm.runtime.control import control_request
from swarm.runtime.grouping import investigation_id_for
from tests.support.bloodstream import stored
from tests.support.providers import ProviderServer
from tests.support.runtime import runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]
runner = CliRunner()


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


def make_repo(root: Path, name: str) -> tuple[Path, Path]:
    repo, remote = root / name, root / f"{name}-remote.git"
    repo.mkdir()
    git("-C", str(repo), "init", "-q", "-b", "main")
    (repo / "app.py").write_text("def total(cart):\n    return cart['coupon']\n")
    git("-C", str(repo), "add", "app.py")
    git("-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    git("init", "-q", "--bare", str(remote))
    return repo, remote


def remote_branches(remote: Path) -> dict[str, str]:
    out = git("ls-remote", "--heads", str(remote))
    return {ref.removeprefix("refs/heads/"): sha for sha, ref in (line.split() for line in out.splitlines())}


def report(service: str) -> ErrorReport:
    return ErrorReport(error=f"KeyError: 'coupon' in {service}", service=service,
                       stack='Traceback (most recent call last):\n  File "app.py", line 2, in total\nKeyError',
                       context={"file": "app.py", "line": 2, "function": "total"})


async def cli(*args: str) -> dict:
    out = await asyncio.to_thread(runner.invoke, app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


async def awaiting(inv: str, timeout_s: float = 180) -> dict:
    """`swarm status --json` until it shows the investigation awaiting approval."""
    deadline = time.monotonic() + timeout_s
    while True:
        snap = await cli("status")
        row = next((i for i in snap["investigations"] if i["investigation_id"] == inv), None)
        if row and row["status"] == "AWAITING_APPROVAL":
            return row
        assert time.monotonic() < deadline, f"{inv} never awaited approval: {snap['investigations']}"
        await asyncio.sleep(0.2)


async def audits(bus: Bus) -> list[dict]:
    info = await bus.js.stream_info(bus.names.bloodstream_stream, subjects_filter=bus.names.audit)
    count = sum((info.state.subjects or {}).values())
    sub = await bus.js.subscribe(bus.names.audit, ordered_consumer=True)
    try:
        return [json.loads((await sub.next_msg(timeout=5)).data) for _ in range(count)]
    finally:
        await sub.unsubscribe()


async def outcomes_said(bus: Bus, inv: str) -> list[str]:
    """The run's `status` and `result` agent messages, in order (what the comms pages derive its status from)."""
    info = await bus.js.stream_info(bus.names.comms_stream, subjects_filter=bus.names.comms_run_all(inv))
    count = sum((info.state.subjects or {}).values())
    sub = await bus.js.subscribe(bus.names.comms_run_all(inv), ordered_consumer=True)
    try:
        said = [json.loads((await sub.next_msg(timeout=5)).data) for _ in range(count)]
    finally:
        await sub.unsubscribe()
    return [f"{m['kind']} {m['content'].split(':', 1)[0]}" for m in said if m["kind"] in ("status", "result")]


async def wait_result(bus: Bus, inv: str, timeout_s: float = 180) -> Result:
    sub = await bus.js.subscribe(bus.names.result_of(inv), ordered_consumer=True)
    try:
        return Result.model_validate_json((await sub.next_msg(timeout=timeout_s)).data)
    finally:
        await sub.unsubscribe()


async def result_of(bus: Bus, inv: str) -> Result:
    sub = await bus.js.subscribe(bus.names.result_of(inv), ordered_consumer=True)
    try:
        return Result.model_validate_json((await sub.next_msg(timeout=5)).data)
    finally:
        await sub.unsubscribe()


async def test_the_gate_holds_the_push_until_approved_then_opens_a_valid_pull_request(
    bus: Bus, settings, cli_env, tmp_path, monkeypatch
) -> None:
    repo, remote = make_repo(tmp_path, "shop")
    with ProviderServer("github") as gh:
        monkeypatch.setenv("GITHUB_TOKEN", gh.token)  # the driver's; the orchestrators get it from it
        repositories = {"shop": {"path": str(repo), "remote": str(remote), "provider": "github", "repo": "acme/shop",
                                 "api_url": gh.url, "approval": "approve_push", "labels": ["swarm", "bug"]}}
        config = runtime_config(tmp_path, {"implement": {"commit": True}}, repositories=repositories,
                                lifecycle={"follow_interval_s": 0.5})
        runtime = SwarmRuntime(settings, config)
        await runtime.start()
        try:
            await publish_report(bus, report("shop"))
            inv = investigation_id_for(report("shop").signature)
            await awaiting(inv)
            # `swarm fixes list` says so too (it showed a plain `open`, for a new user)
            (listed,) = [r for r in await cli("fixes", "list") if r["investigation_id"] == inv]
            assert (listed["status"], listed["state"]) == ("open", "AWAITING_APPROVAL"), listed
            human = await asyncio.to_thread(runner.invoke, app, ["fixes", "list"])
            assert "awaiting approval: swarm approve / reject" in " ".join(human.stdout.split()), human.stdout
            assert remote_branches(remote) == {} and gh.requests == []  # nothing left the swarm
            deadline = time.monotonic() + 60
            while (await cli("control", "budget"))["active"] != 0:  # waiting for a human holds no budget slot
                assert time.monotonic() < deadline, "the budget slot was not given back while awaiting approval"
                await asyncio.sleep(0.1)
            fix_branch = f"swarm/fix/{settings.nats_namespace.lower()}/{inv}"  # the test's namespace in it
            assert git("-C", str(repo), "branch", "--list", fix_branch)  # the fix exists, locally only
            # `swarm fixes show` shows what the approver decides on (it said "(no Result yet)" and nothing else)
            shown = await cli("fixes", "show", inv)
            assert shown["has_result"] is False and shown["state"] == "AWAITING_APPROVAL", shown
            assert shown["branch"] == fix_branch and shown["fix_commit"] == git("-C", str(repo), "rev-parse",
                                                                                 fix_branch).strip(), shown
            assert shown["review"]["verdict"] == "approve", shown
            told = await asyncio.to_thread(runner.invoke, app, ["fixes", "show", inv])
            assert f"swarm approve {inv}" in told.stdout and fix_branch in told.stdout, told.stdout
            # `--until-empty` cannot finish while a human has to decide: its timeout says so (it said "no fault seen")
            with pytest.raises(TimeoutError, match=f"1 fix\\(es\\) await approval \\({inv}\\): swarm approve"):
                await runtime.until_empty(timeout_s=1)

            decided = await cli("approve", inv, "--by", "alice", "--reason", "looks right")
            assert decided["approved"] is True and decided["gate"] == "push"
            counters = await runtime.until_empty(timeout_s=300)
            assert counters["results"] == 1
            # the fix is proposed, not fixed, until the pull request is merged; the running swarm follows it
            (row,) = await cli("fixes", "list")
            assert (row["investigation_id"], row["status"]) == (inv, "proposed")
            gh.settle(1, merged=True)
            while (row := (await cli("fixes", "list"))[0])["status"] == "proposed":
                assert time.monotonic() < deadline + 120, "the merged pull request was never followed"
                await asyncio.sleep(0.2)
            assert (row["status"], row["pull_request_state"]) == ("fixed", "merged")
        finally:
            await runtime.stop()
    assert gh.violations == []
    result = await result_of(bus, inv)
    assert result.status == "fixed" and result.pr_url == "https://github.com/acme/shop/pull/1"
    assert result.approval == "approved by alice: looks right" and result.pushed_to == f"{remote} {fix_branch}"
    assert remote_branches(remote) == {fix_branch: result.fix_commit}
    (listed, query, _), (create, _, pr), (labels, _, labelled), *follows = gh.requests
    assert follows and {op for op, _, _ in follows} == {"pulls/get"}  # the swarm asking for the merge
    assert listed == "pulls/list" and query["head"] == f"acme:{fix_branch}"  # no second PR on a redelivery
    assert create == "pulls/create" and pr["head"] == fix_branch and pr["base"] == "main"
    assert f"`{inv}`" in pr["body"] and pr["title"].startswith("swarm: fix KeyError")
    assert labels == "issues/add-labels" and labelled == {"labels": ["swarm", "bug"]}
    (audit,) = [a for a in await audits(bus) if a["action"] == "approve_push"]
    assert (audit["actor"], audit["outcome"], audit["investigation_id"]) == ("alice", "approved", inv)
    assert audit["details"]["reason"] == "looks right"
    assert row["pull_request"] == result.pr_url
    assert [e for e in await stored(bus, bus.names.events_all(1))
            if e["event_type"] == "fix_merged" and e["investigation_id"] == inv]


async def test_a_rejection_a_timeout_and_a_refused_pull_request_all_stop_the_delivery(
    bus: Bus, settings, cli_env, tmp_path, monkeypatch
) -> None:
    shop, shop_remote = make_repo(tmp_path, "shop")
    cart, cart_remote = make_repo(tmp_path, "cart")
    mall, mall_remote = make_repo(tmp_path, "mall")
    deli, deli_remote = make_repo(tmp_path, "deli")
    gh = ProviderServer("github", token="the-right-one")
    repositories = {
        "shop": {"path": str(shop), "remote": str(shop_remote), "approval": "approve_pr"},
        "cart": {"path": str(cart), "remote": str(cart_remote), "approval": "approve_pr", "approval_timeout_s": 1},
        "mall": {"path": str(mall), "remote": str(mall_remote), "provider": "github", "repo": "acme/mall",
                 "api_url": gh.url, "token_env": "MALL_TOKEN"},
        "deli": {"path": str(deli), "remote": str(deli_remote), "approval": "approve_push"},
    }
    config = runtime_config(tmp_path, {"implement": {"commit": True}}, repositories=repositories)
    monkeypatch.delenv("MALL_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"pull requests need a token: set MALL_TOKEN \(repositories.mall\)"):
        await SwarmRuntime(settings, config).start()  # said at start, not as a failed delivery per fix
    monkeypatch.setenv("MALL_TOKEN", "a-wrong-one")  # GitHub will refuse it
    runtime = SwarmRuntime(settings, config)
    await runtime.start()
    try:
        await publish_report(bus, report("shop"))
        await publish_report(bus, report("cart"))
        with gh:
            await publish_report(bus, report("mall"))
            mall_result = await wait_result(bus, investigation_id_for(report("mall").signature))
        shop_inv, cart_inv = (investigation_id_for(report(s).signature) for s in ("shop", "cart"))
        await awaiting(shop_inv)
        # approve_pr: pushed, the PR waits
        assert f"swarm/fix/{settings.nats_namespace.lower()}/{shop_inv}" in remote_branches(shop_remote)
        with pytest.raises(ControlRefused, match="no PEER state"):
            await control_request(bus, "approve", {"investigation_id": "inv-0000000000000000", "by": "bob"})
        reply = await cli("reject", shop_inv, "--by", "bob", "--reason", "touches billing")
        assert reply["approved"] is False and reply["gate"] == "pr"
        # cancelled while it awaits approval: it ends there (a new user's cancel said `cancelled` and did nothing:
        # the fix waited on, and a later approve pushed it)
        await publish_report(bus, report("deli"))
        deli_inv = investigation_id_for(report("deli").signature)
        await awaiting(deli_inv)
        assert (await cli("control", "cancel", deli_inv, "--reason", "wrong approach"))["cancelled"] is True
        deli_result = await wait_result(bus, deli_inv, timeout_s=60)
        late = await asyncio.to_thread(runner.invoke, app, ["approve", deli_inv, "--by", "carol"])
        assert late.exit_code == 1 and "does not await approval" in late.output, late.output
        await runtime.until_empty(timeout_s=300)
    finally:
        await runtime.stop()
    shop_result, cart_result = await result_of(bus, shop_inv), await result_of(bus, cart_inv)
    assert shop_result.status == "no_fix" and shop_result.approval == "rejected by bob: touches billing"
    assert shop_result.pr_url is None and "touches billing" in (shop_result.error or "")
    # the run's messages end with the wait at the gate, then the Result's status (the comms pages showed the
    # express phase's `fixed` while the fix waited and after it was rejected)
    assert (await outcomes_said(bus, shop_inv))[-2:] == ["status awaiting_approval", "result no_fix"]
    assert cart_result.status == "no_fix" and cart_result.approval.startswith("rejected: no decision on the pr")
    outcomes = {(a["investigation_id"], a["action"]): (a["actor"], a["outcome"]) for a in await audits(bus)}
    assert outcomes[(shop_inv, "approve_pr")] == ("bob", "rejected")
    assert outcomes[(cart_inv, "approve_pr")] == ("swarm", "timed_out")
    assert (deli_result.status, deli_result.error) == ("failed", "cancelled: wrong approach")
    assert outcomes[(deli_inv, "approve_push")] == ("operator", "cancelled") and not remote_branches(deli_remote)
    # a refused pull request: nothing was delivered, so neither the Result nor the index says fixed
    assert mall_result.status == "failed" and mall_result.pr_url is None and mall_result.fix_commit
    assert "the fix was not delivered: github refused" in (mall_result.error or "")
    assert mall_result.branch == f"swarm/fix/{settings.nats_namespace.lower()}/{mall_result.investigation_id}"
    assert mall_result.branch in remote_branches(mall_remote)  # pushed, then refused
    listed = {r["investigation_id"]: r for r in await cli("fixes", "list")}
    assert listed[mall_result.investigation_id]["status"] == "failed"
    # a fix a human turned down is not an engine's `no_fix`: the list says who decided (it said a plain no_fix)
    assert (listed[shop_inv]["status"], listed[shop_inv]["approval"]) == ("no_fix", "rejected by bob: touches billing")
    human = await asyncio.to_thread(runner.invoke, app, ["fixes", "list", "--status", "no_fix"])
    assert "(rejected by bob: touches billing)" in " ".join(human.stdout.split()), human.stdout


async def test_the_real_agents_fix_a_repository_that_delivers_and_the_pull_request_is_opened(
    bus: Bus, settings, cli_env, tmp_path, monkeypatch
) -> None:
    """The shipped agents (offline brain) on a repository configured as the README shows, provider and
    all: the agents work on it without its delivery settings, the swarm pushes and opens the PR."""
    from agents.testing.regressions import make_case
    from swarm.config import SwarmConfig

    case = make_case(tmp_path / "repo", "later_commits", seed=5)
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote))
    base = SwarmConfig.load(Path(__file__).resolve().parents[2] / "configs" / "swarm.yaml").model_dump(mode="json")
    with ProviderServer("github") as gh:
        monkeypatch.setenv("GITHUB_TOKEN", gh.token)
        repositories = {case.report.service: {**case.repository, "remote": str(remote), "provider": "github",
                                              "repo": "acme/shop", "api_url": gh.url, "approval": "auto"}}
        fast = runtime_config(tmp_path)
        config = SwarmConfig.model_validate({
            **base, "repositories": repositories, "workspace_root": str(tmp_path / "ws"),
            "intake": fast.intake.model_dump(mode="json"), "autoscale": {**base["autoscale"], "enabled": False},
            "bloodstream": fast.bloodstream.model_dump(mode="json"),
        })
        runtime = SwarmRuntime(settings, config)
        await runtime.start()
        try:
            await publish_report(bus, case.report)
            counters = await runtime.until_empty(timeout_s=600)
        finally:
            await runtime.stop()
    assert counters["results"] == 1 and gh.violations == []
    result = await result_of(bus, investigation_id_for(case.report.signature))
    assert result.status == "fixed", result.error
    assert result.suspect_commit == case.regression_commit
    assert result.pr_url == "https://github.com/acme/shop/pull/1"
    assert remote_branches(remote) == {result.branch: result.fix_commit}
