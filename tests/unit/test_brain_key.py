"""ANTHROPIC_API_KEY from `.env` or from the driver's settings reaches the process environment, where the
agents' brain and the anthropic SDK read it (`Settings.export_brain_key`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swarm.bus.settings import Settings
from swarm.config import SwarmConfig
from swarm.runtime.services import ActorServices, ActorSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # conftest's empty key is restored after the test


def spec(key: str | None) -> ActorSpec:
    settings = Settings(anthropic_api_key=key, _env_file=None)
    return ActorSpec.build(settings, SwarmConfig.load(ROOT / "configs" / "swarm.yaml"), "swarm-test")


def test_an_actor_whose_node_lacks_the_key_gets_the_drivers(no_key) -> None:
    ActorServices(spec("sk-ant-driver"), service="research-0", role="research")
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-driver"


def test_a_key_already_in_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-node")
    ActorServices(spec("sk-ant-driver"), service="research-0", role="research")
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-node"


def test_no_key_anywhere_leaves_the_offline_brain(no_key) -> None:
    ActorServices(spec(None), service="research-0", role="research")
    assert "ANTHROPIC_API_KEY" not in os.environ


def test_a_key_read_from_dot_env_is_exported(no_key, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ANTHROPIC_API_KEY=sk-ant-dot-env\nNATS_NAMESPACE=from_dot_env\n")
    monkeypatch.setenv("NATS_NAMESPACE", "from_env")
    settings = Settings()
    assert settings.nats_namespace == "from_env"  # README: the environment wins over `.env`
    assert settings.anthropic_api_key == "sk-ant-dot-env" and "sk-ant-dot-env" not in repr(settings)
    secrets = Settings(nats_password="pw-1", nats_token="tok-1", nats_nkey_seed="SUSEED1", _env_file=None)
    assert not any(v in repr(secrets) for v in ("pw-1", "tok-1", "SUSEED1"))
    settings.export_brain_key()
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-dot-env"
