"""Fixes for keys a suspect changed: a consumer it did not update, tuple positions that became keys, data
written before a rename (called by `agents.templates.template_candidates`).

    out += stale_keys(site, text, body, shape, message, keys, seen)
    out += spread_keywords(site, text, body, message, renames, seen)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents.repro import ErrorShape
from agents.revert import Candidate, token_distance

if TYPE_CHECKING:  # templates imports this module
    from agents.templates import Site

__all__ = ["stale_keys", "spread_keywords", "positions_to_keys", "unpacked_to_keys", "key_fallbacks"]


def stale_keys(site: Site, text: str, line: str, shape: ErrorShape, message: str, keys: dict[str, list[str]],
                seen: set[tuple[str, str]]) -> list[Candidate]:
    """A KeyError on a key the suspect renamed elsewhere (or a lookup error on a line reading one: a regular
    expression's group the suspect renamed): the key on the crash line read under its new name,
    then every key the suspect renamed read under its new name in the whole file (a consumer the refactor
    missed reads several of them)."""
    m = re.search(r"""(["'])(.+?)\1\s*$""", message)
    if shape.exc_type not in ("KeyError", "IndexError") or site.tier >= 2:
        return []
    if m:
        if m.group(2) not in keys:
            return []
        key = m.group(2)
    else:  # a lookup whose error does not name the key (`m.group("status")`: IndexError: no such group)
        key = next((k for k in keys if _quoted(k).search(line)), "")
        if not key:
            return []
    out: list[Candidate] = []
    quoted = _quoted(key)
    if not quoted.search(line):
        return []
    lines = text.splitlines(keepends=True)
    texts = [(_swap_on_line(lines, site.line, quoted, new), f"key {key!r} -> {new!r}") for new in keys[key]]
    # the new key where the data has it, the old one where it does not (data made before the rename)
    read = re.compile(r"([\w.]+)\[([\"'])" + re.escape(key) + r"\2\]")
    for new in keys[key]:
        both = read.sub(lambda r, n=new: f"({r[1]}[{r[2]}{n}{r[2]}] if {r[2]}{n}{r[2]} in {r[1]} else {r[0]})",
                        line)
        if both != line:
            lines_both = [*lines[: site.line - 1], both + lines[site.line - 1][len(line):], *lines[site.line:]]
            texts.append(("".join(lines_both), f"key {key!r} -> {new!r}, {key!r} where it is not"))
    every = text
    for old, news in keys.items():
        every = _quoted(old).sub(lambda q, n=news[0]: f"{q.group(1)}{n}{q.group(1)}", every)
    texts.append((every, f"every key the suspect renamed ({len(keys)}) in {site.path}"))
    for new_text, what in texts:
        if new_text != text and (site.path, new_text) not in seen:
            seen.add((site.path, new_text))
            out.append(Candidate({site.path: new_text}, "template:stale_key", f"{what} at {site.path}:{site.line}",
                                 token_distance(text, new_text) or 1, tier=site.tier))
    return out


_KEYWORD = re.compile(r"unexpected keyword argument '(\w+)'")


def spread_keywords(site: Site, text: str, line: str, message: str, renames: dict[str, list[str]],
                    seen: set[tuple[str, str]]) -> list[Candidate]:
    """A keyword the suspect renamed in a signature, passed by a caller through a dict it spreads
    (`quote(..., **options)` with `options["coupon"] = ...`): the dict's key renamed, in the function the
    call is in, up to the call (`"coupon"` -> `"promo_code"`, `dict(coupon=...)` -> `dict(promo_code=...)`)."""
    m = _KEYWORD.search(message)
    if not m or site.tier >= 2 or m.group(1) not in renames or not re.search(r"\*\*\s*[A-Za-z_]", line):
        return []
    stale = m.group(1)
    lines = text.splitlines(keepends=True)
    start = site.line - 1
    depth = len(lines[start]) - len(lines[start].lstrip())
    while start > 0 and not (lines[start - 1].lstrip().startswith(("def ", "async def "))
                             and len(lines[start - 1]) - len(lines[start - 1].lstrip()) < depth):
        start -= 1
    as_key = re.compile(rf"""(["']){stale}\1|(?<=[(,]){stale}(?=\s*=[^=])|(?<=[(,] ){stale}(?=\s*=[^=])""")
    out = []
    for new in renames[stale]:
        span = [as_key.sub(lambda k, n=new: f"{k[1]}{n}{k[1]}" if k[1] else n, x) for x in lines[start: site.line]]
        new_text = "".join(lines[:start] + span + lines[site.line:])
        if new_text != text and (site.path, new_text) not in seen:
            seen.add((site.path, new_text))
            out.append(Candidate({site.path: new_text}, "template:spread_keyword",
                                 f"keyword {stale!r} -> {new!r} in the arguments spread at {site.path}:{site.line}",
                                 token_distance(text, new_text) or 1, tier=site.tier))
    return out


def positions_to_keys(site: Site, lines: list[str], line: str, nl: str, shape: ErrorShape, message: str,
                       positions: dict[int, str], seen: set[tuple[str, str]]) -> list[Candidate]:
    """A KeyError on an integer where the suspect turned a returned tuple into a dict: every `[i]` of the
    crash line read as the key position i became (`parts[1]` -> `parts['last']`)."""
    m = re.search(r"(-?\d+)\s*$", message)
    if shape.exc_type != "KeyError" or site.tier >= 2 or not m or int(m.group(1)) not in positions:
        return []
    quote = '"' if "f'" in line else "'"
    new_line = re.sub(r"\[\s*(-?\d+)\s*\]",
                      lambda q: f"[{quote}{positions[int(q.group(1))]}{quote}]" if int(q.group(1)) in positions
                      else q.group(0), line)
    new_text = "".join(lines[: site.line - 1]) + new_line + nl + "".join(lines[site.line:])
    if new_line == line or (site.path, new_text) in seen:
        return []
    seen.add((site.path, new_text))
    return [Candidate({site.path: new_text}, "template:tuple_to_dict", f"positions -> dict keys at "
                      f"{site.path}:{site.line}", token_distance(line, new_line), tier=site.tier)]


_UNPACK = re.compile(r"^(\s*)(\w+(?:\s*,\s*\w+)+)\s*,?\s*=\s*(?!=)(.+?)\s*$")


def unpacked_to_keys(site: Site, lines: list[str], line: str, nl: str, shape: ErrorShape, message: str,
                     positions: dict[int, str], seen: set[tuple[str, str]]) -> list[Candidate]:
    """A ValueError unpacking what the suspect turned from a tuple into a dict (unpacking a dict gives its
    keys): each name read from the key its position became (`mean, count = summarize(xs)` ->
    `result = summarize(xs)` / `mean, count = result["mean"], result["count"]`)."""
    at, m = site.line, _UNPACK.match(line)
    if site.tier >= 2 or not positions:
        return []
    if not (m and shape.exc_type == "ValueError" and re.search(r"(too many|not enough) values to unpack", message)):
        # as many names as keys unpack without an error: the keys are the values, and a later line of the
        # function fails on one (`tax, rate = compute_tax(...)`; `total += tax` adds a str)
        used = set(re.findall(r"[A-Za-z_]\w*", line))
        at, m = next(((k, u) for k in range(site.line - 1, max(site.line - 12, 0), -1)
                      if (u := _UNPACK.match(lines[k - 1].rstrip("\n")))
                      and used & {n.strip() for n in u.group(2).split(",")}), (at, None))
        if m is None:
            return []
    indent, names, value = m.group(1), [n.strip() for n in m.group(2).split(",")], m.group(3)
    if len(names) < 2 or not all(i in positions for i in range(len(names))):
        return []
    text = "".join(lines)
    holder = next((h for h in ("result", "fields", "record") if not re.search(rf"\b{h}\b", text)), None)
    if holder is None:
        return []
    new = (f"{indent}{holder} = {value}{nl}{indent}{', '.join(names)} = "
           + ", ".join(f"{holder}[{positions[i]!r}]" for i in range(len(names))))
    new_text = "".join(lines[: at - 1]) + new + nl + "".join(lines[at:])
    if (site.path, new_text) in seen:
        return []
    seen.add((site.path, new_text))
    return [Candidate({site.path: new_text}, "template:tuple_to_dict", f"unpacked positions -> dict keys at "
                      f"{site.path}:{at}", token_distance(lines[at - 1], new), tier=site.tier)]


def key_fallbacks(site: Site, lines: list[str], line: str, nl: str, keys: dict[str, list[str]],
                   seen: set[tuple[str, str]]) -> list[Candidate]:
    """A read of a key the suspect renamed, falling back to the old key: data written before the rename
    (reports, stored jobs, other services) still carries it (`job.get("interval")` ->
    `(job.get("interval") or job.get("every"))`)."""
    if site.tier >= 2:
        return []
    out = []
    for old, news in keys.items():
        for new in news:
            get = re.compile(r"""([\w.]+)\.get\((["'])%s\2\)""".replace("%s", re.escape(new)))
            index = re.compile(r"""([\w.]+)\[(["'])%s\2\]""".replace("%s", re.escape(new)))
            new_line = get.sub(lambda m, o=old, n=new: f"({m.group(1)}.get({m.group(2)}{n}{m.group(2)}) or "
                               f"{m.group(1)}.get({m.group(2)}{o}{m.group(2)}))", line)
            new_line = index.sub(lambda m, o=old, n=new: f"{m.group(1)}.get({m.group(2)}{n}{m.group(2)}, "
                                 f"{m.group(1)}.get({m.group(2)}{o}{m.group(2)}))", new_line)
            new_text = "".join(lines[: site.line - 1]) + new_line + nl + "".join(lines[site.line:])
            if new_line != line and (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:key_fallback", f"key {new!r} falls back to "
                                     f"{old!r} at {site.path}:{site.line}", token_distance(line, new_line),
                                     tier=site.tier))
    return out


def _quoted(key: str) -> re.Pattern[str]:
    return re.compile("([\"'])" + re.escape(key) + r"\1")


def _swap_on_line(lines: list[str], number: int, quoted: re.Pattern[str], new: str) -> str:
    line = quoted.sub(lambda q: f"{q.group(1)}{new}{q.group(1)}", lines[number - 1])
    return "".join(lines[: number - 1]) + line + "".join(lines[number:])
