"""The reported bad value moved beside itself: a fix must not handle only the field the report happened to name.

    check = SiblingCheck.before(root, repro, good_sha)   # None: no built call with such a value, or none ran there
    check.still_failing(root)                            # ["nickname=None of argument 1", ...] the patch still fails

A repro built from production's arguments holds one record with a `None` where text was expected (a contact
row whose `company` is NULL). A patch at the line that reads `company` makes that call pass, and the same NULL
in `nickname` or `last` of the next row still crashes (review 25, namecard: the fix claimed covered one field
of four). The check asks the question a reviewer asks: moved to each other field of the same record that holds
text, one at a time, does the patched code run through where the last good commit ran through? A patch that
fails such a neighbour handles the report's case and not the bug; the search goes on, and when no patch
handles them the outcome says so instead of claiming a fix (`agents.repair`).
"""

from __future__ import annotations

import ast
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.repro import Repro
from agents.valueoracle import exported
from agents.workspace import repro_env, run_heavy

__all__ = ["SiblingCheck", "sibling_variants"]

MAX_VARIANTS = 6


def sibling_variants(repro: Repro) -> list[tuple[list[str], str]]:
    """(the repro's command with one neighbour of a `None` set to `None` too, what was moved) for each text field
    beside a `None` in a record of the call's JSON arguments (at most `MAX_VARIANTS`)."""
    if repro.kind != "built" or len(repro.args) < 3 or repro.args[-2] != "-c":
        return []
    try:
        tree = ast.parse(repro.args[-1])
    except SyntaxError:
        return []
    out: list[tuple[list[str], str]] = []
    for const, label in _json_constants(tree):
        try:
            given = json.loads(const.value)
        except ValueError:
            continue
        for path, key in _text_beside_none(given):
            if len(out) >= MAX_VARIANTS:
                return out
            moved = copy.deepcopy(given)
            _at(moved, path)[key] = None
            original, const.value = const.value, json.dumps(moved)
            out.append(([*repro.args[:-1], ast.unparse(tree)], f"{key}=None in {label}"))
            const.value = original
    return out


def _json_constants(tree: ast.Module) -> list[tuple[ast.Constant, str]]:
    """The `json.loads('...')` string constants of the last statement's call: its arguments and keywords."""
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or not isinstance(last.value, ast.Call):
        return []
    found = []
    for node in ast.walk(last.value):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "loads"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.args[0], "the arguments" if node.args[0].value.lstrip().startswith("[")
                          else "the keyword arguments"))
    return found


def _text_beside_none(value: Any, path: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[tuple[Any, ...], str]]:
    """(path of a dict, key) of each string value in a dict that also holds a `None`, depth first."""
    if depth > 4:
        return []
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, dict):
        if any(v is None for v in value.values()):
            out += [(path, k) for k, v in value.items() if isinstance(v, str)]
        for k, v in value.items():
            out += _text_beside_none(v, (*path, k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            out += _text_beside_none(v, (*path, i), depth + 1)
    return out


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _runs(root: Path, args: list[str], timeout_s: float) -> bool:
    return run_heavy(args, root, timeout_s=timeout_s, max_output=20_000, env=repro_env()).ok


def _raises(root: Path, args: list[str], timeout_s: float, exc_type: str) -> bool:
    """The call fails with the reported exception (by its name on the traceback's last line)."""
    run = run_heavy(args, root, timeout_s=timeout_s, max_output=20_000, env=repro_env())
    last = next((line for line in reversed(run.output.splitlines()) if line.strip()), "")
    return not run.ok and last.split(":", 1)[0].rsplit(".", 1)[-1] == exc_type


@dataclass
class SiblingCheck:
    variants: list[tuple[list[str], str]] = field(default_factory=list)  # those the last good commit ran through
    timeout_s: float = 60.0

    @classmethod
    def before(cls, root: Path, repro: Repro | None, good: str | None) -> SiblingCheck | None:
        """The variants that fail at HEAD (`root` as it is) with the reported exception, the same bug beside the
        report, and that the last good commit `good` ran through."""
        variants = sibling_variants(repro) if repro is not None and good and not repro.synthetic else []
        exc_type = str((repro.shape or {}).get("exc_type") or "") if repro is not None else ""
        variants = [(args, what) for args, what in variants if exc_type and _raises(root, args, repro.timeout_s,
                                                                                      exc_type)]
        if not variants or repro is None:
            return None
        with exported(root, str(good)) as tree:
            if tree is None:
                return None
            ran = [(args, what) for args, what in variants if _runs(tree, args, repro.timeout_s)]
        return cls(ran, repro.timeout_s) if ran else None

    def still_failing(self, root: Path) -> list[str]:
        """What was moved, for each variant the last good commit ran through and `root` as it is now does not."""
        return [what for args, what in self.variants if not _runs(root, args, self.timeout_s)]
