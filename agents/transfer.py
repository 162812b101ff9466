"""An operation the code applies to one expression, put around a similar expression that lacks it.

    cands = transfer_candidates(root, sha, parent, head, sites)   # -> [Candidate], unit "template:transfer"
    # `staff[week_number % len(staff)]` -> `staff[week_number - 1]`: `staff[(week_number - 1) % len(staff)]`
    # `"|".join(str(a) for a in args)`  -> `"|".join(parts)`:      `"|".join(str(a) for a in parts)`
    # `(now - min(window)) * 1000` written beside `now - t < WINDOW`: `(now - t) * 1000 < WINDOW`

A commit that rewrites code for a feature often drops one operation the old code did to a value (a
modulo, a `str()` per item, a `.lower()`), or converts a value in the lines it wrote and not in an older
line that reads the same thing (`* 1000` once a window is in milliseconds). The operation is read off the
code as an expression with a hole (`_ % len(staff)`, `str(a) for a in _`, `_.lower()`, `_ * 1000`) from:

- the suspect's removed lines, when HEAD no longer applies it to an expression on the same names (dropped);
- the suspect's added lines (a conversion it applied in one place).

It is put around each expression of the suspect's files at HEAD that resembles the one it wrapped: they
share a name or an attribute, or they sit in the same place (the same call's argument, the same
subscript). Its free names must be defined where it goes. The pairs are ranked by that resemblance and the
best few become candidates: the repro and the tests decide, as for every other candidate.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents.repro import is_test_file
from agents.revert import Candidate, file_at
from agents.sourcetext import ATOMS, BUILTIN_NAMES, char_offset, module_names, parsed, source_lines
from agents.suspectdiff import git_lines

__all__ = ["Wrapper", "transfer_candidates", "wrappers_of"]

HOLE = "__swarm_hole__"
MAX_CANDIDATES = 24
_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


@dataclass(frozen=True)
class Wrapper:
    """`template` holds `HOLE` where `operand` was; `context` is the parent's dump with the wrapper as `HOLE`."""

    template: ast.expr
    operand: ast.expr
    context: str
    dropped: bool  # read off removed lines (else: written by the suspect)
    origin: str = ""  # the expression it was read off, as written

    @property
    def key(self) -> str:
        return ast.dump(self.template)

    @property
    def text(self) -> str:
        return ast.unparse(self.template).replace(HOLE, "_")


def _small(node: ast.expr) -> bool:
    """An operand a wrapper may carry: a literal, a name, `len(x)`, `x.attr`, `-1`."""
    if isinstance(node, (ast.Constant, ast.Name)):
        return True
    if isinstance(node, ast.UnaryOp):
        return _small(node.operand)
    if isinstance(node, ast.Attribute):
        return _small(node.value)
    if isinstance(node, ast.Call):
        return (isinstance(node.func, (ast.Name, ast.Attribute)) and not node.keywords and len(node.args) <= 1
                and all(_small(a) for a in node.args))
    return False


def _hole() -> ast.Name:
    return ast.Name(id=HOLE, ctx=ast.Load())


def _shapes(node: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """(template, operand) for each way `node` wraps one of its children."""
    out: list[tuple[ast.expr, ast.expr]] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITH):
        if _small(node.right):
            out.append((ast.BinOp(left=_hole(), op=node.op, right=node.right), node.left))
        if _small(node.left) and not isinstance(node.left, ast.Constant):
            out.append((ast.BinOp(left=node.left, op=node.op, right=_hole()), node.right))
    elif isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
            and isinstance(node.func, ast.Name) and not isinstance(node.args[0], ast.Starred):
        out.append((ast.Call(func=node.func, args=[_hole()], keywords=[]), node.args[0]))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords \
            and all(_small(a) for a in node.args):
        receiver = node.func.value
        if not isinstance(receiver, ast.Constant):  # `"|".join(x)` is a call of x, not an operation on "|"
            out.append((ast.Call(func=ast.Attribute(value=_hole(), attr=node.func.attr, ctx=ast.Load()),
                                 args=node.args, keywords=[]), receiver))
    elif isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)) and len(node.generators) == 1:
        gen = node.generators[0]
        if not gen.ifs and not gen.is_async and isinstance(gen.target, ast.Name) \
                and not (isinstance(node.elt, ast.Name) and node.elt.id == gen.target.id):
            loop = ast.comprehension(target=gen.target, iter=_hole(), ifs=[], is_async=0)
            out.append((type(node)(elt=node.elt, generators=[loop]), gen.iter))
    return out


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _context(node: ast.AST, parents: dict[int, ast.AST]) -> str:
    """The parent of `node` with `node` replaced by the hole: where it sits (`staff[_]`, `"|".join(_)`)."""
    parent = parents.get(id(node))
    if not isinstance(parent, ast.expr):
        return ""
    text = ast.dump(parent)
    return text.replace(ast.dump(node), ast.dump(_hole()), 1)


def _spans(node: ast.AST) -> range:
    return range(getattr(node, "lineno", 0), getattr(node, "end_lineno", 0) + 1)


def _conversion(template: ast.expr) -> bool:
    """A wrapper that converts a value: by a number (`_ * 1000`), a type (`str(_)`) or a method (`_.lower()`)."""
    if isinstance(template, ast.BinOp):
        other = template.right if isinstance(template.left, ast.Name) and template.left.id == HOLE else template.left
        return isinstance(other, ast.Constant) and type(other.value) in (int, float)
    if isinstance(template, ast.Call) and isinstance(template.func, ast.Name):
        return template.func.id in ("str", "int", "float", "bool", "abs", "round", "list", "tuple", "sorted")
    return isinstance(template, ast.Call) and isinstance(template.func, ast.Attribute) and not template.args


_MAPS = (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)


def wrappers_of(tree: ast.Module, lines: set[int], *, dropped: bool) -> list[Wrapper]:
    """The wrappers of the expressions that lie on `lines` (1-based); one a wrapper carries (the `len(staff)`
    of `_ % len(staff)`) is part of it, not a wrapper of its own. What the suspect wrote gives conversions only."""
    parents = _parents(tree)
    out: list[Wrapper] = []
    seen: set[str] = set()
    carried: set[int] = set()
    for node in ast.walk(tree):  # breadth first: a wrapper is seen before what it carries
        if not isinstance(node, ast.expr) or id(node) in carried:
            continue
        shapes = _shapes(node)
        for _, operand in shapes if not isinstance(node, _MAPS) else ():  # a map's element is code of its own
            inside = {id(n) for n in ast.walk(operand)}
            carried |= {id(n) for n in ast.walk(node) if n is not node and id(n) not in inside}
        if not lines.intersection(_spans(node)):
            continue
        for template, operand in shapes:
            if not dropped and not _conversion(template):
                continue
            w = Wrapper(template, operand, _context(node, parents), dropped, ast.unparse(node))
            if w.key + w.context not in seen:
                seen.add(w.key + w.context)
                out.append(w)
    return out


def _names(node: ast.AST) -> set[str]:
    """The names, attributes and keys (`row["qty"]`: qty) an expression reads."""
    out = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    out |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    out |= {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and n.value.isidentifier()}
    return out - BUILTIN_NAMES - {HOLE}


def _free(template: ast.expr) -> set[str]:
    bound = {n.id for n in ast.walk(template) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {g.target.id for n in ast.walk(template) if isinstance(n, (ast.GeneratorExp, ast.ListComp, ast.SetComp))
              for g in n.generators if isinstance(g.target, ast.Name)}
    return {n.id for n in ast.walk(template) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound \
        - BUILTIN_NAMES - {HOLE}


def _scopes(tree: ast.Module) -> list[tuple[range, set[str]]]:
    """(lines, the names defined there) of each function."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = fn.args
            names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None}
            names |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            out.append((_spans(fn), names))
    return out


_SKIP_PARENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With, ast.comprehension, ast.keyword)


def _sites(tree: ast.Module) -> list[tuple[ast.expr, str]]:
    """Every single-line expression that holds a value, with its context."""
    parents = _parents(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr) or getattr(node, "end_lineno", None) != getattr(node, "lineno", -1):
            continue
        if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)) or isinstance(node, (ast.JoinedStr,
                                                                                             ast.FormattedValue,
                                                                                             ast.Starred)):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node or isinstance(parent, ast.Attribute) \
                or isinstance(parent, ast.Expr) and isinstance(node, ast.Constant) \
                or isinstance(parent, ast.JoinedStr | ast.FormattedValue):
            continue
        if isinstance(parent, _SKIP_PARENTS) and getattr(parent, "target", None) is node:
            continue
        out.append((node, _context(node, parents)))
    return out


def _render(w: Wrapper, site: ast.expr, segment: str, sole_argument: bool) -> str:
    inner = segment if isinstance(site, ATOMS) else f"({segment})"
    text = ast.unparse(w.template)
    if isinstance(w.template, ast.GeneratorExp) and sole_argument:
        text = text[1:-1]  # `f(x for x in y)`, not `f((x for x in y))`
    return text.replace(HOLE, inner)


def _same_kind(a: ast.expr, b: ast.expr) -> bool:
    return type(a) is type(b) and (not isinstance(a, ast.BinOp) or type(a.op) is type(b.op))  # type: ignore[attr-defined]


def _resemblance(w: Wrapper, site: ast.expr, context: str) -> float:
    """How much `site` looks like what `w` wrapped: shared names, the same place, the same kind; 0: not at all."""
    shared = _names(w.operand) & _names(site)
    same_place = bool(w.context) and context == w.context
    if not w.dropped and not (shared and _same_kind(site, w.operand)):
        return 0.0  # a conversion the suspect wrote goes to an expression of the same kind, on the same names
    if not shared and not same_place:
        return 0.0
    a, b = ast.unparse(w.operand), ast.unparse(site)
    score = 2.0 * len(shared) + 4.0 * same_place + 3.0 * difflib.SequenceMatcher(None, a, b).ratio()
    return score + _same_kind(site, w.operand) + (2.0 if w.dropped else 0.0)


def _applied(tree: ast.Module) -> dict[str, list[set[str]]]:
    """The key of every wrapper the file applies -> the names of each operand it applies it to (read once per
    file)."""
    out: dict[str, list[set[str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.expr):
            for template, operand in _shapes(node):
                out.setdefault(ast.dump(template), []).append(_names(operand))
    return out


def _still_applied(w: Wrapper, applied: dict[str, list[set[str]]]) -> bool:
    """HEAD applies `w` to what it wrapped (an operand on the same names; one without names: anything): a wrapper
    kept for new code elsewhere (`_clamp` in a new `contrast`) is no sign that the old operand keeps it."""
    names = _names(w.operand)
    return any(not names or names & other for other in applied.get(w.key, []))


def _changed_lines(old: str, new: str) -> tuple[set[int], set[int]]:
    a, b = old.splitlines(), new.splitlines()
    removed: set[int] = set()
    added: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed.update(range(i1 + 1, i2 + 1))
            added.update(range(j1 + 1, j2 + 1))
    return removed, added


def _file_candidates(path: str, now: str, old: str | None, new: str | None, path_lines: set[int],
                     written: set[int]) -> list[tuple[float, Candidate]]:
    head_tree, new_tree = parsed(now), parsed(new)
    if head_tree is None or new_tree is None:
        return []
    removed, added = _changed_lines(old or "", new or "")
    old_tree = parsed(old)
    applied = _applied(head_tree)
    wrappers = [w for w in (wrappers_of(old_tree, removed, dropped=True) if old_tree else [])
                if not _still_applied(w, applied)]
    wrappers += wrappers_of(new_tree, added, dropped=False)
    if not wrappers:
        return []
    lines = source_lines(now)
    module = module_names(head_tree) | BUILTIN_NAMES
    scopes = _scopes(head_tree)
    parents = _parents(head_tree)
    scored: list[tuple[float, Candidate]] = []
    for site, context in _sites(head_tree):
        segment = ast.get_source_segment(now, site)
        if not segment:
            continue
        visible = set(module)
        for span, names in scopes:
            if site.lineno in span:
                visible |= names
        parent = parents.get(id(site))
        sole = isinstance(parent, ast.Call) and parent.args == [site] and not parent.keywords
        text_of_site = ast.unparse(site)
        own = {ast.dump(t) for t, _ in _shapes(site)}
        for w in wrappers:
            if not _free(w.template) <= visible or w.key in own:
                continue  # its names are not defined here; or the site is that operation already
            if w.dropped and site.lineno not in written | path_lines:
                continue  # a dropped operation goes back into the lines that rewrote the code, or the failing path
            if not w.dropped and (text_of_site in w.origin or w.origin in text_of_site):
                continue  # where the suspect applied it
            if isinstance(parent, ast.expr) and any(ast.dump(t) == w.key for t, op in _shapes(parent) if op is site):
                continue  # already wrapped so
            if isinstance(w.template, ast.BinOp) and isinstance(site, (ast.Compare, ast.BoolOp)):
                continue  # arithmetic on a truth value
            score = _resemblance(w, site, context)
            if score <= 0:
                continue
            if site.lineno in path_lines:
                score += 2.0
            start = char_offset(lines, site.lineno, site.col_offset)
            end = char_offset(lines, site.end_lineno or site.lineno, site.end_col_offset or 0)
            code = _render(w, site, segment, sole)
            text = now[:start] + code + now[end:]
            if parsed(text) is None:
                continue
            what = "put back" if w.dropped else "apply"
            scored.append((score, Candidate(
                {path: text}, "template:transfer",
                f"{what} `{w.text}` around `{segment}` ({path}:{site.lineno}): `{code}`",
                size=max(1, len(code) - len(segment)) // 4 + 1)))
    return scored


def transfer_candidates(root: Path, sha: str, parent: str | None, head: dict[str, str],
                        path_lines: dict[str, set[int]], written: Callable[[str], set[int]],
                        limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The best `limit` wrapper transfers in the files `sha` changed; `path_lines`: the failing path's lines at
    HEAD per file, `written(path)`: the lines of HEAD that `sha` wrote."""
    scored: list[tuple[float, Candidate]] = []
    for path in git_lines(root, "diff", "--name-only", parent or sha + "^", sha):
        if not path.endswith(".py") or is_test_file(path) or path not in head:
            continue
        scored += _file_candidates(path, head[path], file_at(str(root), parent or sha + "^", path),
                                   file_at(str(root), sha, path), path_lines.get(path, set()), written(path))
    scored.sort(key=lambda sc: -sc[0])
    out: list[Candidate] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for _, cand in scored:
        if cand.key not in seen:
            seen.add(cand.key)
            out.append(cand)
    return out[:limit]
