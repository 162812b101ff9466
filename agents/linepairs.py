"""Which line of a commit's old text became which line of its new one: the pairs the token-level undo works on.

    pairs = pair_lines(old_block, new_block, owners(before)[i1:i2], owners(after)[j1:j2])   # [(i, j), ...]
    more = across_hunks(hunks, before_lines, after_lines, owners(before), owners(after), set(pairs))

Lines pair when they are alike by their characters, the most alike first (a comment only with a comment, and
lines of the same function before a look-alike of another); a line rewritten at length pairs by how it opens or
by the one name both sides assign. A function the diff cut into several hunks is paired across them.
"""

from __future__ import annotations

import difflib
import re

from agents.forensics import function_spans

__all__ = ["OPENING", "across_hunks", "is_comment", "owners", "pair_lines", "tokens"]

_TOKEN = re.compile(r'[A-Za-z_]\w*|\d[\w.]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|==|!=|<=|>=|//|\*\*|->|:=|\S')


def tokens(line: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(line)]


OPENING = 5  # tokens two lines must share at their start to pair when rewritten at length
_TARGET = re.compile(r"\s*([A-Za-z_][\w.]*)\s*(?::[^=]+)?=(?!=)")  # the name a line assigns


def owners(text: str) -> list[str | None]:
    """The innermost function holding each line (0-based), None outside any."""
    out: list[str | None] = [None] * (text.count("\n") + 1)
    for span in sorted(function_spans(text), key=lambda sp: sp.end - sp.start, reverse=True):
        for k in range(span.start - 1, min(span.end, len(out))):
            out[k] = span.qualname
    return out


def pair_lines(b: list[str], a: list[str], b_owner: list[str | None] | None = None,
               a_owner: list[str | None] | None = None) -> list[tuple[int, int]]:
    """Pairs (i, j) of similar lines in a replaced block (for token-level undo): alike by characters, or,
    for a line rewritten at length, opening with the same `OPENING` tokens (`return json.dumps(payload`
    grown by four keyword arguments and stripped of its `.encode()` is still that line), or assigning the
    one name both sides assign once."""
    def owned_alike(i: int, j: int) -> float:  # lines of the same function pair before look-alikes of another
        same = b_owner is not None and a_owner is not None and b_owner[i] is not None and b_owner[i] == a_owner[j]
        return 0.25 if same else 0.0

    scored = [(difflib.SequenceMatcher(None, old.strip(), line.strip()).ratio(), i, j)
              for j, line in enumerate(a) for i, old in enumerate(b) if is_comment(old) == is_comment(line)]
    pairs, used, paired = [], set(), set()
    for score, i, j in sorted(scored, key=lambda x: (-x[0] - owned_alike(x[1], x[2]), x[2], x[1])):  # most alike
        if score > 0.5 and i not in used and j not in paired:
            used.add(i)
            paired.add(j)
            pairs.append((i, j))
    for j, line in enumerate(a):
        if j in paired:
            continue
        opening = [t[0] for t in tokens(line)][:OPENING]
        same = [i for i, old in enumerate(b) if i not in used and len(opening) == OPENING
                and [t[0] for t in tokens(old)][:OPENING] == opening]
        best = same[0] if len(same) == 1 else None  # one line opens that way: no guess between several
        if best is None and (target := _TARGET.match(line)):  # `CHUNK = 8 * 1024` -> `CHUNK = int(os.environ…)`
            same = [i for i, old in enumerate(b) if i not in used and (m := _TARGET.match(old))
                    and m.group(1) == target.group(1)]
            best = same[0] if len(same) == 1 else None
        if best is None and line.strip().startswith("return ") and not is_comment(line):
            # the one return left on each side: `iban.replace(" ", "").upper()` -> `_SEPARATORS.sub("", iban)`
            same = [i for i, old in enumerate(b) if i not in used and old.strip().startswith("return ")]
            others = [k for k, new in enumerate(a) if k not in paired and k != j and new.strip().startswith("return ")]
            best = same[0] if len(same) == 1 and not others else None
        if best is not None:
            used.add(best)
            pairs.append((best, j))
    pairs.sort(key=lambda p: p[1])
    return pairs


def across_hunks(hunks: list[tuple[str, int, int, int, int]], b: list[str], a: list[str], b_own: list[str | None],
                 a_own: list[str | None], paired: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """(old, new) lines of the same function that the hunks did not pair (the diff cut the function in two, or
    paired the old line with a look-alike of another function): each old line with its most alike new one."""
    settled = {i for i, j in paired if b_own[i] == a_own[j]}  # paired inside its own function: done
    removed = [i for _, i1, i2, _, _ in hunks for i in range(i1, i2) if i not in settled]
    added = [j for _, _, _, j1, j2 in hunks for j in range(j1, j2) if j not in {p[1] for p in paired}]
    out = []
    for i in removed:
        mates = [j for j in added if b_own[i] is not None and a_own[j] == b_own[i] and not is_comment(a[j])]
        scored = [(difflib.SequenceMatcher(None, b[i].strip(), a[j].strip()).ratio(), j) for j in mates]
        best = max(scored, default=None)
        if best is not None and best[0] > 0.4:
            out.append((i, best[1]))
    return out


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")
