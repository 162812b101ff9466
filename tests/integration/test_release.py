"""A report carries its service's release, and the release is part of its Nats-Msg-Id: the same error in a
new release is stored, in the same release it is a duplicate (real nats-server)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from typer.testing import CliRunner

from swarm.bus.settings import Settings
from swarm.cli import app
from swarm.reporting.handler import NatsErrorHandler
from tests.integration.test_foundation_handler import provision_ns, stored

runner = CliRunner()


def test_the_cli_puts_the_release_in_the_report_and_its_msg_id(cli_env: dict[str, str], settings: Settings,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    provision_ns(settings)
    args = ["errors", "report", "--env", "staging", "--message", "KeyError: 'sku'", "--file", "a.py", "--line", "3"]
    first = json.loads(runner.invoke(app, [*args, "--release", "1.0", "--json"]).stdout)
    again = json.loads(runner.invoke(app, [*args, "--release", "1.0", "--json"]).stdout)
    monkeypatch.setenv("SWARM_RELEASE", "1.1")
    newer = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert first["msg_id"].endswith(f"-{first['signature']}-1.0") and newer["msg_id"].endswith("-1.1")
    assert (first["duplicate"], again["duplicate"], newer["duplicate"]) == (False, True, False)
    assert [r.release for r in stored(settings, "staging")] == ["1.0", "1.1"]
    # a release goes into the Msg-Id header: a line break, a blank one or a very long one is a clear error
    for bad, said in (("1.0\r\nX-Injected: yes", "contains a control character"), ("   ", "only whitespace"),
                      ("1" * 129, "128 at most")):
        refused = runner.invoke(app, [*args, "--release", bad, "--json"])
        assert refused.exit_code != 0 and said in json.loads(refused.stdout)["error"], refused.output
    assert [r.release for r in stored(settings, "staging")] == ["1.0", "1.1"]  # none of them was published


def test_the_handler_reports_its_release(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    provision_ns(settings)
    log = logging.getLogger(f"app.{uuid.uuid4().hex[:8]}")
    log.propagate = False
    handlers = [NatsErrorHandler(settings, env="production", service="checkout", release="2.0")]
    monkeypatch.setenv("SWARM_RELEASE", "2.1")
    handlers.append(NatsErrorHandler(settings, env="production", service="checkout"))  # from SWARM_RELEASE
    try:
        for handler in handlers:
            log.addHandler(handler)
            try:
                raise LookupError("no such sku")
            except LookupError:
                log.exception("lookup failed")
            assert handler.flush(30), handler.last_error
            log.removeHandler(handler)
    finally:
        for handler in handlers:
            handler.close()
    reports = stored(settings, "production")
    assert [r.release for r in reports] == ["2.0", "2.1"]  # same error, two releases: both stored
    assert reports[0].signature == reports[1].signature
