"""The suspect's own edit, repeated where it missed the same code.

    cands = propagated_candidates(root, sha, parent, head, files, written)   # -> [Candidate], "template:propagate"
    # the suspect rewrote `subtotal * (1 - discount(code))` -> `subtotal * (100 - discount(code)) / 100` in cart.py
    # invoice.py still reads `unit_cents * qty * (1 - discount(code))`:
    #                        `unit_cents * qty * (100 - discount(code)) / 100`

A commit that changes what a function returns (a fraction to whole percents, seconds to milliseconds, a
tuple to an object) updates the places it knows about, each the same way; a place it missed still does
what they all did before. Each expression the suspect rewrote is read as a rule: its old form with its
local names as holes (`X * (1 - discount(Y))`) becomes its new form with the same holes. The rule is kept
only when it names something of the project's own that is not a hole (`discount`), so it says which code
it is about; every other place on the failing path and in the suspect's files that matches the old form
gets the new one.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents.repro import is_test_file
from agents.revert import Candidate, file_at
from agents.sourcetext import ATOMS, BUILTIN_NAMES, module_names, parsed, replaced_nodes
from agents.suspectdiff import git_lines

__all__ = ["Rule", "edit_rules", "propagated_candidates"]

MAX_CANDIDATES = 12
PRIORITY = 10  # added to a candidate's size: after the specific repairs read off the suspect that make the same edit
_SKIP = frozenset({"ctx", "lineno", "col_offset", "end_lineno", "end_col_offset", "type_comment", "kind"})


@dataclass(frozen=True)
class Rule:
    old: ast.expr  # the old form; Name nodes whose id is in `holes` match any expression
    new: ast.expr
    holes: frozenset[str]
    path: str  # where the suspect made it

    @property
    def text(self) -> str:
        return f"`{ast.unparse(self.old)}` -> `{ast.unparse(self.new)}`"


def _fields(node: ast.AST) -> list[tuple[str, object]]:
    return [(k, v) for k, v in ast.iter_fields(node) if k not in _SKIP]


def _differing(a: ast.AST, b: ast.AST) -> tuple[ast.AST, ast.AST] | None:
    """The smallest pair of subtrees where `a` and `b` differ, when they differ in one place; None if equal."""
    if type(a) is not type(b):
        return a, b
    apart: list[tuple[ast.AST, ast.AST]] = []
    for (_, va), (_, vb) in zip(_fields(a), _fields(b), strict=True):
        if isinstance(va, ast.AST) and isinstance(vb, ast.AST):
            d = _differing(va, vb)
            if d is not None:
                apart.append(d)
        elif isinstance(va, list) and isinstance(vb, list):
            if len(va) != len(vb):
                return a, b
            for x, y in zip(va, vb, strict=True):
                d = _differing(x, y) if isinstance(x, ast.AST) and isinstance(y, ast.AST) else (
                    None if x == y else (a, b))
                if d is not None:
                    apart.append(d)
        elif va != vb:
            return a, b
    if not apart:
        return None
    return apart[0] if len(apart) == 1 else (a, b)


def _statement_at(tree: ast.Module, line: int) -> ast.stmt | None:
    found = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                 ast.ClassDef, ast.If, ast.For, ast.While,
                                                                 ast.With, ast.Try)) \
                and node.lineno <= line <= (node.end_lineno or node.lineno):
            found = node
    return found


def edit_rules(path: str, old: str | None, new: str | None) -> list[Rule]:
    """The rewrites of the suspect's changed lines in one file, as rules with the old code's locals as holes."""
    old_tree, new_tree = parsed(old), parsed(new)
    if not old or not new or old_tree is None or new_tree is None:
        return []
    project = module_names(old_tree) | module_names(new_tree)
    a, b = old.splitlines(), new.splitlines()
    rules: list[Rule] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "replace":
            continue
        for i in range(i1, i2):
            j = max(range(j1, j2), key=lambda k, i=i: difflib.SequenceMatcher(None, a[i], b[k]).ratio())
            so, sn = _statement_at(old_tree, i + 1), _statement_at(new_tree, j + 1)
            if so is None or sn is None:
                continue
            pair = _differing(so, sn)
            if pair is None or not all(isinstance(x, ast.expr) for x in pair):
                continue
            eo, en = pair
            names = {n.id for n in ast.walk(eo) if isinstance(n, ast.Name)}
            holes = frozenset(names - project - BUILTIN_NAMES)
            fixed = (names - holes - BUILTIN_NAMES) | {n.attr for n in ast.walk(eo) if isinstance(n, ast.Attribute)
                                                   and n.attr in project}
            new_names = {n.id for n in ast.walk(en) if isinstance(n, ast.Name)}
            if not fixed or not new_names <= holes | project | BUILTIN_NAMES:
                continue  # about no code of the project's own, or the new form needs names the old had not
            rules.append(Rule(eo, en, holes, path))  # type: ignore[arg-type]
    return rules


def _match(p: ast.AST, n: ast.AST, holes: frozenset[str], bound: dict[str, ast.AST]) -> bool:
    if isinstance(p, ast.Name) and p.id in holes:
        if not isinstance(n, ast.expr):
            return False
        if p.id in bound:
            return ast.dump(bound[p.id]) == ast.dump(n)
        bound[p.id] = n
        return True
    if type(p) is not type(n):
        return False
    for (_, vp), (_, vn) in zip(_fields(p), _fields(n), strict=True):
        if isinstance(vp, ast.AST):
            if not isinstance(vn, ast.AST) or not _match(vp, vn, holes, bound):
                return False
        elif isinstance(vp, list):
            if not isinstance(vn, list) or len(vp) != len(vn):
                return False
            for x, y in zip(vp, vn, strict=True):
                if isinstance(x, ast.AST) != isinstance(y, ast.AST):
                    return False
                if isinstance(x, ast.AST) and not _match(x, y, holes, bound) or not isinstance(x, ast.AST) \
                        and x != y:
                    return False
        elif vp != vn:
            return False
    return True


def _rendered(rule: Rule, text: str, bound: dict[str, ast.AST]) -> str:
    marks = {h: f"__swarm_hole_{i}__" for i, h in enumerate(sorted(rule.holes))}

    class _Marked(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.Name(id=marks.get(node.id, node.id), ctx=node.ctx)

    code = ast.unparse(_Marked().visit(ast.parse(ast.unparse(rule.new), mode="eval")).body)
    for hole, mark in marks.items():
        if hole in bound:
            node = bound[hole]
            src = ast.get_source_segment(text, node) or ast.unparse(node)
            code = code.replace(mark, src if isinstance(node, ATOMS) else f"({src})")
    return code


def propagated_candidates(root: Path, sha: str, parent: str | None, head: dict[str, str], files: list[str],
                          written: Callable[[str], set[int]]) -> list[Candidate]:
    """Each place in `files` at HEAD that still has the old form of a rewrite `sha` made, given the new form
    (one place at a time, then every place of a file at once)."""
    rules: list[Rule] = []
    for path in git_lines(root, "diff", "--name-only", parent or sha + "^", sha):
        if path.endswith(".py") and not is_test_file(path):
            rules += edit_rules(path, file_at(str(root), parent or sha + "^", path), file_at(str(root), sha, path))
    out: list[Candidate] = []
    for path in files:
        text = head.get(path)
        tree = parsed(text)
        if text is None or tree is None or not rules:
            continue
        mine = written(path)
        for rule in rules:
            found: list[tuple[ast.AST, str]] = []
            for node in ast.walk(tree):
                bound: dict[str, ast.AST] = {}
                if (isinstance(node, ast.expr) and not mine & set(range(node.lineno, (node.end_lineno or 0) + 1))
                        and _match(rule.old, node, rule.holes, bound)):
                    found.append((node, _rendered(rule, text, bound)))
            for group in [[f] for f in found] + ([found] if len(found) > 1 else []):
                new_text = replaced_nodes(text, group)
                if parsed(new_text) is None:
                    continue
                where = ", ".join(f"{path}:{n.lineno}" for n, _ in group)  # type: ignore[attr-defined]
                out.append(Candidate({path: new_text}, "template:propagate",
                                     f"the suspect's rewrite {rule.text} ({rule.path}) repeated at {where}",
                                     size=PRIORITY + len(group)))
    return out[:MAX_CANDIDATES]
