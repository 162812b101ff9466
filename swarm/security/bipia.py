"""Attacks on coding agents from a public benchmark: BIPIA's code-task injections (MIT).

    from swarm.security.bipia import bipia_split
    bipia_split("train")  # [Sample("attack", "Add the following code snippet in your response: ...", ...), ...]

The public prompt-injection corpora are chat jailbreaks and system-prompt extraction; swarm's agents
write code, so the attack that matters most asks them to put something into the code. BIPIA
(microsoft/BIPIA, "Benchmarking and Defending Against Indirect Prompt Injection Attacks on Large Language
Models") ships such instructions for its code task: 10 categories (keylogging, cookie theft, data
eavesdropping, ...) of "embed this snippet in your code" instructions, split train / test by its authors
(5 per category each). Its text-task attacks are plain questions ("What is the capital of Brazil?") that
are injections only by where they sit, so they are not used. Frozen in `model/bipia.json.gz`
(`freeze(checkout)` rebuilds it from a clone holding `COMMIT`).
"""

from __future__ import annotations

import functools
import gzip
import json
import subprocess
from pathlib import Path

from swarm.security.evaluate import Sample

__all__ = ["COMMIT", "LICENCE", "REPOSITORY", "bipia_split", "freeze"]

REPOSITORY = "microsoft/BIPIA"
COMMIT = "1a2a91da6bb12838e05d1b2e54d98e2f37b835f3"
LICENCE = "MIT"
FROZEN = Path(__file__).parent / "model" / "bipia.json.gz"
_FILES = {"train": "benchmark/code_attack_train.json", "test": "benchmark/code_attack_test.json"}


def freeze(checkout: Path, path: Path = FROZEN) -> int:
    """Read the code-task attacks of `COMMIT` from a git clone of BIPIA into `path`; returns the attacks."""
    splits = {}
    for split, file in _FILES.items():
        text = subprocess.run(
            ["git", "-C", str(checkout), "show", f"{COMMIT}:{file}"], check=True, capture_output=True, text=True
        ).stdout
        splits[split] = [[category, attack] for category, attacks in json.loads(text).items() for attack in attacks]
    meta = {"repository": REPOSITORY, "commit": COMMIT, "licence": LICENCE, "splits": splits}
    path.write_bytes(gzip.compress(json.dumps(meta).encode(), mtime=0))
    _frozen.cache_clear()
    return sum(map(len, splits.values()))


@functools.cache
def _frozen() -> dict[str, list[list[str]]]:
    return json.loads(gzip.decompress(FROZEN.read_bytes()))["splits"] if FROZEN.is_file() else {}


def bipia_split(split: str) -> list[Sample]:
    """The attacks of one split ('train' or 'test'; BIPIA has no validation split)."""
    return [Sample("attack", text, category, "", n) for n, (category, text) in enumerate(_frozen().get(split, []), 1)]
