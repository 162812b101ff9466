"""Where the data moved: key paths a commit's data literals changed, read off the values that stayed.

    moves = moved_paths(root, sha, parent)      # {("ship_to", "country"): ("recipient", "address", "country_code")}
    cands = data_path_candidates(sites, head, moves)

A commit that changes a payload format changes its examples with it: fixtures, JSON files, dict literals
in tests and code. The same values sit under new keys (`"de"` was at `ship_to.country`, now at
`recipient.address.country_code`), so pairing each old example with its new self by the leaves whose
value occurs once in each gives the move of every key path the examples show, code or no code. A consumer
the commit missed reads the old paths: its subscript chains are rewritten to the new ones, on the crash
line and then in the whole file.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.revert import Candidate, token_distance
from agents.workspace import run_command

if TYPE_CHECKING:
    from agents.templates import Site

__all__ = ["moved_paths", "data_path_candidates"]

Path_ = tuple[str, ...]
_MAX_FILE = 500_000
_CHAIN = re.compile(r"""((?:\[\s*(["'])[^"'\[\]]+\2\s*\])+)""")


def _show(root: Path, rev: str, path: str) -> str | None:
    res = run_command(["git", "show", f"{rev}:{path}"], root, max_output=_MAX_FILE)
    return res.output if res.ok else None


def _literals(path: str, text: str) -> dict[str, Any]:
    """Named data literals of a file: a JSON document whole, or a Python file's assigned dict/list literals."""
    if path.endswith(".json"):
        try:
            return {"": json.loads(text)}
        except ValueError:
            return {}
    if not path.endswith(".py"):
        return {}
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Dict, ast.List)):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, SyntaxError, TypeError):
                continue
            for name in names:
                out[name] = value
    return out


def _leaves(value: Any, at: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(key path, leaf) pairs; list items are read as `*` so every item of a list shares its paths."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*at, str(k)))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, (*at, "*"))
    else:
        yield at, value


def _telling(leaf: Any) -> bool:
    """A leaf value that can identify its place: not a flag, an empty value or a tiny number."""
    if isinstance(leaf, bool) or leaf is None:
        return False
    if isinstance(leaf, (int, float)):
        return abs(leaf) >= 10
    return isinstance(leaf, str) and len(leaf) >= 2


def _pairs(old: Any, new: Any) -> Iterator[tuple[Path_, Path_]]:
    """(old path, new path) for each telling leaf value that occurs exactly once in each literal."""
    def once(value: Any) -> dict[Any, Path_]:
        seen: dict[Any, list[Path_]] = {}
        for path, leaf in _leaves(value):
            if _telling(leaf):
                seen.setdefault((type(leaf).__name__, leaf), []).append(path)
        return {k: v[0] for k, v in seen.items() if len(v) == 1}

    before, after = once(old), once(new)
    for key, path in before.items():
        if key in after and after[key] != path and "*" not in path + after[key]:
            yield path, after[key]


def moved_paths(root: Path, sha: str, parent: str | None) -> dict[Path_, Path_]:
    """Old key path -> new key path, agreed by every changed data literal of the commit that shows it."""
    base = parent or f"{sha}^"
    res = run_command(["git", "diff", "--name-only", base, sha], root)
    votes: dict[Path_, Counter[Path_]] = {}
    for path in (res.output.split() if res.ok else []):
        old_text, new_text = _show(root, base, path), _show(root, sha, path)
        if old_text is None or new_text is None:
            continue
        old, new = _literals(path, old_text), _literals(path, new_text)
        for name in old.keys() & new.keys():
            for before, after in _pairs(old[name], new[name]):
                votes.setdefault(before, Counter())[after] += 1
    out: dict[Path_, Path_] = {}
    for before, counter in votes.items():
        (after, n), *rest = counter.most_common()
        if not rest or n > rest[0][1]:
            out[before] = after
    return out


def _rewrite(line: str, moves: dict[Path_, Path_]) -> str:
    """Every subscript chain of string keys on the line that reads an old path, read at its new one."""
    def sub(m: re.Match[str]) -> str:
        chain = m.group(1)
        quote = m.group(2)
        keys = tuple(re.findall(r"""\[\s*["']([^"'\[\]]+)["']\s*\]""", chain))
        for n in range(len(keys), 0, -1):  # the longest old path the chain starts with
            if keys[:n] in moves:
                new = (*moves[keys[:n]], *keys[n:])
                return "".join(f"[{quote}{k}{quote}]" for k in new)
        return chain

    return _CHAIN.sub(sub, line)


def data_path_candidates(sites: list[Site], head: dict[str, str], moves: dict[Path_, Path_]) -> list[Candidate]:
    """The crash and caller lines' reads of moved paths rewritten, then every such read in their files."""
    if not moves:
        return []
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    for site in sites:
        text = head.get(site.path)
        if site.tier >= 2 or text is None:
            continue
        lines = text.splitlines(keepends=True)
        if not 1 <= site.line <= len(lines):
            continue
        line = lines[site.line - 1]
        one = "".join(lines[: site.line - 1]) + _rewrite(line, moves) + "".join(lines[site.line:])
        every = "".join(_rewrite(x, moves) for x in lines)
        for new_text, what in ((one, f"at {site.path}:{site.line}"), (every, f"in {site.path}")):
            if new_text != text and (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:data_paths",
                                     f"keys read at the paths the data moved to {what}",
                                     token_distance(text, new_text) or 1, tier=site.tier))
    return out
