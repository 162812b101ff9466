"""A data value written unlike its siblings: `"10.00-13.00"` among `"09:00-19:00"`s.

    cands = odd_value_candidates(root, repro, "Invalid isoformat string: '2025-03/02'")

A typo in data (a fixture, a table of settings, a JSON text kept in code) crashes the code that parses it, far
from where it was written, and often only on the one path that reads that entry. The values quoted in the
error message, and the strings the failing test's crash path was given (run once with its arguments recorded,
`agents.argcapture`), are looked up in the repository's data and source files. Where one is found, its
siblings are the values in the same file with the same skeleton (digits, letters and separators at the same
places, whichever separators). When most of them use other separators than this one (at least two, more than
share its own), the value is rewritten with theirs: the data then says what its authors wrote everywhere else.
Letters and digits are never changed: only the punctuation that tells the parser where the parts are.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from agents.argcapture import capture_calls, string_arguments
from agents.repro import Repro
from agents.revert import Candidate
from agents.sources import production_files

__all__ = ["odd_value_candidates", "conformed"]

DATA_SUFFIXES = (".py", ".json", ".yaml", ".yml", ".toml", ".csv", ".tsv", ".ini", ".cfg", ".txt")
MAX_FILE = 1_000_000
MAX_CANDIDATES = 6


def _shape(text: str) -> str:
    return "".join("9" if c.isdigit() else "a" if c.isalpha() else c for c in text)


def _skeleton(value: str) -> re.Pattern[str]:
    """A regex for `value` with any separator where it has one (runs of letters kept to their length)."""
    parts = [r"\d" if c.isdigit() else r"[^\W\d_]" if c.isalpha() else r"\s" if c.isspace() else r"[^\w\s]"
             for c in value]
    return re.compile(r"(?<![\w])" + "".join(parts) + r"(?![\w])")


def conformed(value: str, text: str) -> str | None:
    """`value` with the separators its siblings in `text` use, or None when it is not the odd one out.

    >>> conformed("10.00-13.00", '{"mon": "09:00-19:00", "tue": "10:00-20:00", "sat": "10.00-13.00"}')
    '10:00-13:00'
    """
    mine = _shape(value)
    if not any(c.isalnum() for c in value) or all(c.isalnum() or c.isspace() for c in value):
        return None
    shapes = Counter(_shape(m.group()) for m in _skeleton(value).finditer(text))
    best, count = next(((s, n) for s, n in shapes.most_common() if s != mine), ("", 0))
    if count < 2 or count <= shapes.get(mine, 0):
        return None
    if any(a != b and (a.isalnum() or b.isalnum()) for a, b in zip(mine, best, strict=True)):
        return None
    return "".join(b if a != b else v for v, a, b in zip(value, mine, best, strict=True))


_QUOTED = re.compile(r"'([^'\n]{3,200})'|\"([^\"\n]{3,200})\"")


def odd_value_candidates(root: Path, repro: Repro, message: str) -> list[Candidate]:
    values = [a or b for a, b in _QUOTED.findall(message)]
    for call in capture_calls(root, repro):  # outermost first: the whole value before its parts
        values += [v for v in string_arguments(call.code) if v not in values]
    if not values:
        return []
    files = dict(production_files(root, DATA_SUFFIXES, MAX_FILE))
    out: list[Candidate] = []
    for value in values:
        for path, text in files.items():
            if value not in text:
                continue
            fixed = conformed(value, text)
            if fixed is None:
                continue
            new = _skeleton(value).sub(lambda m, f=fixed, v=value: f if m.group() == v else m.group(), text)
            if new != text:
                out.append(Candidate({path: new}, "template:odd_value",
                                     f"{path}: {value!r} written as its siblings write it: {fixed!r}",
                                     size=sum(a != b for a, b in zip(value, fixed, strict=True))))
    return out[:MAX_CANDIDATES]
