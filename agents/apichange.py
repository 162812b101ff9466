"""Repairs for an API the suspect changed under its callers: a property that became a method, an exception
class that left the family its callers catch.

    made = properties_made_methods(root, sha, parent)        # {"total"}: `@property def total` -> `def total(...)`
    cands = api_candidates(shape, sites, texts, made)

A caller still reading `order.total` gets a bound method (`'>=' not supported between instances of
'method' and 'int'`): every read of that attribute in the caller's file is called instead. An exception
raised through a frame whose `except T:` no longer catches it (`class ParseError(Exception)` where the
caller catches ValueError): the class is derived from T as well, or the handler widened to catch it. A
standard library error that escaped (`Decimal('N/A')`'s `decimal.InvalidOperation` where `float()` raised
the ValueError the caller catches) is turned into T where it is raised, or the handler catches it too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from agents.repro import ErrorShape
from agents.revert import Candidate, file_at
from agents.sourcetext import indent_of, parsed, simple_statement_at, source_lines, try_around, with_import
from agents.templates import Site

__all__ = ["properties_made_methods", "api_candidates"]

_PROPERTY = re.compile(r"@property\s*\n\s*def\s+(\w+)\s*\(")


def properties_made_methods(root: Path, commit: str, parent: str | None, paths: list[str]) -> set[str]:
    """Names that were `@property` in `parent` and are plain methods in `commit`, in `paths`."""
    out: set[str] = set()
    for path in paths:
        before, after = file_at(str(root), parent, path) or "", file_at(str(root), commit, path) or ""
        for name in set(_PROPERTY.findall(before)) - set(_PROPERTY.findall(after)):
            if re.search(rf"^\s*def\s+{name}\s*\(", after, re.M):
                out.add(name)
    return out


def api_candidates(shape: ErrorShape, message: str, sites: list[Site], texts: dict[str, str],
                   made_methods: set[str]) -> list[Candidate]:
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()

    def add(path: str, new_text: str, what: str, size: int, tier: int) -> None:
        if new_text != texts[path] and (path, new_text) not in seen:
            seen.add((path, new_text))
            out.append(Candidate({path: new_text}, "template:api_change", what, size, tier=tier))

    if made_methods and "method" in message:
        for site in sites:
            text = texts.get(site.path)
            if text is None or site.tier >= 2:
                continue
            for name in sorted(made_methods):
                read = re.compile(rf"(\w\.{name})\b(?!\s*\()")
                if read.search(text):
                    add(site.path, read.sub(r"\1()", text), f"call {name}() where {site.path} reads it as a "
                        "property", len(read.findall(text)), site.tier)
    out += _escaped_exception(shape, sites, texts, message)
    return out


def _escaped_exception(shape: ErrorShape, sites: list[Site], texts: dict[str, str], message: str = ""
                       ) -> list[Candidate]:
    """The raised class, defined in the repository, escaped an `except T:` around a call on the path."""
    raised = shape.exc_type.rsplit(".", 1)[-1]
    # a standard library error (`decimal.InvalidOperation`): a module Python names, not builtins, not ours
    named = re.match(rf"\s*([\w.]+)\.{re.escape(raised)}\b", message)  # the report names it in full
    module = shape.exc_type.rsplit(".", 1)[0] if "." in shape.exc_type else named[1] if named else ""
    module = module if module and module.split(".")[0] in sys.stdlib_module_names else ""
    defined = {p: m for p, t in texts.items() if (m := re.search(rf"^class\s+{raised}\s*\(([^)]*)\)\s*:", t, re.M))}
    caught: list[tuple[Site, int, str]] = []  # (site, line number of the except, the type it catches)
    for site in sites:
        text = texts.get(site.path)
        if text is None or site.tier != 1:
            continue
        lines = [x.rstrip("\n") for x in source_lines(text)]
        depth = len(lines[site.line - 1]) - len(lines[site.line - 1].lstrip())
        for k in range(site.line, min(len(lines), site.line + 30)):  # the handlers after the call, same block
            stripped = lines[k].lstrip()
            indent = len(lines[k]) - len(stripped)
            if stripped and indent < depth - 4:
                break
            m = re.match(r"except\s+\(?([\w., ]+?)\)?(\s+as\s+\w+)?\s*:", stripped)
            if m and indent < depth and raised not in m.group(1):
                caught += [(site, k + 1, t.strip()) for t in m.group(1).split(",") if t.strip()]
    out = []
    for site, number, handled in caught:
        for path, m in defined.items():  # derive the class from what the caller catches
            bases = [b.strip() for b in m.group(1).split(",") if b.strip()]
            new_bases = [handled] if bases in ([], ["Exception"]) else [*bases, handled]
            text = texts[path]
            new_text = text[: m.start(1)] + ", ".join(new_bases) + text[m.end(1):]
            out.append(Candidate({path: new_text}, "template:api_change", f"{raised} derives from {handled} "
                                 f"(caught at {site.path}:{number})", 2, tier=site.tier))
        lines = source_lines(texts[site.path])
        line = lines[number - 1]
        m = re.match(r"(\s*except\s+)\(?([\w., ]+?)\)?((?:\s+as\s+\w+)?\s*:.*\n?)$", line)
        if m and (defined or module):  # a builtin error (AttributeError from a None) escaping is a bug upstream
            widened = f"{m.group(1)}({m.group(2)}, {raised}){m.group(3)}"
            new_text = "".join(lines[: number - 1]) + widened + "".join(lines[number:])
            if module and not defined:
                new_text = with_import(new_text, module, raised)
            out.append(Candidate({site.path: new_text}, "template:api_change", f"except also catches {raised} at "
                                 f"{site.path}:{number}", 2, tier=site.tier))
    if module and not defined and caught:  # the raiser turns it into what its callers catch, as it did before
        handled = caught[0][2]
        out += _converted_at_raise(shape, sites, texts, module, raised, handled)
    return out


def _converted_at_raise(shape: ErrorShape, sites: list[Site], texts: dict[str, str], module: str, raised: str,
                        handled: str) -> list[Candidate]:
    """The crash statement in `try`, its `except raised` raising `handled` (a standard library error, such as
    decimal's `InvalidOperation` where `float()` raised the `ValueError` its callers catch)."""
    crash = next((s for s in sites if s.tier == 0 and s.path in texts), None)
    if crash is None:
        return []
    text = texts[crash.path]
    tree, lines = parsed(text), source_lines(text)
    stmt = simple_statement_at(tree, lines, crash.line) if tree else None
    if stmt is None:
        return []
    indent = indent_of(lines[stmt.lineno - 1])
    handler = f"{indent}raise {handled}(str(exc)) from exc\n"
    new_text = with_import(try_around(lines, stmt, f"except {raised} as exc:", handler), module, raised)
    return [Candidate({crash.path: new_text}, "template:api_change", f"{raised} raised at {crash.path}:{stmt.lineno} "
                      f"becomes the {handled} its callers catch", 2, tier=crash.tier)]
