"""Text the CLI prints for people is text, not Rich markup: an error quoting `[valid` (YAML, JSON, a jq
filter) or a prompt's `[y/N]` reach the terminal as they are."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from swarm.cli import app
from swarm.clikit import fail

runner = CliRunner(env={"COLUMNS": "1000"})


def test_fail_prints_square_brackets_and_markup_like_text_as_they_are() -> None:
    mini = typer.Typer()

    @mini.command()
    def boom() -> None:
        fail("expected ',' or ']' in 'not: [valid' near [bold]x[/bold] and [/]")

    result = runner.invoke(mini, [])
    assert result.exit_code == 1
    assert result.stderr == "error: expected ',' or ']' in 'not: [valid' near [bold]x[/bold] and [/]\n"


def test_a_broken_yaml_file_is_quoted_with_its_brackets(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("not: [valid\n")
    result = runner.invoke(app, ["bench", "scenarios", str(bad)])
    assert result.exit_code == 1
    assert "not: [valid" in result.stderr and "expected ',' or ']'" in result.stderr, result.stderr


def test_the_purge_question_shows_its_choices(monkeypatch) -> None:
    monkeypatch.setenv("NATS_NAMESPACE", "brackets")
    result = runner.invoke(app, ["streams", "purge", "--env", "staging"], input="n\n")
    assert result.exit_code == 1
    assert "delete every message of BRACKETS_STAGING_ERRORS? [y/N]: " in result.stderr
    assert "nothing purged" in result.stderr
