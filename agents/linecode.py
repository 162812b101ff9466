"""Code on one source line, read without parsing the file: the calls, their arguments, the subscripts.

    for name, start, end, args in calls('total = int(m.group("n"), 10) + f(x)'):
        ...   # ("int", 8, 29, [(12, 24), (25, 28)]), ("m.group", 12, 24, [(20, 23)]), ("f", 32, 36, [(34, 35)])

Templates rewrite single lines of code that may not parse alone (a line of a multi-line call); these read
balanced brackets and step over string literals, so commas and brackets inside strings do not count.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

__all__ = ["calls", "in_string", "subscripts", "is_literal", "mapping_reads"]


def calls(line: str) -> Iterator[tuple[str, int, int, list[tuple[int, int]]]]:
    """(name, start, end, [arg spans]) of each call `name(...)` in one line (balanced parentheses only;
    string literals are stepped over, so their commas and brackets do not count)."""
    for m in re.finditer(r"(\w[\w.]*)\s*\(", line):
        if in_string(line, m.start()):
            continue
        depth, args, start, k = 0, [], m.end(), m.end() - 1
        while k < len(line):
            ch = line[k]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
                if depth == 0:
                    args.append((start, k))
                    yield m.group(1), m.start(), k + 1, [(a, b) for a, b in args if line[a:b].strip()]
                    break
            elif ch == "," and depth == 1:
                args.append((start, k))
                start = k + 1
            elif ch in "\"'":
                k = _string_end(line, k)
                if k < 0:
                    break  # an unterminated string (a multi-line literal): leave this call alone
            k += 1


def is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
        return True
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _string_end(line: str, k: int) -> int:
    """The index of the quote closing the string literal opened at `k`, or -1."""
    quote, k = line[k], k + 1
    while k < len(line):
        if line[k] == "\\":
            k += 2
            continue
        if line[k] == quote:
            return k
        k += 1
    return -1


def in_string(line: str, pos: int) -> bool:
    k = 0
    while k < pos:
        if line[k] == "#":
            return True
        if line[k] in "\"'":
            end = _string_end(line, k)
            if end < 0 or end > pos:
                return True
            k = end
        k += 1
    return False


def subscripts(line: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, object text, key text) of simple `obj[key]` subscripts."""
    for m in re.finditer(r"([A-Za-z_][\w.]*(?:\(\))?)\[([^\[\]]+)\]", line):
        yield m.start(), m.end(), m.group(1), m.group(2)


def mapping_reads(line: str) -> list[tuple[int, int]]:
    """Spans of the values read out of mappings on the line (`data["id"]`, `params.get("qty", 1)`), left to
    right, nested reads and reads already converted by `int()` / `float()` left out."""
    spans = [(s, e) for s, e, _, key in subscripts(line) if ":" not in key]
    spans += [(s, e) for name, s, e, _ in calls(line) if name.endswith(".get")]
    spans = [(s, e) for s, e in spans if not re.search(r"\b(?:int|float)\(\s*$", line[:s])]
    return sorted((s, e) for s, e in spans if not any(a <= s and e <= b and (a, b) != (s, e) for a, b in spans))

