"""A value outside what a callee accepts (a negative sleep, a zero size): the function's own refusal covers it.

    cands = domain_candidates("ValueError: sleep length must be non-negative", sites, texts)

A change lets a value drift out of range (`delay = remaining` where the time left can be negative), and a
callee refuses it: `sleep length must be non-negative`. The function that made the call usually refuses bad
states itself already (`if last_chance_used: raise DeadlineExceeded(...)`); the fix is that refusal
covering the new case too. For each name the failing call is given, and each name assigned into it in the
function, every `if` of the function whose block raises gets `or <name> < 0` (`<= 0` where the callee wants
a positive value). This is the "add a sub-condition" fix pattern of TBar and of the ManySStuBs studies,
with the variable and the bound read off the failing call and the message.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from agents.revert import Candidate

if TYPE_CHECKING:
    from agents.templates import Site

__all__ = ["domain_candidates"]

_NON_NEGATIVE = re.compile(r"non-negative|must be >= ?0|: 0 <= \w+ <=|must not be negative|cannot be negative|"
                           r"is negative|negative (?:value|number|count|length|size|delay|timeout)")
_POSITIVE = re.compile(r"must be positive|must be > ?0|must be greater than (?:0|zero)|must be at least 1")


def _bound(message: str) -> str | None:
    if _POSITIVE.search(message):
        return "<= 0"
    if _NON_NEGATIVE.search(message):
        return "< 0"
    return None


def _function_at(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found = None
    for node in ast.walk(tree):
        inside = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno <= line <= (
            node.end_lineno or 0)
        if inside and (found is None or node.lineno > found.lineno):
            found = node
    return found


def _fed(fn: ast.AST, line: int) -> list[str]:
    """Names the call on `line` is given, then the names assigned into them in the function."""
    given: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and node.lineno == line:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                given += [n.id for n in ast.walk(arg) if isinstance(n, ast.Name)]
    fed = list(dict.fromkeys(given))
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and node.lineno < line:
            targets = [t for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Name)]
            if any(t.id in given for t in targets):
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                if isinstance(node.targets[0], ast.Tuple) and len(node.targets[0].elts) == len(values):
                    values = [v for t, v in zip(node.targets[0].elts, values, strict=True)
                              if isinstance(t, ast.Name) and t.id in given]
                fed += [n.id for v in values for n in ast.walk(v) if isinstance(n, ast.Name) and n.id not in fed]
    return [n for n in fed if n not in ("self", "cls", "True", "False", "None")]


def domain_candidates(message: str, sites: list[Site], texts: dict[str, str]) -> list[Candidate]:
    bound = _bound(message)
    if bound is None:
        return []
    out: list[Candidate] = []
    seen: set[str] = set()
    for site in sites:
        text = texts.get(site.path)
        if text is None or site.tier > 1:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        fn = _function_at(tree, site.line)
        if fn is None:
            continue
        names = _fed(fn, site.line)
        lines = text.splitlines(keepends=True)
        refusals = [n for n in ast.walk(fn) if isinstance(n, ast.If) and n.lineno < site.line
                    and any(isinstance(s, ast.Raise) for s in n.body) and n.test.lineno == n.test.end_lineno]
        for node in refusals:
            row = lines[node.lineno - 1]
            m = re.match(r"(\s*)(el)?if (.+):(\s*(#.*)?)$", row.rstrip("\n"))
            if m is None or " if " in m.group(3) or "lambda" in m.group(3):
                continue
            for name in names:
                new_row = f"{m.group(1)}{m.group(2) or ''}if {m.group(3)} or {name} {bound}:{m.group(4)}\n"
                new_text = "".join(lines[: node.lineno - 1]) + new_row + "".join(lines[node.lineno:])
                if new_text not in seen:
                    seen.add(new_text)
                    out.append(Candidate({site.path: new_text}, "template:domain", f"the refusal at {site.path}:"
                                         f"{node.lineno} also covers {name} {bound}", 2, tier=site.tier))
    return out
