"""A bad configs/swarm.yaml is one line naming the file, the place and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarm.config import SwarmConfig
from swarm.errors import ConfigError


@pytest.mark.parametrize(("text", "expected"), [
    ("intake:\n  actors: [\n", "line 3 column 1: not YAML"),
    ("intake:\n  actors: two\n", "intake.actors: Input should be a valid integer"),
    ("intake: {actors: 1}\nheartbeat_intervall_s: 1\n", "heartbeat_intervall_s: Extra inputs are not permitted"),
])
def test_a_bad_config_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "swarm.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        SwarmConfig.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and expected in message, message
    assert "errors.pydantic.dev" not in message
