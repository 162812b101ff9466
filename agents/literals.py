"""Numbers the suspect wrote, shifted by one: an offset, or all offsets after a slip, off by one.

    blamed = {"bank/layout.py": {3, 4, 5, 6}}            # HEAD lines the suspect wrote
    cands = shifted_literal_candidates(head, blamed)      # -> [Candidate], unit "template:literal_shift"

A commit that inserts a field into a layout (columns, byte offsets, bit positions, indices, ports) rewrites
every number after it, and one slip shifts all the numbers after the slip by one. Mutation-based repair
tries each literal of the failing path +-1 alone; the slip is off that path (in a table of offsets) and
may need a higher-order mutant: each integer literal the suspect wrote, alone, with the others of its
line, or with every literal after it to the end of that run of its lines, moved by the same +-1.
Literals are found with `tokenize`, so strings and comments are never touched; a shift that would make a
number negative is not made.
"""

from __future__ import annotations

import io
import re
import tokenize

from agents.revert import Candidate

__all__ = ["shifted_literal_candidates"]

_INT = re.compile(r"[0-9]+")  # decimal literals only: 0x10, 1_000, 1e3 and 0.5 are not offsets
MAX_PER_FILE = 48  # a layout of 12 fields: each of its 24 numbers alone, both ways


def _int_literals(text: str) -> dict[int, list[tuple[int, int, int]]]:
    """line -> [(start column, end column, value)] of the decimal integer literals on it."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NUMBER and _INT.fullmatch(tok.string) and tok.start[0] == tok.end[0]:
                out.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], int(tok.string)))
    except (tokenize.TokenError, SyntaxError):
        return {}
    return out


def _runs(lines: set[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for n in sorted(lines):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _shifted(lines: list[str], which: list[tuple[int, int, int, int]], delta: int) -> str | None:
    """`lines` with each literal of `which` (line, start column, end column, value) moved by `delta`."""
    out = list(lines)
    for n, a, b, value in sorted(which, reverse=True):
        if value + delta < 0:
            return None
        out[n - 1] = out[n - 1][:a] + str(value + delta) + out[n - 1][b:]
    return "".join(out)


def shifted_literal_candidates(head: dict[str, str], blamed: dict[str, set[int]]) -> list[Candidate]:
    """For each run of consecutive HEAD lines the suspect wrote, by -1 and by +1: each of its integer
    literals alone, each line's literals together, and the literals from each one to the run's end."""
    out: list[Candidate] = []
    for path, numbers in sorted(blamed.items()):
        text = head.get(path)
        if not text or not numbers:
            continue
        literals = _int_literals(text)
        lines = text.splitlines(keepends=True)
        made: dict[str, Candidate] = {}
        for run in _runs(numbers):
            items = [(n, a, b, v) for n in run for a, b, v in literals.get(n, [])]
            choices = [[item] for item in items] + [items[k:] for k in range(len(items) - 1)]
            choices += [[i for i in items if i[0] == n] for n in run if len(literals.get(n, [])) > 1]
            for which in choices:
                for delta in (-1, 1):
                    new = _shifted(lines, which, delta)
                    if new is None or new in made:
                        continue
                    first, last = which[0][0], which[-1][0]
                    where = f"{path}:{first}" + (f"-{last}" if last != first else "")
                    what = f"{len(which)} numbers from {which[0][3]}" if len(which) > 1 else f"number {which[0][3]}"
                    made[new] = Candidate({path: new}, "template:literal_shift",
                                          f"the suspect's {what} at {where} shifted by {delta:+d}",
                                          size=len(which), tier=2)
        out += sorted(made.values(), key=lambda c: c.size)[:MAX_PER_FILE]
    return out
