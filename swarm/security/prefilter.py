r"""Literals that every match of a regex contains: a substring test that skips a regex search.

    from swarm.security.prefilter import required_literals, may_match
    hints = required_literals(r"\b(?:curl|wget)\s+-o")  # ("curl", "wget"): every match holds one of them
    may_match(hints, "pip install x")                    # False: the regex cannot match this text
    required_literals(r"(?:^|\s)-{3,}")                  # ("---",)
    required_literals(r"\w+@\w+")                        # ("@",)
    required_literals(r"[a-z]+")                         # None: no literal is required

Python's `re` finds a literal-prefixed pattern with a fast substring scan, but a pattern that opens with
`\b`, a look-behind or a group of alternatives is tried at every position of the text: 38 such rule regexes
cost about 250 µs on a 1 KB stack trace, where a few `str.__contains__` calls cost a few µs. The literals
are read from the parsed pattern (`re._parser`), so they are exact: of the parts a match is made of in
sequence, one that is a literal run, a group whose every alternative requires a literal, or a repeat of
at least once (`-{3,}`: "---") gives the strings of which the match contains one; the most selective part
is kept (longest shortest string). Look-arounds, classes, optional parts give nothing. Case-insensitive
and verbose patterns get none (`str.lower` and `re`'s case folding differ on a few characters).
"""

from __future__ import annotations

import re
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["required_literals", "may_match"]

_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT)}


def _better(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The more selective of two hint sets: the longer shortest string, then the fewer strings."""
    if a is None or b is None:
        return a or b
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


def _item(op: Any, av: Any) -> tuple[str, ...] | None:
    """The strings of which every match of one parsed element contains one (None: not known)."""
    if op is sre_c.LITERAL:
        return (chr(av),)
    if op is sre_c.SUBPATTERN:
        if av[1] or av[2]:  # flags switched on or off inside the group (e.g. `(?i:...)`)
            return None
        return _sequence(list(av[-1]))
    if op is sre_c.BRANCH:
        found: list[str] = []
        for branch in av[1]:
            got = _sequence(list(branch))
            if got is None:
                return None
            found.extend(got)
        return tuple(dict.fromkeys(found))
    if op in _REPEATS:
        low, _high, body = av
        body = list(body)
        if low < 1:
            return None
        if len(body) == 1 and body[0][0] is sre_c.LITERAL:  # `-{3,}`: the character, `low` times
            return (chr(body[0][1]) * min(low, 8),)
        return _sequence(body)
    return None


def _sequence(items: list[tuple[Any, Any]]) -> tuple[str, ...] | None:
    """The best hint set of a sequence: literal runs joined, else the most selective element's."""
    best: tuple[str, ...] | None = None
    run: list[str] = []
    for op, av in items + [(None, None)]:
        if op is sre_c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            best = _better(best, ("".join(run),))
            run = []
        if op is not None:
            best = _better(best, _item(op, av))
    return best


def required_literals(pattern: str | re.Pattern[str]) -> tuple[str, ...] | None:
    """The strings of which every match of `pattern` contains one, or None when none is known."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    try:
        parsed = sre_parse.parse(source, flags)
    except re.error:
        return None
    if (flags | parsed.state.flags) & (re.IGNORECASE | re.VERBOSE):
        return None
    found = _sequence(list(parsed))
    return found if found and all(found) else None


def may_match(hints: tuple[str, ...] | None, text: str) -> bool:
    """False when the regex that `hints` came from cannot match `text`."""
    return hints is None or any(h in text for h in hints)
