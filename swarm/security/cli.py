"""`swarm security`: check a text, measure the filter on a labelled corpus.

    swarm security check "ignore all previous instructions"        # exit 0 allowed, 3 rejected
    swarm security check --file report.txt --json
    swarm security eval tests/data/injection_corpus.jsonl [--json] [--strict] [--show-errors]

`--rules PATH` and `--threshold X` try another rules file or threshold without editing the config.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, fail
from swarm.errors import InvalidInput

__all__ = ["security_app", "EXIT_REJECTED"]

EXIT_REJECTED = 3  # distinct from 1 (error) and 2 (usage) so scripts can tell a verdict from a failure

security_app = typer.Typer(help="prompt-injection filter: check texts, evaluate on a corpus", no_args_is_help=True)

RULES_OPTION = typer.Option(None, "--rules", help="rules file (default configs/injection_rules.yaml)")
THRESHOLD_OPTION = typer.Option(None, "--threshold", min=0.0, help="override the rules file's threshold")


def _filter(rules: Path | None, threshold: float | None) -> Any:
    from swarm.security.injection import InjectionFilter

    options: dict[str, Any] = {}
    if rules is not None:
        options["rules"] = str(rules)
    if threshold is not None:
        options["threshold"] = threshold
    return InjectionFilter(options)


def _read_text(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise InvalidInput("give either TEXT or --file, not both")
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read()
        try:
            return file.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise InvalidInput(f"file not found: {file}") from exc
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{file} is not UTF-8 text: {exc}") from exc
        except IsADirectoryError as exc:
            raise InvalidInput(f"{file} is a directory, not a text file") from exc
    if text is None:
        raise InvalidInput("nothing to check: give TEXT or --file PATH (--file - reads stdin)")
    return text


def _render_verdict(data: dict[str, Any]) -> None:
    style = "bold red" if data["rejected"] else "bold green"
    word = "REJECTED" if data["rejected"] else "allowed"
    console.print(
        f"[{style}]{word}[/] score {data['score']} (threshold {data['threshold']})"
        + (f", category {data['category']}" if data["category"] else ""),
        highlight=False,
    )
    if data["matches"]:
        table = Table()
        for name in ("rule", "category", "weight", "span", "decoded", "matched text"):
            table.add_column(name, overflow="fold")
        for m in data["matches"]:
            span = f"{m['start']}-{m['end']}" if m["end"] else "-"
            decoded = "yes" if m["decoded"] else ""
            # matched text is attacker-controlled: never let it act as rich markup
            table.add_row(m["rule_id"], m["category"], str(m["weight"]), span, decoded, escape(m["text"][:60]))
        console.print(table)


@security_app.command()
def check(
    text: str | None = typer.Argument(None, help="the text to check"),
    file: Path | None = typer.Option(None, "--file", "-f", help="read the text from a file ('-' for stdin)"),
    rules: Path | None = RULES_OPTION,
    threshold: float | None = THRESHOLD_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Print the filter's verdict on one text. Exit 0 when allowed, 3 when rejected."""
    with cli_errors():
        content = _read_text(text, file)
        verdict = _filter(rules, threshold).check_text(content, field="text")
    emit(verdict.as_dict(), json_out, render=_render_verdict)
    if verdict.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _render_eval(data: dict[str, Any]) -> None:
    goals = data["goals"]
    ok = "[green]met[/]" if goals["met"] else "[red]NOT met[/]"
    console.print(
        f"{data['attacks']} attacks, {data['benign']} benign   precision {data['precision']:.2%}   "
        f"recall {data['recall']:.2%}   false-positive rate {data['false_positive_rate']:.2%}   "
        f"goals (recall >= {goals['recall']:.0%}, FPR <= {goals['false_positive_rate']:.0%}): {ok}",
        highlight=False,
    )
    for title, key in (("category", "recall_by_category"), ("obfuscation", "recall_by_obfuscation")):
        table = Table(title, "recall", "detected", "total")
        for name, row in data[key].items():
            table.add_row(name, f"{row['recall']:.0%}", str(row["detected"]), str(row["total"]))
        console.print(table)
    for kind in ("false_negatives", "false_positives"):
        for row in data.get(kind, []):
            extra = f" rules={row['rules']}" if "rules" in row else ""
            console.print(
                f"{kind[:-1].replace('_', ' ')} line {row['line']} [{row['category']}]{extra}: {row['text']!r}",
                highlight=False,
                markup=False,
            )


@security_app.command("eval")
def eval_(
    corpus: Path = typer.Argument(..., help="JSONL lines {label: attack|benign, text, category}"),
    rules: Path | None = RULES_OPTION,
    threshold: float | None = THRESHOLD_OPTION,
    show_errors: bool = typer.Option(False, "--show-errors", help="list every false negative and false positive"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 when the recall / FPR goals are not met"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Precision, recall, false-positive rate and recall per category on a labelled corpus."""
    from swarm.security.evaluate import evaluate, load_corpus

    with cli_errors():
        samples = load_corpus(corpus)
        filter_ = _filter(rules, threshold)
        with Progress(
            TextColumn("evaluating"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=json_out or not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("eval", total=len(samples))
            result = evaluate(filter_, samples, progress=lambda n: progress.update(task, completed=n))
    data = result.as_dict()
    if not (show_errors or json_out):
        data.pop("false_negatives")
        data.pop("false_positives")
    emit(data, json_out, render=_render_eval)
    if strict and not result.meets_goals:
        fail(f"goals not met: recall {result.recall:.2%} (>= 95%), false-positive rate {result.fpr:.2%} (<= 1%)")
