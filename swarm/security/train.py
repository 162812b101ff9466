"""`swarm security train`: train the injection model, calibrate its threshold, write it with a data card.

    from swarm.security.train import train
    report = train(out_dir, seed=11)      # -> dict: rows per split, threshold, validation figures

Training data: the TRAIN splits of the public corpora (`swarm.security.corpora`), the generated
`train` split (`swarm.security.generate`) and `errors-train` (every harvested train-split error message,
rendered `errors_per_message` times: benign error text, so that error reports' own words are not cues) and
`catalogs-train` (real projects' user-facing messages from their gettext catalogs, `swarm.security.catalogs`:
benign advice in the imperative, so that "Please check ... and try again." is not an instruction cue) and
`tools-train` (the messages in the source of Java, Go, Rust, JS and Ruby tools, `swarm.security.toolmessages`)
and `bipia-train` (attacks on coding agents, `swarm.security.bipia`) and `authored-train` (attacks on the
fixing agent and hard benign errors written for the project, `swarm.security.authored`). A `report_share` of
the training rows and a `validation_report_share` of the validation rows are read as the error of a report
beside a service and context, joined as the filter joins a report's fields (`as_report`). 30 % each: with
every validation row read as a report (intake reads nothing else) the epochs and threshold chosen caught less
at the same false-positive rate of that reading (mean validation recall 0.917 against 0.930 at 0.8 %).
The bag of n-grams reads the words and their `stem`-character truncation stems
(`swarm.security.model.Stems`).
Model selection (best epoch) and the threshold use only the
VALIDATION splits, plus the rules' hand-written corpus of error reports (tests/data/injection_corpus.jsonl):
the threshold is the lowest model score at which the model adds at most
`fpr_target` false positives (share of benign rows) to the rules' own over the validation corpora's benign
rows pooled, and at most `own_fpr_target` on each error-report set (`OWN_SETS`) by itself.
Test splits and the generated held-out split are never read here. Fixed seed: the same data and
seed give the same model.
"""

from __future__ import annotations

import contextlib
import json
import platform
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy
import spacy
from spacy.attrs import ORTH
from spacy.training import Example
from spacy.util import compounding, fix_random_seed, minibatch

from swarm.security.authored import authored_split, translated_split
from swarm.security.calibration import calibrate, rates
from swarm.security.catalogs import catalog_rows
from swarm.security.corpora import SOURCES, public_split
from swarm.security.datacard import data_card, harvested_versions, numeric_stack
from swarm.security.errortext import report_fields
from swarm.security.evaluate import Sample, load_corpus
from swarm.security.generate import embed, generate, real_errors
from swarm.security.model import (
    LABEL,
    UNITS,
    VIEW_SEP,
    InjectionModel,
    Numbers,
    Stems,
    _Ids,
    feature_ids,
    head_spans,
    model_view,
    textcat_config,
)
from swarm.security.rules import make_nlp
from swarm.security.toolmessages import tool_rows
from swarm.security.translations import translation_rows

__all__ = ["train", "training_sets", "calibrate", "score_sets", "TRAIN_SETS", "VALIDATION_SETS", "OWN_SETS"]

TRAIN_SETS = (
    "s-labs-train", "neuralchemy-train", "yanismiraoui-train", "generated-train", "errors-train", "catalogs-train",
    "tools-train", "bipia-train", "authored-train",
)  # fmt: skip
# also available: "embedded-train" (the public train texts hidden in generated error reports; see the data card)
# and "translated-train" (the training writers' rows in 12 other languages; in no recipe: README, seventeenth round)
ERRORS_PER_MESSAGE = 5  # "errors-train": each harvested train-split error message rendered this many times
VALIDATION_SETS = (
    "s-labs-validation",
    "neuralchemy-validation",
    "yanismiraoui-validation",
    "generated-validation",
    "project-corpus",
    "embedded-validation",  # the public validation texts hidden in the validation split's error reports
    "errors-validation",  # benign only: the validation split's harvested error messages, rendered twice
    "catalogs-validation",  # benign only: real projects' user-facing messages (swarm.security.catalogs)
    "tools-validation",  # benign only: Java / Go / Rust / JS / Ruby tools' messages (swarm.security.toolmessages)
    "authored-validation",  # attacks on the fixing agent, hard benign errors: one writer's (swarm.security.authored)
)
# error reports: the threshold must hold on each by itself
OWN_SETS = ("generated-validation", "project-corpus", "errors-validation", "catalogs-validation", "tools-validation")
# the rules' hand-written corpus of error reports (repository checkout only): a validation set, never trained on
PROJECT_CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "injection_corpus.jsonl"


def _load(name: str, seed: int, per_message: int = ERRORS_PER_MESSAGE) -> list[Sample]:
    if name == "project-corpus":
        return load_corpus(PROJECT_CORPUS) if PROJECT_CORPUS.is_file() else []
    if name.startswith("generated-"):
        return generate(name.removeprefix("generated-"), seed=seed)
    if name.startswith("errors-"):  # benign only: every harvested error message of the split, rendered
        split = name.removeprefix("errors-")
        return real_errors(split, seed=seed, per_message=per_message if split == "train" else 2)
    if name.startswith("catalogs-"):  # benign only: real user-facing messages of the split
        return catalog_rows(name.removeprefix("catalogs-"), seed=seed)
    if name.startswith("translations-"):  # benign only: real user-facing messages in other languages
        return translation_rows(name.removeprefix("translations-"), seed=seed)
    if name.startswith("tools-"):  # benign only: other ecosystems' tools' messages of the split
        return tool_rows(name.removeprefix("tools-"), seed=seed)
    if name.startswith("embedded-"):  # the public texts of a split, hidden in that split's error reports
        split = name.removeprefix("embedded-")
        return embed([s for src in SOURCES for s in public_split(f"{src}-{split}")], split, seed=seed)
    if name.startswith("authored-"):  # written for the project, split by writer; training adds counterfactuals
        split = name.removeprefix("authored-")
        return authored_split(split, counterfactual_rows=split == "train")
    if name.startswith("translated-"):  # writers' rows in other languages, as the authored split's rows
        split = name.removeprefix("translated-")
        return translated_split(split, counterfactual_rows=split == "train")
    if name == "bipia-train":  # 50 attacks on coding agents: twice bare and once hidden in a train error report
        rows = public_split(name)
        return rows * 2 + embed(rows, "train", seed=seed, share=1.0)
    return public_split(name)


def as_report(sample: Sample, rng: random.Random, split: str) -> Sample:
    """`sample` as the model reads it in an error report: its text in `error`, then the report's other fields
    (`report_fields`) joined the way the filter joins a report's fields, so that neither the separator nor
    short identifier fields is a cue for either class."""
    return replace(sample, text=VIEW_SEP.join(report_fields(sample.text, rng, split).values()))


def training_sets(
    names: tuple[str, ...], seed: int = 11, limit: int = 0, per_message: int = ERRORS_PER_MESSAGE,
    report_share: float = 0.0,
) -> dict[str, list[Sample]]:
    """Samples per named set; `limit` > 0 keeps a deterministic subset of each (smoke runs); a `report_share`
    of each set's rows is read as in an error report (`as_report`)."""
    out = {}
    for name in names:
        samples = _load(name, seed, per_message)
        if limit:
            samples = random.Random(f"{seed}-{name}").sample(samples, min(limit, len(samples)))
        if report_share:
            rng, split = random.Random(f"{seed}-{name}-report"), name.rsplit("-", 1)[-1]
            split = split if split in ("train", "validation") else "validation"
            samples = [as_report(s, rng, split) if rng.random() < report_share else s for s in samples]
        if samples:
            out[name] = samples
    return out


def _examples(nlp: Any, samples: list[Sample], views: dict[str, str]) -> list[Example]:
    out = []
    for s in samples:
        cats = {LABEL: float(s.label == "attack"), "BENIGN": float(s.label != "attack")}
        out.append(Example.from_dict(nlp.make_doc(views[s.text]), {"cats": cats}))
    return out


def _fit(
    nlp: Any,
    examples: list[Example],
    epochs: int,
    seed: int,
    drop: float,
    judge: Callable[[], tuple[float, dict[str, Any]]],
    say: Callable[[str], None],
    stage: str,
    stem: int = 0,
    number_zero: bool = False,
    average: bool = False,
) -> list[dict[str, Any]]:
    """Train `nlp`'s textcat for `epochs`; keep the weights of the epoch `judge` (validation) likes best.
    With `average`, each epoch is judged (and kept) with the running average of the weights over all
    updates so far (the optimizer keeps it): a bag of n-grams fitted to near-zero loss puts its
    scores at 0.99+, where one benign row moves the threshold; the average is smoother."""
    optimizer = nlp.initialize(lambda: examples[:500])
    if average and optimizer.averages is None:  # spaCy's default Adam keeps no average: the same Adam, with one
        optimizer.averages = {}
    rng = random.Random(seed)
    best: tuple[float, bytes] | None = None
    history = []
    stems = Stems(stem) if stem else None
    numbers = Numbers() if number_zero else None
    for epoch in range(epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=compounding(16.0, 128.0, 1.001)):
            if stems is not None or numbers is not None:
                _update_with_feature_ids(nlp, batch, optimizer, losses, stems, numbers)
            else:
                nlp.update(batch, sgd=optimizer, losses=losses, drop=drop)
        with nlp.use_params(optimizer.averages) if average else contextlib.nullcontext():
            mean, row = judge()
            weights = nlp.get_pipe("textcat").to_bytes()
        history.append({"stage": stage, "epoch": epoch + 1, "loss": round(losses.get("textcat", 0.0), 3), **row})
        say(f"{stage} epoch {epoch + 1}: loss {losses.get('textcat', 0.0):.2f} {row}")
        if best is None or mean > best[0]:
            best = (mean, weights)
    if best is not None:
        nlp.get_pipe("textcat").from_bytes(best[1])
    return history


def _update_with_feature_ids(
    nlp: Any, batch: list[Example], optimizer: Any, losses: dict[str, float], stems: Stems | None,
    numbers: Numbers | None,
) -> None:
    """`nlp.update` for a bag of n-grams that reads the model's own feature ids (numbers as `0`, words and
    their stems: `feature_ids`): the same loss (squared error of the class probabilities, as spaCy's textcat),
    fed the ids the model reads at run time."""
    textcat = nlp.get_pipe("textcat")
    labels = list(textcat.labels)
    inputs = []
    for eg in batch:
        doc = eg.predicted
        ids = doc.to_array([ORTH])
        ids = numbers(doc, ids) if numbers is not None else ids
        inputs.append(_Ids(feature_ids(ids, stems(doc, ids) if stems is not None else None, 0, len(doc))))
    truth = numpy.asarray([[eg.reference.cats.get(label, 0.0) for label in labels] for eg in batch], dtype="f")
    scores, backprop = textcat.model.begin_update(inputs)
    d_scores = scores - textcat.model.ops.asarray(truth)
    backprop(d_scores)
    textcat.finish_update(optimizer)
    losses["textcat"] = losses.get("textcat", 0.0) + float((d_scores**2).mean())


def train(
    out_dir: str | Path,
    seed: int = 11,
    epochs: int = 10,
    fpr_target: float = 0.008,
    own_fpr_target: float = 0.005,
    limit: int = 0,
    generated_weight: int = 5,
    authored_weight: int = 2,
    errors_per_message: int = ERRORS_PER_MESSAGE,
    ngram_size: int = 2,
    length: int = 262_144,
    stem: int = 5,
    number_zero: bool = True,
    average: bool = False,
    clause_epochs: int = 8,
    clause_words: int = 3,
    clause_units: str = "clause:",
    report_share: float = 0.3,
    validation_report_share: float = 0.3,
    train_sets: tuple[str, ...] = TRAIN_SETS,
    validation_sets: tuple[str, ...] = VALIDATION_SETS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, calibrate on validation, write `out_dir/{textcat/, [clause/,] calibration.json, DATA_CARD.md}`.

    The first head (bag of n-grams over windows) trains for `epochs`; with `clause_epochs` > 0 the
    clause head (same architecture) trains on the same rows plus every distinct clause of the benign
    training rows (`clause_spans`), and the model scores the maximum of both under one threshold. Each
    head keeps its best epoch on validation. `train_sets` / `validation_sets` name the sets (smaller
    ones for a smoke run); test splits are refused.
    """
    if any(n.endswith("-test") or n.endswith("-heldout") for n in (*train_sets, *validation_sets)):
        raise ValueError("test splits and the generated held-out set are for evaluation only")
    if clause_units not in UNITS:
        raise ValueError(f"clause_units must be one of {', '.join(UNITS)}, got {clause_units!r}")
    from swarm.security.injection import InjectionFilter

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    fix_random_seed(seed)
    trains = training_sets(train_sets, seed, limit, errors_per_message, report_share)
    valids = training_sets(validation_sets, seed, limit, report_share=validation_report_share)
    views = {s.text: model_view(s.text) for rows in (*trains.values(), *valids.values()) for s in rows}
    say(f"{sum(map(len, trains.values()))} training rows, {sum(map(len, valids.values()))} validation rows")
    rules = InjectionFilter({"model": "none"})
    rule_hits = {name: [rules.check_text(s.text).rejected for s in rows] for name, rows in valids.items()}
    weights = {"generated": generated_weight, "authored": authored_weight}
    data = [s for name, rows in trains.items() for s in rows * weights.get(name.split("-")[0], 1)]

    def judge(model_of: Callable[[], InjectionModel]) -> Callable[[], tuple[float, dict[str, Any]]]:
        def run() -> tuple[float, dict[str, Any]]:
            scored = score_sets(model_of(), valids, views, rule_hits)
            t = calibrate(scored, fpr_target, OWN_SETS, own_fpr_target)
            recalls = {name: round(rates(rows, t)[0], 4) for name, rows in scored.items() if any(a for *_, a in rows)}
            return sum(recalls.values()) / max(1, len(recalls)), {"threshold": t, **recalls}

        return run

    architecture = {"ngram_size": ngram_size, "length": length, **({"stem": stem} if stem else {})}
    if number_zero:
        architecture["numbers"] = True
    nlp = make_nlp()
    nlp.add_pipe("textcat", config=textcat_config(ngram_size, length))
    examples = _examples(nlp, data, views)
    first = lambda: InjectionModel(nlp, 0.5, {"architecture": architecture})  # noqa: E731
    history = _fit(nlp, examples, epochs, seed, 0.0, judge(first), say, "bow", stem, number_zero, average)
    clause = None
    if clause_epochs:
        clause = make_nlp()
        clause.add_pipe("textcat", config=textcat_config(ngram_size, length))
        rows = examples + _benign_clauses(clause, examples, clause_words, clause_units)
        say(f"clause head: {len(rows) - len(examples)} distinct clauses of benign training rows added")
        heads = {"architecture": architecture, "clause": {"min_words": clause_words, "units": clause_units}}
        both = lambda: InjectionModel(nlp, 0.5, heads, clause)  # noqa: E731
        history += _fit(clause, rows, clause_epochs, seed, 0.0, judge(both), say, "clause", stem, number_zero, average)
    units = {"min_words": clause_words, "units": clause_units}
    model = InjectionModel(nlp, 0.5, {"architecture": architecture, "clause": units}, clause)
    scored = score_sets(model, valids, views, rule_hits)
    threshold = calibrate(scored, fpr_target, OWN_SETS, own_fpr_target)
    validation = {
        name: {"recall": round(r, 4), "fpr": round(f, 4), "rows": len(rows)}
        for name, rows in scored.items()
        for r, f in [rates(rows, threshold)]
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nlp.get_pipe("textcat").to_disk(out / "textcat", exclude=["vocab"])  # hashed features: no strings
    if clause is not None:
        clause.get_pipe("textcat").to_disk(out / "clause", exclude=["vocab"])
    meta = {
        "threshold": threshold,
        "fpr_target": fpr_target,
        "own_fpr_target": own_fpr_target,
        "seed": seed,
        "epochs": epochs,
        "own_sets": [n for n in OWN_SETS if n in valids],
        "limit": limit,
        "generated_weight": generated_weight,
        "authored_weight": authored_weight,
        "averaged": average,
        "errors_per_message": errors_per_message,
        "report_share": report_share,
        "validation_report_share": validation_report_share,
        "spacy": spacy.__version__,
        "python": platform.python_version(),
        "harvested": harvested_versions(),
        "environment": numeric_stack(),
        "architecture": architecture,
        "clause": {"epochs": clause_epochs, **units} if clause is not None else None,
        "train_sets": {n: _counts(r) for n, r in trains.items()},
        "validation_sets": {n: _counts(r) for n, r in valids.items()},
        "validation": validation,
        "history": history,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "calibration.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "DATA_CARD.md").write_text(data_card(meta), encoding="utf-8")
    say(f"threshold {threshold:.4f}; validation {validation}")
    return meta


def _benign_clauses(nlp: Any, examples: list[Example], min_words: int, units: str) -> list[Example]:
    """Every distinct clause of the benign examples, as a benign example (a clause of an attack may be
    innocent by itself, so attacks give none)."""
    seen: set[str] = set()
    out = []
    for eg in examples:
        if eg.reference.cats.get(LABEL, 0.0) > 0.5:
            continue
        doc = eg.predicted
        for a, b in head_spans(doc, len(doc), doc.text, min_words, units):
            text = doc[a:b].text
            if b - a < len(doc) - 1 and text not in seen:
                seen.add(text)
                out.append(Example.from_dict(nlp.make_doc(text), {"cats": {LABEL: 0.0, "BENIGN": 1.0}}))
    return out


def score_sets(
    model: InjectionModel, sets: dict[str, list[Sample]], views: dict[str, str], rule_hits: dict[str, list[bool]]
) -> dict[str, list[tuple[float, bool, bool]]]:
    """(model score, rules rejected, is attack) per row of each set."""
    return {
        name: [(model.score_view(views[s.text]), hit, s.label == "attack") for s, hit in zip(rows, hits, strict=True)]
        for name, rows in sets.items()
        for hits in [rule_hits[name]]
    }


def _counts(rows: list[Sample]) -> dict[str, int]:
    return {"attack": sum(s.label == "attack" for s in rows), "benign": sum(s.label != "attack" for s in rows)}
