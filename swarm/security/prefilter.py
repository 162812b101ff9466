r"""Literals that every match of a regex contains: a substring test that skips a regex search.

    from swarm.security.prefilter import required_literals, may_match
    hints = required_literals(r"\b(?:curl|wget)\s+-o")  # (("-o",), ("curl", "wget")): one of each group
    may_match(hints, "pip install x")                    # False: the regex cannot match this text
    required_literals(r"(?:^|\s)-{3,}")                  # (("---",),)
    required_literals(r"[a-z]+")                         # (): nothing is known, always searched

Python's `re` finds a literal-prefixed pattern with a fast substring scan, but a pattern that opens with
`\b`, a look-behind or a group of alternatives is tried at every position of the text: 38 such rule regexes
cost about 250 µs on a 1 KB stack trace, where a few `str.__contains__` calls cost a few µs. The literals
are read from the parsed pattern (`re._parser`), so they are exact: each of the parts a match is made of in
sequence that is a literal run, a group whose every alternative requires a literal (the alternatives' best
strings together), or a repeat of at least once (`-{3,}`: "---") gives a group of strings of which the
match holds one; the most selective groups are kept (longest shortest string, then fewest strings), and
all must hold. Look-arounds, classes, optional parts give nothing. Case-insensitive
and verbose patterns get none (`str.lower` and `re`'s case folding differ on a few characters).
"""

from __future__ import annotations

import re
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["required_literals", "ascii_only", "may_match", "Hints"]

_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT)}
MAX_GROUPS = 4  # the most selective groups kept per pattern

Group = tuple[str, ...]  # every match holds one of these strings
Hints = tuple[Group, ...]  # every match holds one string of each group (no group: nothing is known)


def _selectivity(group: Group) -> tuple[int, int]:
    return min(map(len, group)), -len(group)  # the longer its shortest string and the fewer strings, the better


def _item(op: Any, av: Any) -> list[Group]:
    """The groups that every match of one parsed element satisfies."""
    if op is sre_c.LITERAL:
        return [(chr(av),)]
    if op is sre_c.SUBPATTERN:
        if av[1] or av[2]:  # flags switched on or off inside the group (e.g. `(?i:...)`)
            return []
        return _sequence(list(av[-1]))
    if op is sre_c.BRANCH:  # one group: the best group of each alternative, together
        found: list[str] = []
        for branch in av[1]:
            groups = _sequence(list(branch))
            if not groups:
                return []
            found.extend(max(groups, key=_selectivity))
        return [tuple(dict.fromkeys(found))]
    if op in _REPEATS:
        low, _high, body = av
        body = list(body)
        if low < 1:
            return []
        if len(body) == 1 and body[0][0] is sre_c.LITERAL:  # `-{3,}`: the character, `low` times
            return [(chr(body[0][1]) * min(low, 8),)]
        return _sequence(body)
    return []


def _sequence(items: list[tuple[Any, Any]]) -> list[Group]:
    """The groups of a sequence: each literal run, and each element's groups."""
    groups: list[Group] = []
    run: list[str] = []
    for op, av in items + [(None, None)]:
        if op is sre_c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            groups.append(("".join(run),))
            run = []
        if op is not None:
            groups += _item(op, av)
    return groups


def required_literals(pattern: str | re.Pattern[str]) -> Hints:
    """Groups of strings such that every match of `pattern` holds a string of each group; the most
    selective `MAX_GROUPS`, cheapest to test first. Empty when nothing is known."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    try:
        parsed = sre_parse.parse(source, flags)
    except re.error:
        return ()
    if (flags | parsed.state.flags) & (re.IGNORECASE | re.VERBOSE):
        return ()
    groups = [g for g in dict.fromkeys(_sequence(list(parsed))) if g and all(g)]
    best = sorted(groups, key=_selectivity, reverse=True)[:MAX_GROUPS]
    return tuple(sorted(best, key=len))


def ascii_only(hints: Hints) -> Hints:
    """`hints` for an ASCII text: the strings it cannot hold dropped (a group left empty: no match)."""
    return tuple(tuple(h for h in group if h.isascii()) for group in hints)


def may_match(hints: Hints, text: str) -> bool:
    """False when the regex that `hints` came from cannot match `text`."""
    for group in hints:
        for literal in group:
            if literal in text:
                break
        else:
            return False
    return True
