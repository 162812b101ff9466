"""A function whose result the suspect put in another unit, and a caller left reading it in the old one.

    scales = returned_scales(root, sha, parent)            # {"shift_length": 60.0}
    cands = rescale_candidates(texts, scales, sites, written)   # `shift_length(e)` -> `shift_length(e) / 60`

A commit that changes a function's unit (`… / 3600` hours -> `… / 60` minutes, `* 100` cents) updates the
callers it knows about; one it missed now reads a value 60 times too large (2,400 hours in a week). The
factor is read from the commit itself: a number it replaced in a division or a multiplication, in a line of
that function (`/ 3600` -> `/ 60`: the result is 3600 / 60 = 60 times what it was). Each call of the function
in the failing path's files and the suspect's, outside the lines the suspect wrote, is then divided by that
factor (both ways are tried: the tests decide).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

from agents.oldraise import functions_of
from agents.revert import Candidate, file_at
from agents.sourcetext import parsed
from agents.suspectdiff import git_lines
from agents.templates import Site

__all__ = ["returned_scales", "rescale_candidates"]



def _tables(tree: ast.Module | None) -> dict[str, list[float]]:
    """Module-level dicts of numbers (`TO_WH = {"Wh": 1, "kWh": 1000}`): name -> their values."""
    out: dict[str, list[float]] = {}
    for node in tree.body if tree else []:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Dict) and node.value.values
                and all(isinstance(v, ast.Constant) and type(v.value) in (int, float) for v in node.value.values)):
            out[node.targets[0].id] = [float(v.value) for v in node.value.values]  # type: ignore[union-attr]
    return out


def _factors(func: ast.FunctionDef | ast.AsyncFunctionDef, tables: dict[str, list[float]] | None = None,
             helpers: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] | None = None,
             floor: bool = False) -> dict[str, float]:
    """`/ 3600`, `* 100`, `100 * x` ... in the function's body: operator+number -> the number (a power
    `** 2` or a `//` is no change of unit). With `tables`, a factor read from a table of numbers
    (`* TO_WH[unit]`) counts with each of its values but 1; with `helpers`, so do the factors of the module's
    functions it calls (one level: `register_wh(r)` converting each reading)."""
    out = {}
    for node in ast.walk(func):
        if helpers and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                callee := helpers.get(node.func.id)) is not None and callee is not func:
            out |= {f"{k} in {node.func.id}()": v for k, v in _factors(callee, tables).items()}
        ops = ast.Div | ast.Mult | ast.FloorDiv if floor else ast.Div | ast.Mult
        if not isinstance(node, ast.BinOp) or not isinstance(node.op, ops):
            continue
        op = {ast.Div: "/", ast.FloorDiv: "//", ast.Mult: "*"}[type(node.op)]
        operands = [node.left, node.right] if isinstance(node.op, ast.Mult) else [node.right]
        for side in operands:
            if isinstance(side, ast.Constant) and type(side.value) in (int, float):
                out[f"{op}{side.value!r}"] = float(side.value)
            elif (tables and isinstance(side, ast.Subscript) and isinstance(side.value, ast.Name)
                  and side.value.id in tables):
                out |= {f"{op}{side.value.id}[{v!r}]": v for v in tables[side.value.id] if v not in (0.0, 1.0)}
    return out


def returned_scales(root: Path, sha: str, parent: str | None) -> dict[str, float]:
    """{function: how many times larger its result is now}, for functions of the files the suspect changed
    where it replaced one division or multiplication by a number with one by another number, or, where it
    added one and removed none, through a table of units or a helper it now calls (`* TO_WH[unit]`: 1000)."""
    out: dict[str, float] = {}
    base = parent or f"{sha}^"
    for path in (p for p in git_lines(root, "diff", "--name-only", base, sha) if p.endswith(".py")):
        before, after = file_at(str(root), base, path), file_at(str(root), sha, path)
        old, new = functions_of(before), functions_of(after)
        old_tables, new_tables = _tables(parsed(before)), _tables(parsed(after))
        pairs = {n: n for n in old.keys() & new.keys()}
        if len(lost := old.keys() - new.keys()) == 1 and len(made := new.keys() - old.keys()) == 1:
            pairs[next(iter(made))] = next(iter(lost))  # renamed with its unit (`session_minutes` -> `session_length`)
        for name, was_name in pairs.items():
            was, now = _factors(old[was_name]), _factors(new[name])
            if not set(now) - set(was):  # a conversion dropped and none added (`// 60` gone: seconds now)
                dropped = {k: v for k, v in _factors(old[was_name], floor=True).items()
                           if k not in _factors(new[name], floor=True) and v not in (0.0, 1.0)}
                if len(dropped) == 1:
                    k, v = next(iter(dropped.items()))
                    out[name] = 1 / v if k.startswith("*") else v
                    continue
            gone, came = set(was) - set(now), set(now) - set(was)
            if not gone and not came:  # the unit may have moved into a table or a helper it calls
                was, now = _factors(old[was_name], old_tables, old), _factors(new[name], new_tables, new)
                gone, came = set(was) - set(now), set(now) - set(was)
                if not gone and len({(c[0], now[c]) for c in came}) == 1:  # one new factor (key: its operator first)
                    c = next(iter(came))
                    ratio = now[c] if c[0] == "*" else 1 / now[c]
                    if ratio > 0 and ratio != 1:
                        out[name] = ratio
                continue
            if len(gone) != 1 or len(came) != 1:
                continue
            g, c = next(iter(gone)), next(iter(came))
            if g[0] != c[0] or not was[g] or not now[c]:
                continue
            ratio = was[g] / now[c] if g[0] == "/" else now[c] / was[g]
            if ratio > 0 and ratio != 1:
                out[name] = ratio
    return out


def rescale_candidates(texts: dict[str, str], scales: dict[str, float], sites: list[Site],
                       written: Callable[[str], set[int]]) -> list[Candidate]:
    """Each file of the failing path or of the suspect's change with its calls of a rescaled function (on lines
    the suspect did not write) put back in the old unit: divided by the factor, or multiplied (the other way
    round)."""
    out = []
    for name, ratio in scales.items():
        call = re.compile(rf"(?<![\w.])(?:[A-Za-z_]\w*\.)*{name}\((?:[^()]|\([^()]*\))*\)")  # `readings.f(...)` too
        # the failing path's files and the suspect's own (a caller in the function's own module)
        for path in dict.fromkeys([*(s.path for s in sites), *texts]):
            text = texts.get(path)
            if text is None or not call.search(text):
                continue
            lines = text.splitlines(keepends=True)
            own = written(path)
            factor = f"{ratio:g}"
            floor = [("//", "floor-divided by")] if ratio > 1 and ratio == int(ratio) else []
            # every call outside the suspect's lines; then each call by itself, the suspect's own lines too (a
            # line it rewrote only to rename the call still reads the old unit, beside one it converted itself)
            with_call = [k + 1 for k, line in enumerate(lines) if call.search(line)]
            keep_out = [set(own), *({n for n in range(1, len(lines) + 1) if n != k} for k in with_call)]
            ways = [(op, how, skip) for skip in keep_out for op, how in
                    (("/", "divided by"), *floor, ("*", "multiplied by"))]
            for op, how, skip in ways:
                changed = 0
                new_lines = lines[:]
                for k, line in enumerate(lines):
                    if k + 1 in skip or line.lstrip().startswith(("def ", "#")):
                        continue
                    new = call.sub(lambda m, o=op, f=factor: f"({m.group()} {o} {f})", line)
                    if new != line:
                        new_lines[k], changed = new, changed + 1
                if changed and all(c.texts.get(path) != "".join(new_lines) for c in out):
                    out.append(Candidate({path: "".join(new_lines)}, "template:unit",
                                         f"{changed} call(s) of {name}() in {path} {how} {factor}: the suspect "
                                         f"changed its result's unit", 2 * changed, tier=1))
    return out
