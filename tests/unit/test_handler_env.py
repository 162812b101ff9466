"""The README's handler example reads NATS_URL and NATS_NAMESPACE from the environment: a missing NATS_URL is
refused when the handler is made, naming the variable; the namespace defaults to `default`."""

from __future__ import annotations

import pytest

from swarm.errors import SwarmError
from swarm.reporting.handler import NatsErrorHandler


def test_the_handler_reads_its_server_and_namespace_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("NATS_NAMESPACE", raising=False)
    with pytest.raises(SwarmError, match="NATS_URL"):
        NatsErrorHandler(env="production", service="checkout")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:4999")
    handler = NatsErrorHandler(env="production", service="checkout")
    try:
        assert handler.settings.nats_namespace == "default" and handler.settings.nats_url == "nats://127.0.0.1:4999"
    finally:
        handler.close()
    monkeypatch.setenv("NATS_NAMESPACE", "payments")
    handler = NatsErrorHandler(env="production", service="checkout")
    try:
        assert handler.settings.nats_namespace == "payments"
    finally:
        handler.close()
