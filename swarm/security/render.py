"""How `swarm security` prints a verdict and an evaluation for people (scripts read the same dicts as JSON).

    render_verdict(verdict.as_dict())     # REJECTED by the model: rules score ..., the clause, the rule hits
    render_eval(result.as_dict())         # one corpus, one filter: rates, recall per category
    render_compare({"corpora": {...}})    # several corpora or filters: one row each
    without_errors(data, show_errors)     # the false negative / positive lists only with --show-errors

Every text that came from a corpus or a report is attacker-controlled: it is printed without markup.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from swarm.clikit import console

__all__ = ["render_verdict", "render_eval", "render_errors", "render_compare", "without_errors"]


def _category(data: dict[str, Any]) -> str:
    said = f", category {data['category']}" if data["category"] else ""
    if data["matches"] and data.get("fired") not in ("rules", "both"):
        said += "; rules matched below their threshold"  # only when some did: the JSON's `matches`
    return said


def render_verdict(data: dict[str, Any]) -> None:
    style = "bold red" if data["rejected"] else "bold green"
    word = "REJECTED" if data["rejected"] else "allowed"
    by = {"rules": " by the rules", "model": " by the model", "both": " by the rules and the model"}
    console.print(
        f"[{style}]{word}[/]{by.get(data.get('fired') or '', '')}: rules score {data['score']} "
        f"(threshold {data['threshold']})"
        + (
            ""
            if data.get("model_score") is None
            else f", model score {data['model_score']:.3f} (threshold {data['model_threshold']:.3f})"
        )
        + (
            ""
            if data.get("encoder_score") is None
            else f", encoder score {data['encoder_score']:.3f} (threshold {data['encoder_threshold']:.3f})"
        )
        + _category(data),
        highlight=False,
    )
    enc = data.get("encoder_score")
    if enc is not None and data.get("encoder_threshold") is not None and enc >= data["encoder_threshold"]:
        console.print("the model's encoder head fired: the n-gram heads found the text doubtful, the encoder read it "
                      "whole", highlight=False)
    elif data.get("model_clause"):  # attacker-controlled text: printed without markup
        console.print(f"the model's clause head scored highest: {data['model_clause'][:200]!r}", markup=False)
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


def render_eval(data: dict[str, Any]) -> None:
    goals = data["goals"]
    ok = "[green]met[/]" if goals["met"] else "[red]NOT met[/]"
    console.print(
        f"{data['attacks']} attacks, {data['benign']} benign   precision {_rate(data, 'precision')}   "
        f"recall {_rate(data, 'recall')}   false-positive rate {_rate(data, 'false_positive_rate')}   "
        f"goals (recall >= {goals['recall']:.0%}, FPR <= {goals['false_positive_rate']:.0%}): {ok}",
        highlight=False,
    )
    enc = data.get("encoder") or {}
    if enc.get("read"):
        fired = ", ".join(f"{n} {label}" for label, n in enc["rejected"].items()) or "none"
        console.print(f"the model's encoder head read {enc['read']} doubtful texts and rejected: {fired}",
                      highlight=False)
    for title, key in (("category", "recall_by_category"), ("obfuscation", "recall_by_obfuscation")):
        if not data[key]:  # a benign-only corpus: no attack to break down
            continue
        table = Table(title, "recall", "detected", "total")
        for name, row in data[key].items():
            table.add_row(name, f"{row['recall']:.0%}", str(row["detected"]), str(row["total"]))
        console.print(table)
    render_errors(data)


def render_errors(data: dict[str, Any]) -> None:
    for kind in ("false_negatives", "false_positives"):
        for row in data.get(kind, []):
            extra = f" rules={row['rules']}" if "rules" in row else ""
            console.print(
                f"{kind[:-1].replace('_', ' ')} line {row['line']} [{row['category']}]{extra}: {row['text']!r}",
                highlight=False,
                markup=False,
            )


def render_compare(data: dict[str, Any]) -> None:
    table = Table("corpus", "filter", "attacks", "benign", "recall", "FPR", "attacks caught by", "benign rejected by")
    table.columns[0].overflow = "fold"  # a corpus path is read whole, not cut
    for name, per in data["corpora"].items():
        for label, r in per.items():
            by = ", ".join(f"{k} {v}" for k, v in r["rejected_by"].items())
            benign_by = ", ".join(f"{k} {v}" for k, v in r.get("benign_rejected_by", {}).items())
            table.add_row(
                name,
                label,
                str(r["attacks"]),
                str(r["benign"]),
                _rate(r, "recall"),
                _rate(r, "false_positive_rate"),
                by,
                benign_by,
            )
    console.print(table)
    for name, per in data["corpora"].items():  # --show-errors: each filter's misses and false alarms
        for label, r in per.items():
            if r.get("false_negatives") or r.get("false_positives"):
                console.print(f"[bold]{name}[/] ({label})", highlight=False)
                render_errors(r)


def _rate(data: dict[str, Any], key: str) -> str:
    """A rate as a percentage, or n/a where it has no denominator (recall of a benign-only corpus: null in JSON)."""
    return "n/a" if data[key] is None else f"{data[key]:.2%}"


def without_errors(data: dict[str, Any], show_errors: bool) -> dict[str, Any]:
    if not show_errors:
        data.pop("false_negatives")
        data.pop("false_positives")
    return data
