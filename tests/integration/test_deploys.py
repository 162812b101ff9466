"""Deploy markers in `{NS}_DEPLOYS` on a real nats-server: one per service and environment, so a staging
deploy never hides a production one; any service name is a valid key."""

from __future__ import annotations

import asyncio
import hashlib
import json

from typer.testing import CliRunner

from swarm.bus.connect import Bus
from swarm.cli import app
from swarm.models import ErrorReport
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.lifecycle import DeployMarkers

runner = CliRunner()


async def mark(*args: str) -> dict:
    out = await asyncio.to_thread(runner.invoke, app, ["deploy", "mark", *args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


async def test_a_staging_deploy_does_not_hide_the_production_one(bus: Bus, cli_env) -> None:
    index = await SignatureIndex(bus.js, bus.names).open()
    report = ErrorReport(error="KeyError: 'coupon'", service="shop", environment="production",
                         stack='Traceback (most recent call last):\n  File "cart.py", line 3, in total\nKeyError')
    first = await index.count(report, sources=[("S", 1)])
    await index.close(report.signature, first.investigation_id, "fixed")
    await mark("--service", "shop", "--version", "2.0", "--env", "production")
    await mark("--service", "shop", "--version", "2.1", "--env", "staging")  # later, elsewhere
    markers = await DeployMarkers(bus.js, bus.names).open()
    assert (await markers.latest("shop", "production")).version == "2.0"
    assert (await markers.latest("shop", "staging")).version == "2.1"
    back = await index.count(report, sources=[("S", 2)])
    assert back.kinds == ["new"] and back.entry["reopen_reason"] == "deploy"
    assert back.entry["deploy"]["version"] == "2.0" and back.entry["regression"] is True
    # a service-wide mark applies to every environment, the newest one wins
    await mark("--service", "shop", "--version", "3.0")
    assert (await markers.latest("shop", "production")).version == "3.0"


async def test_any_service_name_is_a_valid_key(bus: Bus, cli_env) -> None:
    # 5,000 letters: a key that long went over the server's control line limit and timed out with a traceback
    for service in ("a..b", "my service", "a/b", "shop*", ".", "a" * 5000):
        data = await mark("--service", service, "--version", "1")
        assert data["service"] == service
        assert (await (await DeployMarkers(bus.js, bus.names).open()).latest(service, None)).service == service
    assert len({bus.names.deploy_key(s) for s in ("a/b", "a_b", "a b", "a.b")}) == 4  # never a shared key
    assert bus.names.deploy_key("a" * 128) == "a" * 128 + ".all" and bus.names.deploy_key("a" * 129).startswith("h_")


async def test_ci_puts_the_marker_json_under_the_key_the_readme_names(bus: Bus, cli_env) -> None:
    """README: CI can put the DeployMarker JSON into `{NS}_DEPLOYS` under `<service>.<env>` (`<service>.all`
    without --env); a name with other characters under `h_<24 hex of its SHA-256>`, the `key` --json prints."""
    kv = await bus.js.key_value(f"{bus.names.ns.upper()}_DEPLOYS")
    await kv.put("shop.production", json.dumps({"service": "shop", "version": "7.1", "environment": "production",
                                                "by": "ci"}).encode())
    await kv.put("cart.all", json.dumps({"service": "cart", "version": "2"}).encode())
    markers = await DeployMarkers(bus.js, bus.names).open()
    assert (await markers.latest("shop", "production")).version == "7.1"
    assert (await markers.latest("cart", "staging")).version == "2"
    dotted = "payments.api"
    key = f"h_{hashlib.sha256(dotted.encode()).hexdigest()[:24]}.staging"
    assert (await mark("--service", dotted, "--version", "1", "--env", "staging"))["key"] == key
    await kv.put(key, json.dumps({"service": dotted, "version": "2", "environment": "staging"}).encode())
    assert (await markers.latest(dotted, "staging")).version == "2"


def test_an_empty_service_or_version_is_a_command_line_error_named_before_nats_is_asked(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:9")  # nothing listens: a mark that got that far would fail 1
    for args, named in ((["--service", " ", "--version", "1"], "--service"),
                        (["--service", "shop", "--version", ""], "--version")):
        out = runner.invoke(app, ["deploy", "mark", *args, "--json"])
        assert out.exit_code == 2, out.output
        assert f"{named} is empty" in out.output, out.output
