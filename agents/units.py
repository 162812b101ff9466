"""Unit-change repairs: a refactor that renames a value into another unit (`timeout` -> `timeout_ms`) and
leaves a reader expecting the old one.

    scales = unit_renames({"timeout": ["timeout_ms"]})          # {"timeout_ms": ("ms", "", 1000)}
    cands = unit_candidates(texts, scales)                       # Candidates: `x: expr` -> `x: expr / 1000`, ...

Evidence comes from the suspect: names and keys it renamed where only a unit suffix changed. Each line
that reads a renamed name into a slot without that unit (a dict entry, keyword or assignment whose own
name does not carry it) gets the value scaled both ways by the factor between the two units; the tests
decide which, if any, is right.
"""

from __future__ import annotations

import re

from agents.revert import Candidate

__all__ = ["unit_renames", "unit_candidates"]

# unit suffix -> (dimension, size in the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "ns": ("time", 1e-9), "us": ("time", 1e-6), "ms": ("time", 1e-3), "s": ("time", 1.0), "sec": ("time", 1.0),
    "secs": ("time", 1.0), "seconds": ("time", 1.0), "min": ("time", 60.0), "mins": ("time", 60.0),
    "minutes": ("time", 60.0), "h": ("time", 3600.0), "hours": ("time", 3600.0), "days": ("time", 86400.0),
    "cents": ("money", 0.01), "pence": ("money", 0.01), "euros": ("money", 1.0), "dollars": ("money", 1.0),
    "bytes": ("size", 1.0), "b": ("size", 1.0), "kb": ("size", 1024.0), "kib": ("size", 1024.0),
    "mb": ("size", 1024.0**2), "mib": ("size", 1024.0**2), "gb": ("size", 1024.0**3), "gib": ("size", 1024.0**3),
}  # fmt: skip
_SUFFIX = re.compile(r"^(.*?)(?:[_-]?(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r"))?$", re.I)


def _split(name: str) -> tuple[str, str]:
    m = _SUFFIX.match(name)
    assert m is not None
    stem, unit = m.group(1), (m.group(2) or "").lower()
    if unit and (not stem or not re.search(r"[_-]$", name[: len(name) - len(unit)]) and unit in ("s", "b", "h")):
        return name, ""  # `pass`, `jobs`, `path`: a plural or a word, not a unit
    return stem.rstrip("_-"), unit


def unit_renames(renames: dict[str, list[str]]) -> dict[str, tuple[str, str, float]]:
    """new name -> (its unit, the old one's, the factor between them) for renames that only changed a unit
    suffix (`timeout` -> `timeout_ms`: the old unit is unknown, so the factors of the new unit's
    dimension's neighbours are tried: here 1000)."""
    out: dict[str, tuple[str, str, float]] = {}
    for old, news in renames.items():
        for new in news:
            (stem_o, unit_o), (stem_n, unit_n) = _split(old), _split(new)
            if stem_o.lower() != stem_n.lower() or unit_o == unit_n or not (unit_o or unit_n):
                continue
            known = [u for u in (unit_o, unit_n) if u]
            dims = {_UNITS[u][0] for u in known}
            if len(dims) != 1:
                continue
            if len(known) == 2:
                factor = _UNITS[unit_o][1] / _UNITS[unit_n][1]
                factor = max(factor, 1 / factor)
            else:  # one side has no unit: the usual neighbour of the known one
                factor = {"time": 1000.0 if known[0] in ("ns", "us", "ms") else 60.0,
                          "money": 100.0, "size": 1024.0}[dims.pop()]
            out[new] = (unit_n, unit_o, factor)
    return out


def _number(factor: float) -> str:
    return str(int(factor)) if factor == int(factor) else repr(factor)


_SLOT = re.compile(r"""^(\s*)(?:(["'])(\w+)\2\s*:|(\w+)\s*=(?!=))\s*(.+?)(,?)\s*$""")


def unit_candidates(texts: dict[str, str], scales: dict[str, tuple[str, str, float]]) -> list[Candidate]:
    """Each line reading a renamed name into a slot without its unit, its value scaled by / and * the factor."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for path, text in texts.items():
        lines = text.splitlines(keepends=True)
        for k, raw in enumerate(lines):
            line = raw.rstrip("\n")
            m = _SLOT.match(line)
            if not m:
                continue
            slot, value = m.group(3) or m.group(4), m.group(5)
            if value[0] in "{[\"'":  # a container or a string literal is no quantity
                continue
            for name, (unit, _old, factor) in scales.items():
                if not re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", value) or _split(slot)[1] == unit:
                    continue
                head = line[: m.start(5)]
                atom = re.fullmatch(r"[\w.]+(\(.*\)|\[.*\])?", value) is not None
                term = value if atom else f"({value})"
                for op in ("/", "*"):
                    new = f"{head}{term} {op} {_number(factor)}{m.group(6)}"
                    new_text = "".join(lines[:k]) + new + raw[len(line):] + "".join(lines[k + 1:])
                    if new_text in seen:
                        continue
                    seen.add(new_text)
                    out.append(Candidate({path: new_text}, "template:unit",
                                         f"{slot} {op} {_number(factor)} ({name} is in {unit or 'another unit'}) "
                                         f"at {path}:{k + 1}", 3, tier=2))
    return out
