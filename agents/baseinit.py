"""A subclass whose `__init__` never runs its base's: the state the base now sets up is missing.

    cands = base_init_candidates(root, "'SageExporter' object has no attribute 'rows'")

A base class starts keeping state in `__init__` (`self.rows = []`), and a subclass that defines its own
`__init__` without calling the base's fails the first time a base method reads that state. Python names
the class and the attribute; the class's bases are found in the repository by name (up the hierarchy), and
when one of their `__init__`s assigns that attribute while the subclass's `__init__` calls no base
`__init__`, the subclass's `__init__` gets `super().__init__(...)` as its first statement. The base's
required parameters are passed when the subclass's `__init__` has parameters of the same names; otherwise
there is no candidate (a value would be a guess).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agents.revert import Candidate
from agents.sources import production_files

__all__ = ["base_init_candidates"]

_NO_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
Found = tuple[str, str, ast.ClassDef]  # (path, file text, class)


def _classes(root: Path) -> dict[str, list[Found]]:
    out: dict[str, list[Found]] = {}
    for path, text in production_files(root):
        if "class " not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                out.setdefault(node.name, []).append((path, text, node))
    return out


def _init(cls: ast.ClassDef) -> ast.FunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)


def _base_names(cls: ast.ClassDef) -> list[str]:
    return [b.id if isinstance(b, ast.Name) else b.attr for b in cls.bases if isinstance(b, ast.Name | ast.Attribute)]


def _calls_a_base_init(init: ast.FunctionDef) -> bool:
    """`super().__init__(...)` or `Base.__init__(self, ...)` anywhere in the body."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__"
               for n in ast.walk(init))


def _sets(init: ast.FunctionDef, attr: str) -> bool:
    first = init.args.args[0].arg if init.args.args else "self"
    return any(isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and n.attr == attr
               and isinstance(n.value, ast.Name) and n.value.id == first for n in ast.walk(init))


def _setting_base(classes: dict[str, list[Found]], cls: ast.ClassDef, attr: str, depth: int = 0
                  ) -> ast.FunctionDef | None:
    """The `__init__` of the nearest base (by name, up to 4 levels) that assigns `self.<attr>`."""
    for name in _base_names(cls) if depth < 4 else []:
        for _path, _text, base in classes.get(name, []):
            init = _init(base)
            if init is not None and _sets(init, attr):
                return init
            if init is None and (found := _setting_base(classes, base, attr, depth + 1)) is not None:
                return found
    return None


def _arguments(base_init: ast.FunctionDef, init: ast.FunctionDef) -> str | None:
    """The base's required parameters, passed from the subclass's parameters of the same names."""
    mine = {a.arg for a in [*init.args.posonlyargs, *init.args.args, *init.args.kwonlyargs]}
    positional = [*base_init.args.posonlyargs, *base_init.args.args][1:]
    required = positional[: len(positional) - len(base_init.args.defaults)]
    kw_required = [a for a, d in zip(base_init.args.kwonlyargs, base_init.args.kw_defaults, strict=True) if d is None]
    if any(a.arg not in mine for a in [*required, *kw_required]):
        return None
    return ", ".join([a.arg for a in required] + [f"{a.arg}={a.arg}" for a in kw_required])


def _with_super_call(text: str, init: ast.FunctionDef, args: str) -> str | None:
    body = init.body
    first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                        and isinstance(body[0].value.value, str)) else body[0]
    if first.lineno == init.lineno:  # `def __init__(self): pass` on one line: not rewritten
        return None
    lines = text.splitlines(keepends=True)
    line = lines[first.lineno - 1]
    indent = line[: len(line) - len(line.lstrip())]
    return "".join([*lines[: first.lineno - 1], f"{indent}super().__init__({args})\n", *lines[first.lineno - 1:]])


def base_init_candidates(root: Path, message: str) -> list[Candidate]:
    m = _NO_ATTRIBUTE.search(message)
    if not m:
        return []
    name, attr = m.groups()
    classes = _classes(root)
    out = []
    for path, text, cls in classes.get(name, []):
        init = _init(cls)
        if init is None or _calls_a_base_init(init):
            continue
        base_init = _setting_base(classes, cls, attr)
        args = _arguments(base_init, init) if base_init is not None else None
        new = _with_super_call(text, init, args) if args is not None else None
        if new is not None and new != text:
            out.append(Candidate({path: new}, "template:base_init",
                                 f"{name}.__init__ runs its base's __init__, which sets self.{attr}", size=3))
    return out
