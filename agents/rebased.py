"""A table of numbers the suspect rebased to another unit, with an entry it left in the old one.

    cands = rebased_candidates(root, sha, parent, head)   # -> [Candidate], unit "template:rebased"
    # TO_METRES = {"m": 1.0, "cm": 0.01, "in": 0.0254} -> TO_CM = {"m": 100.0, "cm": 1.0, "in": 0.0254}
    # every shared entry but "in" was multiplied by 100: `"in": 2.54`

A commit that changes the unit of a table (metres to centimetres, seconds to milliseconds, cents to
euros) rewrites each factor; one it misses is now off by exactly the factor the others moved by. The
tables are paired by name, or by the keys they share; the factor is the ratio most shared entries agree
on, read off the commit itself, and each shared entry that kept its old number is moved by it (one at a
time, then all together: the tests decide).
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from pathlib import Path

from agents.repro import is_test_file
from agents.revert import Candidate, file_at
from agents.sourcetext import parsed, replaced_nodes
from agents.suspectdiff import git_lines

__all__ = ["rebased_candidates", "rebased_entries"]

Table = dict[object, ast.Constant]


def _tables(tree: ast.Module | None) -> dict[str, Table]:
    """name -> {key: its number's node} of each assignment of a dict literal with at least two numbers."""
    out: dict[str, Table] = {}
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            name = next((ast.unparse(t) for t in targets), "")
            table: Table = {}
            for k, v in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) and type(v.value) in (int, float):
                    table[k.value] = v
            if len(table) >= 2:
                out[name] = table
    return out


def _ratio(old: float, new: float) -> float | None:
    if old == 0 or new == 0:
        return None
    return float(f"{new / old:.9g}")


def _number(value: float, like: object) -> str:
    if isinstance(like, int) and float(value).is_integer():
        return str(int(value))
    return repr(float(f"{value:.12g}"))


def rebased_entries(old: Table, new: Table) -> tuple[float, list[object]] | None:
    """(the factor most shared entries moved by, the keys that kept their number) or None."""
    shared = [k for k in new if k in old]
    ratios = {k: _ratio(old[k].value, new[k].value) for k in shared}  # type: ignore[arg-type]
    moved = Counter(r for r in ratios.values() if r is not None and not math.isclose(r, 1.0))
    if not moved:
        return None
    factor, count = moved.most_common(1)[0]
    kept = [k for k, r in ratios.items() if r is not None and math.isclose(r, 1.0)]
    if count < 2 or not kept or count < len(kept):
        return None
    return factor, kept


def _pairs(old: dict[str, Table], new: dict[str, Table]) -> list[tuple[str, Table, Table]]:
    out = []
    for name, table in new.items():
        match = old.get(name)
        if match is None:  # renamed with its unit (TO_METRES -> TO_CM): the old table sharing most keys
            best = max(old.items(), key=lambda kv: len(set(kv[1]) & set(table)), default=None)
            if best and len(set(best[1]) & set(table)) >= max(2, len(table) // 2):
                match = best[1]
        if match is not None:
            out.append((name, match, table))
    return out


def rebased_candidates(root: Path, sha: str, parent: str | None, head: dict[str, str]) -> list[Candidate]:
    """Each entry of a table `sha` rebased that kept its old number, moved by the table's factor."""
    out: list[Candidate] = []
    for path in git_lines(root, "diff", "--name-only", parent or sha + "^", sha):
        if not path.endswith(".py") or is_test_file(path) or path not in head:
            continue
        old = _tables(parsed(file_at(str(root), parent or sha + "^", path)))
        now = _tables(parsed(head[path]))
        for name, before, after in _pairs(old, _tables(parsed(file_at(str(root), sha, path)))):
            found = rebased_entries(before, after)
            if found is None or name not in now:
                continue
            factor, kept = found
            fixes = [(k, now[name][k], _number(float(now[name][k].value) * factor, now[name][k].value))  # type: ignore[arg-type]
                     for k in kept if k in now[name] and now[name][k].value == before[k].value]
            groups = [[f] for f in fixes] + ([fixes] if len(fixes) > 1 else [])
            for group in groups:
                text = replaced_nodes(head[path], [(node, code) for _, node, code in group])
                keys = ", ".join(f"{k!r}: {code}" for k, _, code in group)
                out.append(Candidate({path: text}, "template:rebased",
                                     f"{name} was rebased by a factor of {factor:g} and {keys} kept the old "
                                     f"number: moved by it ({path})", size=len(group)))
    return out
