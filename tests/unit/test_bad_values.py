"""Values of the right syntax and the wrong kind, met as a user meets them through the installed `swarm`:
each is refused in one line naming where it is, never read as something else. NATS_URL points at a port
nobody listens on: every case is refused before anything connects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swarm.models import ErrorReport
from tests.support.cli import swarm_json

OFFLINE = {"NATS_URL": "nats://127.0.0.1:1"}


@pytest.mark.parametrize(("row", "expected"), [
    ({"label": "attack", "text": "hi", "category": ["x", "y"]}, "category must be a string, got list"),
    ({"label": "attack", "text": "hi", "category": "x", "obfuscation": {"a": 1}},
     "obfuscation must be a string, got dict"),
], ids=["category-list", "obfuscation-object"])
def test_a_corpus_row_whose_category_is_not_a_string_is_refused_with_its_line(
    tmp_path: Path, row: dict, expected: str
) -> None:
    """It was printed as a category named "['x', 'y']" in the per-category table."""
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"label": "benign", "text": "ok", "category": "c"}) + "\n" + json.dumps(row) + "\n")
    code, answer, _ = swarm_json("security", "eval", str(path), "--rules-only")
    assert code == 1 and answer["error"] == f"{path}:2: {expected}", answer


@pytest.mark.parametrize(("context", "expected"), [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": -Infinity}', "-Infinity is not a JSON number"),
    ('{"b": 1e999}', "1e999 is out of a number's range"),
], ids=["nan", "infinity", "overflow"])
def test_context_json_numbers_json_cannot_carry_are_usage_errors(context: str, expected: str) -> None:
    """Python's json reads them; the published report carried null instead, silently."""
    code, answer, _ = swarm_json("errors", "report", "-m", "boom", "--context-json", context, env=OFFLINE)
    assert code == 2 and answer["error"] == f"invalid --context-json: {expected}", answer


def test_an_error_message_of_only_whitespace_is_refused() -> None:
    code, answer, _ = swarm_json("errors", "report", "-m", " \t ", env=OFFLINE)
    # a usage error naming the option the user gave, not the wire field (`error`) it would have become
    assert code == 2 and answer["error"].startswith("Invalid value for '--message' / '-m': the error message is "
                                                    "empty"), answer
    with pytest.raises(ValueError, match="only whitespace"):  # a client in another language meets it at intake
        ErrorReport.model_validate_json(b'{"error": "   "}')
    assert ErrorReport(error=" x ").error == " x "  # text with spaces around it is kept as sent


@pytest.mark.parametrize(("args", "expected"), [
    (("run", "--until-empty", "--timeout", "nan"), "Invalid value for '--timeout'"),
    (("run", "--until-empty", "--timeout", "-5"), "Invalid value for '--timeout'"),
    (("submit", "--timeout", "inf"), "Invalid value for '--timeout': must be a finite number, got inf"),
    (("control", "ping", "--wait", "inf"), "Invalid value for '--wait': must be a finite number, got inf"),
    (("status", "--interval", "inf"), "Invalid value for '--interval': must be a finite number, got inf"),
    (("state", "watch", "-t", "inf"), "Invalid value for '--timeout' / '-t': must be a finite number, got inf"),
], ids=["run-nan", "run-negative", "submit-inf", "control-wait-inf", "status-interval-inf", "watch-inf"])
def test_seconds_that_are_not_a_finite_non_negative_number_are_usage_errors(args: tuple, expected: str) -> None:
    """`swarm run --until-empty --timeout -5` started a whole swarm to report "not empty after -5.0s";
    `swarm submit --timeout nan` went on to wait forever."""
    code, answer, _ = swarm_json(*args, env=OFFLINE)
    assert code == 2 and answer["error"].startswith(expected), answer


@pytest.mark.parametrize("url", [",", " , ,"])
def test_a_nats_url_of_only_separators_names_no_server(url: str) -> None:
    """It was answered "nothing answers at NATS_URL=", as if a server were down."""
    code, answer, _ = swarm_json("status", env={"NATS_URL": url})
    expected = f"NATS_URL={url!r} names no server; expected nats://host:4222"
    assert code == 1 and answer["error"].startswith(expected), answer
