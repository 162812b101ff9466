"""A caller that changes what a function returns, left behind when the suspect cached that function.

    cached = newly_cached(root, sha, parent, paths)       # {"load_rates"}: `@lru_cache` added on it
    cands = cached_copy_candidates(cached, sites, texts)

A change memoises a function (`@lru_cache`, `@cache`, `@cached`) to stop re-reading a file; every call now
returns the same object. A caller that changed its result for its own use (`rates.pop("_base")`, an
`append`, a key set) now changes the cached one, and the next call finds it changed: `KeyError: '_base'` on
the second conversion of a day. The caller takes a copy of what it is handed, `copy.copy(load_rates(day))`
(or a deep copy, for nested tables), so the cache stays what the function computed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from agents.oldraise import functions_of
from agents.revert import Candidate, file_at
from agents.sourcetext import called_name, char_offset, parsed, source_lines, with_import
from agents.templates import Site

__all__ = ["cached_copy_candidates", "newly_cached"]

_CACHES = {"lru_cache", "cache", "cached", "memoize", "memoized", "cached_function"}


def _cached(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in _CACHES:
            return True
    return False


def newly_cached(root: Path, commit: str, parent: str | None, paths: list[str]) -> set[str]:
    """Functions of `paths` that `commit` decorated with a cache."""
    out: set[str] = set()
    for path in (p for p in paths if p.endswith(".py")):
        before = functions_of(file_at(str(root), parent, path))
        for name, fn in functions_of(file_at(str(root), commit, path)).items():
            if _cached(fn) and not (name in before and _cached(before[name])):
                out.add(name)
    return out


def cached_copy_candidates(cached: set[str], sites: list[Site], texts: dict[str, str]) -> list[Candidate]:
    """At each call of a newly cached function in the failing path's functions: a copy of what it returns."""
    out: list[Candidate] = []
    for site in sites:
        text = texts.get(site.path)
        if text is None or site.tier >= 2 or not cached:
            continue
        tree = parsed(text)
        if tree is None:
            continue
        lines = source_lines(text)
        fn = next((f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                   and f.lineno <= site.line <= (f.end_lineno or f.lineno)), None)
        for call in (c for c in ast.walk(fn or tree) if isinstance(c, ast.Call)):
            name = called_name(call)
            if name not in cached:
                continue
            start = char_offset(lines, call.lineno, call.col_offset)
            end = char_offset(lines, call.end_lineno or call.lineno, call.end_col_offset or 0)
            for how in ("copy", "deepcopy"):
                new = with_import(text[:start] + f"copy.{how}({text[start:end]})" + text[end:], "copy")
                if all(c.texts.get(site.path) != new for c in out):
                    out.append(Candidate({site.path: new}, "template:cached_copy", f"{name}() is cached now: "
                                         f"{site.path}:{call.lineno} changes a {how.replace('deep', 'deep ')} of "
                                         "what it returns, not the cached value", 1 if how == "copy" else 2,
                                         tier=site.tier))
    return out
