"""Settings grouped into nested dicts, still merged shallowly: an override of one nested key drops the rest.

    cands = deep_merge_candidates(root, "KeyError: 'backoff'")

`{**DEFAULTS, **overrides}` was right while every setting sat at the top level. Once defaults hold a group
(`"retry": {"attempts": 3, "backoff": 2.0}`), an override `{"retry": {"attempts": 5}}` replaces the whole
group and the code that reads `retry["backoff"]` raises KeyError. When the missing key is a key of a
nested dict literal in a module that merges dicts with `{**a, **b}` (or `dict(a, **b)`), the merge becomes a
deep one: a helper written into that module merges nested dicts key by key, as the reader expects.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agents.revert import Candidate
from agents.sources import production_files

__all__ = ["deep_merge_candidates"]

HELPER = "_deep_merge"
_HELPER_SOURCE = f'''

def {HELPER}(base, *overrides):
    """`base` updated by each override; a nested dict is merged key by key, not replaced."""
    merged = dict(base or {{}})
    for override in overrides:
        for key, value in (override or {{}}).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {HELPER}(merged[key], value)
            else:
                merged[key] = value
    return merged
'''
_KEY = re.compile(r"KeyError: ['\"]([^'\"]+)['\"]")


def _nested_keys(tree: ast.Module) -> set[str]:
    """String keys of dict literals that are themselves values of a dict literal."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for value in node.values:
                if isinstance(value, ast.Dict):
                    out.update(k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return out


def _merges(tree: ast.Module) -> list[tuple[ast.expr, list[ast.expr]]]:
    """(merge expression, the dicts it merges in order) for `{**a, **b}` and `dict(a, **b)`."""
    out: list[tuple[ast.expr, list[ast.expr]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and len(node.keys) >= 2 and all(k is None for k in node.keys):
            out.append((node, list(node.values)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
              and len(node.args) == 1 and node.keywords and all(k.arg is None for k in node.keywords)):
            out.append((node, [node.args[0], *(k.value for k in node.keywords)]))
    return out


def deep_merge_candidates(root: Path, message: str) -> list[Candidate]:
    key = _KEY.search(message)
    if key is None:
        return []
    out = []
    for path, text in production_files(root):
        if "**" not in text or key.group(1) not in text or HELPER in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        if key.group(1) not in _nested_keys(tree):
            continue
        lines = text.splitlines(keepends=True)
        merges = [(m, parts) for m, parts in _merges(tree) if m.lineno == m.end_lineno]
        for node, parts in sorted(merges, key=lambda m: (m[0].lineno, m[0].col_offset), reverse=True):
            row = lines[node.lineno - 1].encode()
            args = ", ".join(ast.get_source_segment(text, p) or "" for p in parts)
            call = f"{HELPER}({args})".encode()
            lines[node.lineno - 1] = (row[: node.col_offset] + call + row[node.end_col_offset:]).decode()
        if merges:
            new = "".join(lines).rstrip("\n") + "\n" + _HELPER_SOURCE
            out.append(Candidate({path: new}, "template:deep_merge",
                                 f"{path}: dicts merged key by key in nested groups, as reading "
                                 f"[{key.group(1)!r}] expects", size=2 * len(merges)))
    return out
