"""A module's source read and edited the way its author would edit it: positions off its AST, one more import,
a statement put in a `try`.

    tree = parsed(text)                                 # None for a text that does not parse
    lines = source_lines(text)                          # split where `ast` counts lines (only at "\n")
    char_offset(lines, node.lineno, node.col_offset)    # an AST position (UTF-8 byte column) in characters
    called_name(call)                                   # "match" for `match(x)` and `re.match(x)`
    indent_of("    return x\n")                         # "    "
    stmt = simple_statement_at(tree, lines, 12)         # the statement of line 12, not one on a block opener's line
    try_around(lines, stmt, "except ValueError:", other)   # the whole text, the statement in `try`
    with_import(text, "decimal", "InvalidOperation")   # joins `from decimal import Decimal` when it is there
    with_import(text, "copy")                           # `import copy`, after the docstring and `__future__`
    import_from(text, "NO_PROMO", "shop/promos.py", into="shop/checkout.py")   # `from .promos import NO_PROMO`
    module_of("src/shop/rates.py")                      # "shop.rates"
"""

from __future__ import annotations

import ast
import builtins
import re

__all__ = ["ATOMS", "BUILTIN_NAMES", "called_name", "char_offset", "dead_statements", "import_from", "indent_of",
           "module_names", "module_of", "parsed", "replaced_nodes", "simple_statement_at", "source_lines", "try_around",
           "unused_locals", "with_import"]

BUILTIN_NAMES = frozenset(dir(builtins))
ATOMS = (ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Call)  # expressions that need no parentheses


def parsed(text: str | None) -> ast.Module | None:
    try:
        return ast.parse(text or "")
    except (SyntaxError, ValueError):
        return None


def dead_statements(text: str) -> int:
    """Statements that follow a `return`, `raise`, `break` or `continue` in their block (never run); 0 for a
    text that does not parse."""
    tree = parsed(text)
    count = 0
    for node in ast.walk(tree) if tree else []:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                stop = next((i for i, st in enumerate(block)
                             if isinstance(st, (ast.Return, ast.Raise, ast.Break, ast.Continue))), None)
                count += len(block) - stop - 1 if stop is not None else 0
    return count


def unused_locals(text: str) -> int:
    """Names a function assigns and never reads (in its body or a nested scope), over every function; a name
    starting with `_`, or declared global or nonlocal, is not counted; 0 for a text that does not parse."""
    tree = parsed(text)
    count = 0
    for fn in ast.walk(tree) if tree else []:
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        stored, read, declared = set(), set(), set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Name):
                (stored if isinstance(node.ctx, ast.Store) else read).add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                declared.update(node.names)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                read.add(node.target.id)
        count += len({n for n in stored - read - declared if not n.startswith("_")})
    return count


def called_name(call: ast.Call) -> str | None:
    """The name a call calls: `f` of `f(...)`, `obj.f(...)` and `mod.f(...)`."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def source_lines(text: str) -> list[str]:
    """The lines of `text` as `ast` numbers them, ends kept (`str.splitlines` also splits at form feeds,
    `\\x1c`-`\\x1e`, `\\x85`, `\\u2028`...: positions read off the AST would shift)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def char_offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, UTF-8 byte column: an AST position) in the text of `lines`."""
    return sum(len(x) for x in lines[: line - 1]) + len(lines[line - 1].encode()[:col].decode(errors="replace"))


def replaced_nodes(text: str, rewrites: list[tuple[ast.AST, str]]) -> str:
    """`text` with each node's source replaced by its new code; a node nested in one already replaced is skipped."""
    lines = source_lines(text)
    spans = sorted(((char_offset(lines, n.lineno, n.col_offset),  # type: ignore[attr-defined]
                     char_offset(lines, n.end_lineno or n.lineno, n.end_col_offset or 0), new)  # type: ignore[attr-defined]
                    for n, new in rewrites), reverse=True)
    last = len(text) + 1
    for start, end, new in spans:  # from the end, so the offsets before stay right
        if end <= last:
            text, last = text[:start] + new + text[end:], start
    return text


def module_names(tree: ast.Module | None) -> set[str]:
    """The names a module defines at its top level: functions, classes, imports, assignments."""
    out: set[str] = set()
    for node in tree.body if tree else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            out |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return out


def indent_of(line: str) -> str:
    """The whitespace a line starts with."""
    return line[: len(line) - len(line.lstrip())]


def module_of(path: str) -> str:
    """The dotted module of a repository path (`src/` layouts without their `src`)."""
    return path[:-3].replace("/", ".").removesuffix(".__init__").removeprefix("src.")


_SIMPLE = ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Return | ast.Expr


def simple_statement_at(tree: ast.AST, lines: list[str], line: int) -> ast.stmt | None:
    """The simple statement (an assignment, a return, an expression) that holds `line`, unless it shares its first
    line with the block opener before it (`else: d = ...`, `try: v = Decimal(s)`): that one cannot be wrapped."""
    stmt = next((n for n in ast.walk(tree) if isinstance(n, _SIMPLE)
                 and n.lineno <= line <= (n.end_lineno or n.lineno)), None)
    if stmt is None or lines[stmt.lineno - 1][: char_offset(lines, stmt.lineno, stmt.col_offset)
                                              - char_offset(lines, stmt.lineno, 0)].strip():
        return None
    return stmt


def try_around(lines: list[str], stmt: ast.stmt, except_line: str, handler: str) -> str:
    """The whole text with `stmt` in a `try:`; `except_line` (`except ValueError:`) and `handler` (its body,
    written at the statement's own indentation) follow it, indented."""
    body = [x if x.endswith("\n") else x + "\n" for x in lines[stmt.lineno - 1: stmt.end_lineno]]
    indent = indent_of(body[0])
    new = (f"{indent}try:\n" + "".join("    " + x for x in body) + f"{indent}{except_line}\n"
           + "".join("    " + x for x in source_lines(handler)))
    return "".join(lines[: stmt.lineno - 1]) + new + "".join(lines[stmt.end_lineno:])


def _insert_at(text: str) -> int:
    """Where a new import goes: before the first import after the docstring and `__future__` imports, else after
    them (a file that does not parse: its start)."""
    tree = parsed(text)
    if tree is None:
        return 0
    lines = source_lines(text)
    after = 0  # the character offset after the docstring and the `__future__` imports
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
            node.value.value, str) and node is tree.body[0]
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if docstring or future:
            after = char_offset(lines, (node.end_lineno or node.lineno) + 1, 0) if (node.end_lineno or 0) < len(
                lines) else len(text)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            return char_offset(lines, node.lineno, 0)
        break
    return after


def with_import(text: str, module: str, name: str | None = None) -> str:
    """`text` importing `name` from `module` (or `module` itself), unless it already does: joined to an existing
    plain `from module import a, b` line, else a new statement before the module's first import."""
    if name is None:
        if re.search(rf"^import {re.escape(module)}\b", text, re.M):
            return text
        statement = f"import {module}\n"
    else:
        if re.search(rf"^(?:{re.escape(name)}\s*=|from\s+\S+\s+import\s+[^\n]*\b{re.escape(name)}\b)", text, re.M):
            return text
        m = re.search(rf"^from\s+{re.escape(module)}\s+import\s+([\w, ]+?)[ \t]*$", text, re.M)
        if m:
            return text[: m.end(1)] + f", {name}" + text[m.end(1):]
        statement = f"from {module} import {name}\n"
    at = _insert_at(text)
    if at and not text[:at].endswith("\n"):
        statement = "\n" + statement
    return text[:at] + statement + text[at:]


def import_from(text: str, name: str, path: str, into: str) -> str:
    """`text` (the module at `into`) importing `name` from the module at repository `path`: relatively when both
    are in one package and the file already imports relatively, else by its dotted name."""
    module = module_of(path)
    relative = into.rsplit("/", 1)[0] == path.rsplit("/", 1)[0] and re.search(r"^from\s+\.", text, re.M)
    return with_import(text, "." + module.rsplit(".", 1)[-1] if relative else module, name)
