"""A default the suspect dropped for a key the error names, put back where the new code builds the mapping.

    found = dropped_key_defaults(root, sha, parent, "KeyError: 'first_name'", paths)  # [("first_name", "'there'")]
    cands = key_default_candidates(head_texts, paths_the_suspect_changed, found)
    # ... `ctx.setdefault('first_name', 'there')` before each `return ctx` of a function building `ctx`

A refactor that rebuilds a mapping from a list of fields (`{f: user[f] for f in FIELDS if user.get(f)}`) often
drops the fallback the old code gave a missing field (`"first_name": user.get("first_name") or "there"`), and the
consumer (a template, a serializer) raises `KeyError: 'first_name'` far from the change. No token of the new
line can be undone to bring the fallback back: the old line is gone. The parent's syntax tree says which
default the key had (`X or D`, `.get(K, D)`, `.setdefault(K, D)` for the key); the suspect's own tree no longer
has it; the candidate gives the key that default in each function of the suspect's files that builds a mapping
in a variable and returns it, keeping the new code's own values where it has them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agents.revert import Candidate, file_at

__all__ = ["dropped_key_defaults", "key_default_candidates"]

MAX_PER_KEY = 6
_KEY = re.compile(r"""KeyError: (['"])(?P<key>[^'"]+)\1\s*$""")


def _defaults(text: str, key: str) -> list[str]:
    """Source of each default the code gives `key`: `{"k": x or D}`, `m.get("k", D)`, `m.setdefault("k", D)`,
    `m["k"] = x or D`."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    out: list[str] = []

    def fallback(value: ast.expr) -> None:
        if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or) and len(value.values) == 2:
            out.append(ast.unparse(value.values[1]))
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "get"
              and len(value.args) == 2):
            out.append(ast.unparse(value.args[1]))

    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and k.value == key:
                    fallback(v)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("get", "setdefault") and len(node.args) == 2
              and isinstance(node.args[0], ast.Constant) and node.args[0].value == key):
            out.append(ast.unparse(node.args[1]))
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == key
                for t in node.targets):
            fallback(node.value)
    return [d for d in out if _simple(d)]


def _simple(source: str) -> bool:
    """A value with no effect to evaluate where it lands: a literal, a name, an attribute."""
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.Constant | ast.Name | ast.Attribute) or (
        isinstance(node, ast.List | ast.Tuple | ast.Dict) and not any(isinstance(n, ast.Call) for n in ast.walk(node)))


def dropped_key_defaults(root: Path, sha: str, parent: str | None, message: str,
                         paths: list[str]) -> list[tuple[str, str]]:
    """(key, default source) for the key a KeyError names, when the suspect's parent gave it a default that the
    suspect's version of `paths` (the files it changed) no longer gives."""
    m = _KEY.search(message.strip().splitlines()[-1] if message.strip() else "")
    if m is None or parent is None:
        return []
    key = m.group("key")
    found: list[tuple[str, str]] = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        before = _defaults(file_at(str(root), parent, path) or "", key)
        after = set(_defaults(file_at(str(root), sha, path) or "", key))
        found += [(key, d) for d in dict.fromkeys(before) if d not in after and (key, d) not in found]
    return found


def _mapping_returns(text: str) -> list[tuple[str, int, int]]:
    """(variable, line of its `return`, indent) for each `return NAME` whose NAME the function assigned a dict
    display, comprehension or `dict(...)`."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        built = {t.id for n in ast.walk(fn) if isinstance(n, ast.Assign)
                 and (isinstance(n.value, ast.Dict | ast.DictComp)
                      or isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name)
                      and n.value.func.id == "dict")
                 for t in n.targets if isinstance(t, ast.Name)}
        for n in ast.walk(fn):
            if isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id in built:
                out.append((n.value.id, n.lineno, n.col_offset))
    return out


def key_default_candidates(head: dict[str, str], paths: list[str],
                           found: list[tuple[str, str]]) -> list[Candidate]:
    out: list[Candidate] = []
    for key, default in found:
        made = 0
        for path in paths:
            text = head.get(path)
            if text is None or not path.endswith(".py"):
                continue
            lines = text.splitlines(keepends=True)
            for name, lineno, indent in _mapping_returns(text):
                if made >= MAX_PER_KEY:
                    break
                add = f"{' ' * indent}{name}.setdefault({key!r}, {default})\n"
                new = "".join(lines[: lineno - 1]) + add + "".join(lines[lineno - 1:])
                out.append(Candidate({path: new}, "template:key_default",
                                     f"give {key!r} its old default {default} in {name} before {path}:{lineno} "
                                     "returns it", 6))
                made += 1
    return out
