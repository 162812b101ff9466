"""A reader left parsing the old format of a value its writer now writes in another.

    cands = format_fallback_candidates(message, sites, texts, added_lines)

A change makes the writer store dates as ISO (`given_on.isoformat()` where it was
`given_on.strftime("%d/%m/%Y")`) for a new consumer; a reader it missed still parses the old format, and
records written since fail: `time data '2024-05-03' does not match format '%d/%m/%Y'`. Old records are still
in the old format, so the reader must take both: the statement that parses goes in a `try`, and its
`except ValueError` parses the new format. The new format is read from the change (a `strftime` format it
added, or ISO for an `isoformat()`), else from the value itself (the common formats that parse it); the
repro (a value written since) and the tests (old values) decide between them. Only a format the change
writes makes a repair read off the suspect (`template:format`); one guessed from the value is a crash-site
template (`template:format_guess`), held back like the others when the repro's values never passed.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime

from agents.revert import Candidate, parses
from agents.sourcetext import called_name, char_offset, parsed, simple_statement_at, source_lines, try_around
from agents.templates import Site

__all__ = ["format_fallback_candidates", "formats_written"]

_MISMATCH = re.compile(r"time data (['\"])(?P<value>.*?)\1 does not match format (['\"])(?P<fmt>.*?)\3")
_STRFTIME = re.compile(r"strftime\(\s*[rbu]?(['\"])(?P<fmt>[^'\"]+)\1")
_COMMON = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z",
           "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d", "%d %B %Y", "%B %d, %Y",
           "%d %b %Y", "%b %d, %Y", "%H:%M", "%H:%M:%S")


def formats_written(added_lines: list[str]) -> list[str]:
    """Formats a change writes values in: its `strftime` formats, ISO's for an `isoformat()`."""
    out: list[str] = []
    for line in added_lines:
        out += [m["fmt"] for m in _STRFTIME.finditer(line)]
        if ".isoformat()" in line:
            out += ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"]
    return list(dict.fromkeys(out))


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def format_fallback_candidates(message: str, sites: list[Site], texts: dict[str, str], added_lines: list[str]
                               ) -> list[Candidate]:
    found = _MISMATCH.search(message)
    if found is None:
        return []
    value, old = found["value"], found["fmt"]
    # the change's own formats first (in its order), then the common ones; each must parse the failing value
    written = formats_written(added_lines)
    formats = [f for f in dict.fromkeys([*written, *_COMMON]) if f != old and _parses(value, f)]
    out: list[Candidate] = []
    for site in sites:
        text = texts.get(site.path)
        if text is None or site.tier >= 2 or "strptime" not in text:
            continue
        tree = parsed(text)
        lines = source_lines(text)
        stmt = simple_statement_at(tree, lines, site.line) if tree else None
        if stmt is None:
            continue
        call = next((c for c in ast.walk(stmt) if isinstance(c, ast.Call) and len(c.args) >= 2
                     and called_name(c) == "strptime"), None)
        fmt_node = call.args[1] if call else None
        fmt_text = ast.get_source_segment(text, fmt_node) if fmt_node else None
        if fmt_node is None or fmt_text is None:
            continue
        stmt_text = "".join(lines[stmt.lineno - 1: stmt.end_lineno])
        # the format argument as written on this statement (a name or a literal), replaced once
        col = char_offset(lines, fmt_node.lineno, fmt_node.col_offset) - char_offset(lines, stmt.lineno, 0)
        start = stmt_text.find(fmt_text, col if fmt_node.lineno == stmt.lineno else 0)
        if start < 0:
            continue
        for fmt in formats:
            other = stmt_text[:start] + repr(fmt) + stmt_text[start + len(fmt_text):]
            new_text = try_around(lines, stmt, f"except ValueError:  # written as {fmt} since", other)
            if parses(new_text) and all(c.texts.get(site.path) != new_text for c in out):
                # a format the change writes is read off the suspect; one guessed from the value is a crash-site
                # template like any other
                unit = "template:format" if fmt in written else "template:format_guess"
                why = "the suspect writes it" if fmt in written else "it parses the failing value"
                out.append(Candidate({site.path: new_text}, unit, f"{site.path}:{stmt.lineno} also reads "
                                     f"{fmt!r} when {old!r} does not match ({why})", 3, tier=site.tier))
    return out
