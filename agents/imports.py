"""Edits of a module's text the way its author would make them: one more import, positions read off its AST.

    with_import(text, "decimal", "InvalidOperation")   # joins `from decimal import Decimal` when it is there
    with_import(text, "copy")                           # `import copy`, after the docstring and `__future__`
    module_of("src/shop/rates.py")                      # "shop.rates"
    lines = source_lines(text)                          # split where `ast` counts lines (only at "\n")
    char_offset(lines, node.lineno, node.col_offset)    # an AST position (UTF-8 byte column) in characters
"""

from __future__ import annotations

import ast
import re

__all__ = ["char_offset", "module_of", "source_lines", "with_import"]


def source_lines(text: str) -> list[str]:
    """The lines of `text` as `ast` numbers them, ends kept (`str.splitlines` also splits at form feeds,
    `\\x1c`-`\\x1e`, `\\x85`, `\\u2028`...: positions read off the AST would shift)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def char_offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, UTF-8 byte column: an AST position) in the text of `lines`."""
    return sum(len(x) for x in lines[: line - 1]) + len(lines[line - 1].encode()[:col].decode(errors="replace"))


def module_of(path: str) -> str:
    """The dotted module of a repository path (`src/` layouts without their `src`)."""
    return path[:-3].replace("/", ".").removesuffix(".__init__").removeprefix("src.")


def _insert_at(text: str) -> int:
    """Where a new import goes: before the first import after the docstring and `__future__` imports, else after
    them (a file that does not parse: its start)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
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
