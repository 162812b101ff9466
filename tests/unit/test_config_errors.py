"""A bad configs/swarm.yaml is one line naming the file, the place and what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swarm.bus.auth import load_auth_config
from swarm.bus.provision import load_streams_config
from swarm.config import SwarmConfig
from swarm.errors import ConfigError
from swarm.security.rules import load_rules


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


@pytest.mark.parametrize("loader", [SwarmConfig.load, load_rules, load_auth_config, load_streams_config],
                         ids=["swarm", "injection-rules", "auth", "streams"])
@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: p.write_bytes(b"intake:\n  actors: \xff\n"), "is not UTF-8 text (byte 18 is 0xff)"),
    (lambda p: p.mkdir(), "is a directory, not a file"),
    (lambda p: None, "not found"),
], ids=["latin-1", "directory", "missing"])
def test_a_config_file_that_cannot_be_read_is_one_clear_line(tmp_path: Path, loader, make, expected) -> None:
    """Every config file a user names: a file that is not there, not text or not a file is a ConfigError
    naming it (`swarm` prints the line and exits 1), never a traceback."""
    path = tmp_path / "named.yaml"
    make(path)
    with pytest.raises(ConfigError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and expected in message, message


def test_the_cli_answers_an_unreadable_config_with_one_line_and_json(tmp_path: Path) -> None:
    """The way a user meets it: `swarm run --config DIR --json`, through the installed `swarm` command."""
    done = subprocess.run([str(Path(sys.executable).with_name("swarm")), "run", "--config", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout) == {"error": f"config file {tmp_path} is a directory, not a file", "exit_code": 1}
    assert "Traceback" not in done.stderr and "is a directory" in done.stderr


@pytest.mark.parametrize("loader", [SwarmConfig.load, load_rules, load_auth_config, load_streams_config],
                         ids=["swarm", "injection-rules", "auth", "streams"])
def test_a_config_file_that_is_not_yaml_is_one_line_with_the_place(tmp_path: Path, loader) -> None:
    path = tmp_path / "named.yaml"
    path.write_text("streams:\n  - name: [\n")
    with pytest.raises(ConfigError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "line 3 column 1: not YAML" in message, message
