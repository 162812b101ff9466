"""A bad configs/swarm.yaml is one line naming the file, the place and what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from swarm.bus.auth import load_auth_config
from swarm.bus.provision import load_streams_config
from swarm.config import SwarmConfig
from swarm.errors import ConfigError
from swarm.security.rules import load_rules
from tests.support.cli import swarm_json


@pytest.mark.parametrize(("text", "expected"), [
    ("intake:\n  actors: [\n", "line 3 column 1: not YAML"),
    ("intake:\n  actors: two\n", "intake.actors: Input should be a valid integer"),
    ("intake: {actors: 1}\nheartbeat_intervall_s: 1\n", "heartbeat_intervall_s: Extra inputs are not permitted"),
    # a token of the fix branches' names (swarm/fix/<it>/<id>): what a NATS namespace may be
    ("fix_namespace: staging/eu\n", "fix_namespace: invalid namespace 'staging/eu': use only letters"),
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


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("orchestration", "grace_period_s", ".nan", "orchestration.grace_period_s: Input should be a finite number"),
    ("intake", "nak_delay_s", "-2", "intake: nak_delay_s is a duration in seconds: it cannot be negative (got -2.0)"),
    ("budget", "retry_delay_s", ".inf", "budget.retry_delay_s: Input should be a finite number"),
])
def test_a_config_number_that_is_not_finite_or_a_negative_duration_is_refused(
    tmp_path: Path, section: str, key: str, value: str, expected: str
) -> None:
    """YAML reads `.nan`, `.inf` and negative numbers as floats: a timer at NaN or a negative nak delay
    would only fail later, somewhere else (or never fire)."""
    config = yaml.safe_load((ROOT / "configs" / "swarm.yaml").read_text())
    config.setdefault(section, {})[key] = yaml.safe_load(value)
    path = tmp_path / "swarm.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as info:
        SwarmConfig.load(path)
    assert expected in str(info.value) and "Value error" not in str(info.value), info.value
    code, answer, _ = swarm_json("fixes", "follow", "--config", str(path))
    assert code == 1 and expected in answer["error"], answer


@pytest.mark.parametrize(("change", "expected"), [
    (("max_age_s: 604800", "max_age_s: .nan"), "max_age_s: Input should be a finite number"),
    (("max_age_s: 604800", "max_age_s: -5"), "max_age_s is a duration in seconds: it cannot be negative"),
    # a misspelt key left the default (120 s) in force and `provision` advised --apply to shorten production's
    # 24 h duplicate window to it
    (("duplicate_window_s: 86400", "duplicate_windows_s: 86400"),
     ".duplicate_windows_s: Extra inputs are not permitted"),
    (("max_ack_pending: 1000", "max_ack_pendng: 1000"), "consumers.error-fixer.max_ack_pendng: Extra inputs"),
])
def test_a_streams_config_number_that_is_not_finite_or_negative_or_a_misspelt_key_is_one_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    shipped = (ROOT / "configs" / "streams.yaml").read_text()
    assert change[0] in shipped
    path = tmp_path / "streams.yaml"
    path.write_text(shipped.replace(*change))
    code, answer, _ = swarm_json("streams", "provision", env={"SWARM_STREAMS_CONFIG": str(path)})
    assert code == 1 and expected in answer["error"] and str(path) in answer["error"], answer


@pytest.mark.parametrize("text", ["", "[1, 2]\n"], ids=["empty", "list"])
@pytest.mark.parametrize("loader", [load_auth_config, load_streams_config], ids=["auth", "streams"])
def test_a_config_that_is_not_a_mapping_is_one_line(tmp_path: Path, loader, text: str) -> None:
    path = tmp_path / "named.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "top level: Input should be" in message, message
    assert "errors.pydantic.dev" not in message


@pytest.mark.parametrize(("rule", "top", "expected"), [
    ('regex: "abc"', "", "injection rule 'x': `regex` must be a list, got str 'abc'"),
    ('phrases: "ab"', "", "injection rule 'x': `phrases` must be a list, got str 'ab'"),
    ('weight: .nan, regex: ["abc"]', "", "injection rule 'x': weight must be a finite number, got nan"),
    ('patterns: [{weight: abc, pattern: [{LOWER: abc}]}]', "", "injection rule 'x': weight 'abc' is not a number"),
    ('regex: ["abc"]', "threshold: .inf\n", "threshold must be a finite number, got inf"),
    ('regex: ["abc"]', "boosts: {x: abc}\n", "boost of 'x' 'abc' is not a number"),
    ('regex: ["abc"]', "boosts: [1]\n", "`boosts` must be a mapping of category to number"),
], ids=["regex-string", "phrases-string", "nan-weight", "word-weight", "inf-threshold", "word-boost", "list-boosts"])
def test_a_rules_file_value_of_the_wrong_kind_is_refused_naming_the_file(
    tmp_path: Path, rule: str, top: str, expected: str
) -> None:
    """A string where a list belongs was read one character at a time (a rule matching every `a`), a NaN
    weight silently disabled its rule, an infinite threshold every rule: all refused, naming the file."""
    path = tmp_path / "rules.yaml"
    path.write_text(f"categories: [a]\nrules:\n  - {{id: x, category: a, weight: 1, {rule}}}\n{top}")
    code, answer, _ = swarm_json("security", "check", "b a", "--rules-only", "--rules", str(path))
    assert code == 1 and expected in answer["error"] and str(path) in answer["error"], answer


def test_an_infinite_threshold_option_is_a_usage_error() -> None:
    code, answer, _ = swarm_json("security", "check", "b a", "--rules-only", "--threshold", "1e400")
    assert code == 2 and "--threshold" in answer["error"] and "finite" in answer["error"], answer


@pytest.mark.parametrize("args", [
    ("security", "check", "--file", "-"),
    ("state", "create", "peer.a.e.cycle.1", "--file", "-"),
], ids=["security-check", "state-create"])
def test_standard_input_that_is_not_utf8_is_named(args: tuple[str, ...]) -> None:
    """Read strictly whatever the locale: a strict one used to raise UnicodeDecodeError, a lenient one
    checked text with the bad bytes replaced."""
    code, answer, _ = swarm_json(*args, stdin=b"\xff\xfe abc", env={"PYTHONIOENCODING": "utf-8:strict"})
    assert code == 1 and "on standard input is not UTF-8 text (byte 0 is 0xff)" in answer["error"], answer


def test_a_state_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"\xff\xfe bad \x80")
    code, answer, _ = swarm_json("state", "create", "peer.a.e.cycle.1", "--file", str(path))
    assert code == 1 and answer["error"] == f"--file {path} is not UTF-8 text (byte 0 is 0xff)", answer


def test_a_database_url_that_is_not_one_is_named() -> None:
    code, answer, _ = swarm_json("comms", "runs", env={"DATABASE_URL": "not-a-url"})
    assert code == 1 and answer["error"].startswith("DATABASE_URL is not a Postgres URL"), answer


@pytest.mark.parametrize("args", [("health",), ("status", "--once"), ("streams", "report")])
def test_an_env_file_that_is_not_utf8_is_named(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`.env` is read by every command that connects: a byte that is not UTF-8 used to end in a traceback."""
    (tmp_path / ".env").write_bytes(b"NATS_URL=nats://127.0.0.1:4222\n\xff\xfe\n")
    code, answer, _ = swarm_json(*args, cwd=tmp_path)
    assert code == 1 and answer["error"].startswith(f"{tmp_path / '.env'} is not UTF-8 text (byte 31 is 0xff)"), answer


def test_fix_namespace_names_the_fix_branches_instead_of_the_nats_namespace(tmp_path: Path) -> None:
    """README: the same namespace name on two servers shares one fix branch unless `fix_namespace` names another."""
    from swarm.bus.settings import DEFAULT_CONFIG_DIR

    path = tmp_path / "swarm.yaml"
    shipped = yaml.safe_load((DEFAULT_CONFIG_DIR / "swarm.yaml").read_text())
    path.write_text(yaml.safe_dump({**shipped, "fix_namespace": "Staging-EU"}))
    config = SwarmConfig.load(path)
    assert config.fix_scope("staging") == "staging-eu"  # lower case, as a NATS namespace is
    assert SwarmConfig.load(DEFAULT_CONFIG_DIR / "swarm.yaml").fix_scope("staging") == "staging"
