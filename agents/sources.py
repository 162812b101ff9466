"""The repository's own production files, read once per call: what the repair mechanisms search.

    for path, text in production_files(root):                         # tracked *.py, tests left out
        ...
    production_files(root, (".json", ".yaml"), max_bytes=1_000_000)  # data files too
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agents.repro import is_test_file
from agents.workspace import run_command

__all__ = ["production_files"]


def production_files(root: Path, suffixes: tuple[str, ...] = (".py",), max_bytes: int | None = None
                     ) -> Iterator[tuple[str, str]]:
    """(repository-relative path, text) of each tracked file ending in one of `suffixes` that is not a test
    file (and, with `max_bytes`, is no larger)."""
    res = run_command(["git", "ls-files"], root)
    for path in res.output.split() if res.ok else []:
        full = root / path
        if (path.endswith(suffixes) and not is_test_file(path) and full.is_file()
                and (max_bytes is None or full.stat().st_size <= max_bytes)):
            yield path, full.read_text(errors="replace")
