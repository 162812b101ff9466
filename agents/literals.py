"""Numbers the suspect wrote, shifted together: offsets that are off by one from some line on.

    blamed = {"bank/layout.py": {3, 4, 5, 6}}            # HEAD lines the suspect wrote
    cands = shifted_literal_candidates(head, blamed)      # -> [Candidate], unit "template:literal_shift"

A commit that inserts a field into a layout (columns, byte offsets, bit positions, indices, ports) rewrites
every number after it, and one slip shifts all the numbers after the slip by one. Mutation-based repair
tries each literal +-1 alone; the slip needs a higher-order mutant: every integer literal the suspect
wrote, from one of its lines to the end of that run of its lines, moved by the same +-1 (and the
literals of one line moved together). Literals are found with `tokenize`, so strings and comments are
never touched; a shift that would make a number negative is not made.
"""

from __future__ import annotations

import io
import re
import tokenize

from agents.revert import Candidate

__all__ = ["shifted_literal_candidates"]

_INT = re.compile(r"[0-9]+")  # decimal literals only: 0x10, 1_000, 1e3 and 0.5 are not offsets
MAX_PER_FILE = 16


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


def _shifted(lines: list[str], literals: dict[int, list[tuple[int, int, int]]], which: list[int],
             delta: int) -> str | None:
    out = list(lines)
    for n in which:
        line = out[n - 1]
        for a, b, value in sorted(literals[n], reverse=True):
            if value + delta < 0:
                return None
            line = line[:a] + str(value + delta) + line[b:]
        out[n - 1] = line
    return "".join(out)


def shifted_literal_candidates(head: dict[str, str], blamed: dict[str, set[int]]) -> list[Candidate]:
    """For each run of consecutive HEAD lines the suspect wrote: its integer literals from each of its
    lines to the run's end shifted by -1 and by +1, and each line's literals shifted together."""
    out: list[Candidate] = []
    for path, numbers in sorted(blamed.items()):
        text = head.get(path)
        if not text or not numbers:
            continue
        literals = _int_literals(text)
        lines = text.splitlines(keepends=True)
        made: list[Candidate] = []
        for run in _runs(numbers):
            with_numbers = [n for n in run if literals.get(n)]
            choices = [with_numbers[i:] for i in range(len(with_numbers))]
            choices += [[n] for n in with_numbers if len(literals[n]) > 1 and [n] not in choices]
            for which in choices:
                for delta in (-1, 1):
                    new = _shifted(lines, literals, which, delta)
                    if new is None:
                        continue
                    size = sum(len(literals[n]) for n in which)
                    where = f"{path}:{which[0]}" + (f"-{which[-1]}" if len(which) > 1 else "")
                    made.append(Candidate({path: new}, "template:literal_shift",
                                          f"the suspect's numbers at {where} shifted by {delta:+d}", size=size,
                                          tier=2))
        made.sort(key=lambda c: c.size)
        out += made[:MAX_PER_FILE]
    return out
