"""Mutable state declared on a class and mutated through `self`: one object shared by every instance.

    for new_text, what in instance_state_fixes(text, crash_line):
        ...   # "seen, events: per instance (set in __init__)"
    for new_text, what in mutable_default_fixes(text, crash_line):
        ...   # "filters: default None, a fresh value per call in __init__()"

A class body's `seen = set()` or `events = []` is created once, when the class is defined; `self.seen.add(x)`
then changes the one set every instance reads, so the second object sees the first one's data (ruff names
the pitfall RUF012). A parameter's mutable default (`def __init__(self, filters={})`) is the same
pitfall for calls (B006): it becomes `None`, and the body opens with a fresh value when it is. The fix
for the class gives each instance its own: the assignment moves into `__init__` as `self.seen = set()`.
Only attributes some method mutates in place (a mutating method call, an item assignment or an augmented
assignment through `self`) are moved; constants stay on the class.
"""

from __future__ import annotations

import ast

__all__ = ["instance_state_fixes", "mutable_default_fixes"]

_FACTORIES = {"set", "list", "dict", "defaultdict", "deque", "Counter", "OrderedDict", "bytearray"}
_MUTATORS = {"add", "append", "extend", "insert", "update", "setdefault", "pop", "popitem", "remove", "discard",
             "clear", "appendleft", "extendleft", "sort", "reverse", "difference_update",
             "intersection_update", "symmetric_difference_update"}


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in _FACTORIES
    return False


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _mutated(cls: ast.ClassDef) -> set[str]:
    """Attributes mutated in place through `self` in the class's methods."""
    out: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            out.add(_self_attr(node.func.value) or "")
        elif isinstance(node, ast.Assign):
            out.update(_self_attr(t.value) or "" for t in node.targets if isinstance(t, ast.Subscript))
        elif isinstance(node, ast.AugAssign):
            t = node.target
            out.add(_self_attr(t.value if isinstance(t, ast.Subscript) else t) or "")
    out.discard("")
    return out


def _enclosing_class(tree: ast.Module, line: int) -> ast.ClassDef | None:
    """The innermost class whose body spans `line`."""
    around = [n for n in ast.walk(tree)
              if isinstance(n, ast.ClassDef) and n.lineno <= line <= (n.end_lineno or n.lineno)]
    return max(around, key=lambda n: n.lineno, default=None)


def instance_state_fixes(text: str, line: int) -> list[tuple[str, str]]:
    """Texts where the mutable class attributes of the class around `line` that its methods mutate become
    per-instance (all together first, then each alone), with what changed; [] when there are none."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    cls = _enclosing_class(tree, line)
    if cls is None:
        return []
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return []
    mutated = _mutated(cls)
    shared: list[tuple[str, ast.stmt, ast.expr]] = []
    for stmt in cls.body:
        target, value = None, None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            target, value = stmt.target.id, stmt.value
        if target and target in mutated and _mutable(value) and value is not None:
            shared.append((target, stmt, value))
    if not shared:
        return []
    groups = [shared] + ([[s] for s in shared] if len(shared) > 1 else [])
    return [(_moved(text, init, group), f"{', '.join(n for n, _, _ in group)}: per instance (set in __init__)")
            for group in groups]


def _moved(text: str, init: ast.FunctionDef, group: list[tuple[str, ast.stmt, ast.expr]]) -> str:
    """The class statements of `group` dropped, and `self.<name> = <value>` opening `__init__`'s body
    (after its docstring)."""
    lines = text.splitlines(keepends=True)
    first = init.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
        first.value.value, str)
    at = (first.end_lineno or first.lineno) if docstring else first.lineno - 1  # 0-based: insert before
    ref = lines[first.lineno - 1]
    indent = ref[: len(ref) - len(ref.lstrip())]
    added = [f"{indent}self.{name} = {ast.get_source_segment(text, value)}\n" for name, _, value in group]
    drop = {i for _, stmt, _ in group for i in range(stmt.lineno - 1, stmt.end_lineno or stmt.lineno)}
    out: list[str] = []
    for i, line in enumerate(lines):
        if i == at:
            out += added
        if i not in drop:
            out.append(line)
    if at >= len(lines):
        out += added
    return "".join(out)


def mutable_default_fixes(text: str, line: int) -> list[tuple[str, str]]:
    """Texts where the mutable parameter defaults of the functions around `line` (every method of its class,
    or the function itself) become `None`, each body opening with `name = <value> if name is None else
    name`; one text per function that has any."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    cls = _enclosing_class(tree, line)
    around = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
              and n.lineno <= line <= (n.end_lineno or n.lineno)]
    functions = [n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)] if cls else around
    out = []
    for fn in functions:
        args = fn.args
        pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults, strict=True))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        shared = [(a.arg, d) for a, d in pairs if _mutable(d)]
        if shared and fn.body:
            out.append((_fresh_defaults(text, fn, shared), f"{', '.join(n for n, _ in shared)}: default None, "
                        f"a fresh value per call in {fn.name}()"))
    return out


def _admits_none(note: ast.expr) -> bool:
    """An annotation that already allows None (`X | None`, `Optional[X]`, a string, `Any`)."""
    source = ast.unparse(note)
    return (isinstance(note, ast.Constant) or "None" in source or "Optional" in source
            or source.split(".")[-1] == "Any")


def _fresh_defaults(text: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, shared: list[tuple[str, ast.expr]]) -> str:
    lines = text.splitlines(keepends=True)
    first = fn.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
        first.value.value, str)
    at = (first.end_lineno or first.lineno) if docstring else first.lineno - 1
    ref = lines[first.lineno - 1]
    indent = ref[: len(ref) - len(ref.lstrip())]
    opening = [f"{indent}{name} = {ast.get_source_segment(text, value)} if {name} is None else {name}\n"
               for name, value in shared]
    edits: list[tuple[ast.expr, str]] = [(value, "None") for _, value in shared]
    for arg in (a for a in [*fn.args.args, *fn.args.kwonlyargs] if a.arg in {n for n, _ in shared}):
        note = arg.annotation  # `dict = {}` -> `dict | None = None`: the annotation admits the new default
        if note is not None and not _admits_none(note):
            edits.append((note, f"{ast.get_source_segment(text, note)} | None"))
    for node, new in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        row = lines[node.lineno - 1]
        if node.lineno != node.end_lineno:
            return text  # a default spread over lines: left alone
        encoded = row.encode()
        lines[node.lineno - 1] = (encoded[: node.col_offset] + new.encode() + encoded[node.end_col_offset:]).decode()
    return "".join(lines[:at] + opening + lines[at:])
