"""Secrets stay out of what Ray shows (the dashboard, `ray list actors --detail`): an actor's OTLP headers and
an orchestrator's provider token reach its process through its arguments, not its `runtime_env`; only the
orchestrator, which opens pull requests, gets the token (the other roles run the repository's code)."""

from __future__ import annotations

import json
import subprocess

import pytest

from swarm.reporting.reporter import publish_report
from tests.runtime.test_pipeline import report
from tests.support.runtime import AGENTS, run_until_empty, runtime_config

pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.timeout(600)]

HEADERS, TOKEN = "authorization=Bearer otel-s3cret-4242", "gh-s3cret-4242"
NAMES = ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SERVICE_NAME", "SHOP_GITHUB_TOKEN"]


async def test_actor_secrets_reach_the_process_but_not_its_runtime_env(bus, settings, tmp_path, monkeypatch) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    repo = tmp_path / "shop"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", HEADERS)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-swarm")  # not a secret: it stays in the runtime_env
    monkeypatch.setenv("SHOP_GITHUB_TOKEN", TOKEN)
    shop = {"path": str(repo), "remote": str(tmp_path / "shop-remote.git"), "provider": "github", "repo": "acme/shop",
            "api_url": "http://127.0.0.1:9", "token_env": "SHOP_GITHUB_TOKEN"}
    repositories = {"shop": shop}
    options = {role: {"env_probe": str(probe), "env_probe_names": NAMES} for role in AGENTS}
    cfg = runtime_config(tmp_path, options, repositories=repositories)
    await publish_report(bus, report(950))
    counters = await run_until_empty(settings, cfg, timeout_s=300)
    assert counters["results"] == 1
    seen = {role: json.loads((probe / f"{role}.json").read_text()) for role in AGENTS}
    for role, got in seen.items():
        assert got["env"]["OTEL_EXPORTER_OTLP_HEADERS"] == HEADERS, role  # the exporter can authenticate
        assert got["env"]["OTEL_SERVICE_NAME"] == "shop-swarm", role
        shown = json.dumps(got["runtime_env"])
        assert "shop-swarm" in shown and HEADERS not in shown and TOKEN not in shown, (role, shown)
    assert seen["orchestrator"]["env"]["SHOP_GITHUB_TOKEN"] == TOKEN  # it opens the pull requests
    for role in ("research", "implement", "review"):
        assert seen[role]["env"]["SHOP_GITHUB_TOKEN"] is None, role
