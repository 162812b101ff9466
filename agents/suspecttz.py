"""A naive time left behind where the suspect made its own times aware: made aware in the suspect's zone.

    cands = suspect_zone_candidates(root, message, sites, texts, suspects)

A change makes a function return aware datetimes (`local.replace(tzinfo=SCHOOL_TZ).astimezone(timezone.utc)`,
for a gateway that wants UTC); a caller it missed still parses naive local times and compares them with the
now aware value: `can't compare offset-naive and offset-aware datetimes`. Reading the naive time as UTC
passes the repro but moves every comparison by the zone's offset (a form handed in at 16:35 in summer becomes
late). The naive times were in the zone the suspect itself attached to its own naive values, so that zone is
attached to them: `datetime.fromisoformat(s).replace(tzinfo=SCHOOL_TZ)`, the name imported from the module
that defines it.
"""

from __future__ import annotations

import re
from pathlib import Path

from agents.revert import Candidate
from agents.sourcetext import import_from, source_lines
from agents.suspectdiff import diff_lines
from agents.templates import Site

__all__ = ["suspect_zones", "suspect_zone_candidates"]

_ZONE = re.compile(r"^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(?:ZoneInfo|zoneinfo\.ZoneInfo|gettz|tz\.gettz)\(")
_PARSED = re.compile(r"(datetime\.(?:fromisoformat|strptime)\((?:[^()]|\([^()]*\))*\))")
_NAIVE = re.compile(r"offset-naive and offset-aware|offset-aware and offset-naive")


def suspect_zones(root: Path, suspects: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(zone name, repository path of the module defining it) for each zone constant a suspect defined or used
    to make its times aware (`tzinfo=NAME`, `.astimezone(NAME)`)."""
    out: list[tuple[str, str]] = []
    for sha, parent in suspects:
        path, used = "", set()
        for line in diff_lines(root, sha, parent):
            if line.startswith("+++ "):
                path = line[6:] if line.startswith("+++ b/") else ""
            elif line.startswith("+") and path.endswith(".py"):
                if (m := _ZONE.match(line[1:])) and (m[1], path) not in out:
                    out.append((m[1], path))
                used.update(re.findall(r"(?:tzinfo=|astimezone\()([A-Z_][A-Z0-9_]*)\b", line))
        out.sort(key=lambda z: z[0] not in used)  # a zone the suspect attached first
    return out


def suspect_zone_candidates(root: Path, message: str, sites: list[Site], texts: dict[str, str],
                            suspects: list[tuple[str, str | None]]) -> list[Candidate]:
    if not _NAIVE.search(message):
        return []
    zones = suspect_zones(root, suspects)
    out: list[Candidate] = []
    for site in sites:
        text = texts.get(site.path)
        if text is None or site.tier >= 2 or not zones:
            continue
        lines = source_lines(text)
        if not 1 <= site.line <= len(lines):
            continue
        line = lines[site.line - 1]
        # the crash line, or the line above it that parsed the naive value it compares
        for k in range(site.line - 1, max(-1, site.line - 12), -1):
            if _PARSED.search(lines[k]):
                line, number = lines[k], k + 1
                break
        else:
            continue
        for name, path in zones:
            new_line = _PARSED.sub(lambda m, n=name: f"{m[1]}.replace(tzinfo={n})", line)
            new_text = "".join(lines[: number - 1]) + new_line + "".join(lines[number:])
            new_text = import_from(new_text, name, path, site.path)
            if new_text != text and all(c.texts.get(site.path) != new_text for c in out):
                out.append(Candidate({site.path: new_text}, "template:suspect_zone",
                                     f"the naive time parsed at {site.path}:{number} read in {name}, the zone the "
                                     "suspect gave its own times", 2, tier=site.tier))
    return out
