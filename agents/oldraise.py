"""A helper whose `raise` the suspect replaced with `return None`: the raise back, where the None is returned.

    found = replaced_raises(root, sha, parent)            # [("rooms/lookup.py", "find_room", "raise ...", [...])]
    cands = old_raise_candidates(head_texts, found)       # `return None` -> `raise UnknownRoom(...)` (+ its import)

A refactor rewrites a lookup (case-insensitive, a loop instead of `dict[name]`) and, on the way, answers
None for what it used to refuse with an exception its callers handle (`except UnknownRoom: return 404`).
The callers' handlers go dead and the first caller that reads the result crashes on the None. Undoing the
refactor's hunks one by one cannot bring the raise back (the function was rewritten and its import dropped
with it); the helper's old contract can: each `return None` of the function at HEAD becomes the statement it
raised in the parent commit, and an import of the exception that the suspect removed comes back with it.
The parent's and the suspect's syntax trees are compared by function name, so a moved function is found.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

from agents.revert import Candidate, file_at
from agents.workspace import run_command

__all__ = ["lookup_raise_candidates", "replaced_raises", "old_raise_candidates", "functions_of", "builtin_error"]

Found = tuple[str, str, str, list[str]]  # (path, function, the raise statement's source, import lines removed)


def functions_of(text: str | None) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function (and method) of a module's text by name; {} for a text that does not parse."""
    try:
        tree = ast.parse(text or "")
    except (SyntaxError, ValueError):
        return {}
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _returns_none(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    return [n for n in ast.walk(func) if isinstance(n, ast.Return)
            and (n.value is None or isinstance(n.value, ast.Constant) and n.value.value is None)]


def _imports(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    return [ast.get_source_segment(text, n) or "" for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


def replaced_raises(root: Path, sha: str, parent: str | None, returning_none: bool = True) -> list[Found]:
    """Each function of a file the suspect changed that raised in the parent and, at the suspect, returns None
    and no longer raises that exception: its old raise statement, and the import lines the suspect removed.
    With `returning_none` False, every raise statement the function had, whatever it returns now (a lookup
    that refused with `MemberNotFound` and now lets a `KeyError` out); the parameters it renamed are renamed in
    the statement (`raise MemberNotFound(card)` -> `raise MemberNotFound(key)`)."""
    names = run_command(["git", "diff", "--name-only", parent or f"{sha}^", sha], root).output.split()
    out: list[Found] = []
    for path in (p for p in names if p.endswith(".py")):
        before, after = file_at(str(root), parent or f"{sha}^", path), file_at(str(root), sha, path)
        if before is None or after is None:
            continue
        old, new = functions_of(before), functions_of(after)
        removed_imports = [i for i in _imports(before) if i and i not in _imports(after)]
        for name, func in old.items():
            if name not in new or returning_none and (not _returns_none(new[name]) or _returns_none(func)):
                continue
            raised = [ast.get_source_segment(before, n) for n in ast.walk(func)
                      if isinstance(n, ast.Raise) and n.exc is not None]
            now = {ast.get_source_segment(after, n) for n in ast.walk(new[name]) if isinstance(n, ast.Raise)}
            renamed = {a.arg: b.arg for a, b in zip(func.args.args, new[name].args.args, strict=False)
                       if a.arg != b.arg}
            # a lookup's refusal may still be raised on another path (an e-mail not found), so with
            # `returning_none` False every raise the parent had counts
            for stmt in (s for s in raised if s and (s not in now or not returning_none) and "\n" not in s):
                if not returning_none:
                    stmt = re.sub(r"\b\w+\b", lambda m, r=renamed: r.get(m.group(), m.group()), stmt)
                out.append((path, name, stmt, removed_imports))
    return out


def builtin_error(name: str) -> bool:
    """A builtin exception class (`KeyError`, `ValueError` …): what escapes a function from the operations it
    calls (`d[k]`, `float(s)`), rather than what its code raises on purpose."""
    cls = getattr(builtins, name, None)
    return isinstance(cls, type) and issubclass(cls, Exception)


def lookup_raise_candidates(texts: dict[str, str], found: list[Found], sites: list[tuple[str, int, str]],
                            exc_type: str) -> list[Candidate]:
    """The crash line of a function that lost a raise, put in a `try` whose `except exc_type` (a builtin error
    its operations let out) raises what the function raised before: `return directory[key]` -> `try: … except
    KeyError: raise MemberNotFound(key) from None`, so the callers' `except MemberNotFound` (a guest loan) runs
    again; `hours = float(parts[0])` -> `… except ValueError: raise CoordinateError(text) from None` (review 20:
    unreadable coordinates the caller skipped)."""
    out = []
    for path, line_no, function in sites:
        text = texts.get(path)
        if text is None:
            continue
        lines = text.splitlines(keepends=True)
        line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
        stripped = line.strip()
        if not stripped or stripped.endswith(":") or stripped.startswith(("raise ", "try", "except")):
            continue
        for f_path, name, stmt, _ in found:
            exc = stmt.removeprefix("raise ").split("(", 1)[0].strip()
            if (f_path, name) != (path, function) or exc in (exc_type, "") or not builtin_error(exc_type):
                continue
            whole = _body_wrapped(text, name, line_no, exc_type, stmt)
            siblings = whole
            for s_path, s_name, s_stmt, _ in found:  # the file's other functions that lost their refusal too
                func = functions_of(siblings).get(s_name) if siblings and s_path == path and s_name != name else None
                if func is not None and siblings is not None:
                    siblings = _body_wrapped(siblings, s_name, func.lineno, exc_type, s_stmt) or siblings
            if siblings is not None and siblings != whole:  # `parse_dec` lost it with `parse_ra` (review 20)
                out.append(Candidate({path: siblings}, "template:old_raise",
                                     f"{name}() and its siblings raise their old refusals again wherever a "
                                     f"{exc_type} escapes them in {path}", 2))
            if whole is not None:  # the contract back on every path, not only production's (sized to go first)
                out.append(Candidate({path: whole}, "template:old_raise",
                                     f"{name}() raises {exc} again wherever a {exc_type} escapes it ({stmt}) in "
                                     f"{path}", 3))
            indent = line[: len(line) - len(line.lstrip())]
            block = (f"{indent}try:\n{indent}    {stripped}\n{indent}except {exc_type}:\n"
                     f"{indent}    {stmt} from None\n")
            new_text = "".join(lines[: line_no - 1]) + block + "".join(lines[line_no:])
            out.append(Candidate({path: new_text}, "template:old_raise",
                                 f"{name}() raises {exc} again where a {exc_type} now escapes it ({stmt}) in "
                                 f"{path}", 4))
    return out


def _body_wrapped(text: str, name: str, line_no: int, exc_type: str, stmt: str) -> str | None:
    """The function holding `line_no` with its body (after the docstring) in `try: … except exc_type: stmt
    from None` (None when a string in the body spans lines: indenting it would change the string)."""
    func = next((f for f in functions_of(text).values() if f.name == name and f.lineno <= line_no
                 <= (f.end_lineno or 0)), None)
    if func is None or not func.body:
        return None
    body = func.body[1:] if isinstance(func.body[0], ast.Expr) and isinstance(func.body[0].value, ast.Constant) \
        else func.body
    if not body or any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.end_lineno != n.lineno
                       for b in body for n in ast.walk(b)):
        return None
    lines = text.splitlines(keepends=True)
    first, last = body[0].lineno, func.end_lineno or body[-1].end_lineno or body[0].lineno
    indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
    inner = ["    " + ln if ln.strip() else ln for ln in lines[first - 1 : last]]
    block = [f"{indent}try:\n", *inner, f"{indent}except {exc_type}:\n", f"{indent}    {stmt} from None\n"]
    return "".join(lines[: first - 1] + block + lines[last:])


def old_raise_candidates(texts: dict[str, str], found: list[Found]) -> list[Candidate]:
    """For each function still returning None at HEAD: every such `return None` raising as it did before."""
    out = []
    for path, name, stmt, removed_imports in found:
        text = texts.get(path)
        func = functions_of(text).get(name) if text else None
        if text is None or func is None:
            continue
        lines = text.splitlines(keepends=True)
        for ret in _returns_none(func):
            line = lines[ret.lineno - 1]
            indent = line[: len(line) - len(line.lstrip())]
            new_lines = lines[:]
            new_lines[ret.lineno - 1] = f"{indent}{stmt}\n"
            new_text = "".join(new_lines)
            exc = stmt.removeprefix("raise ").split("(", 1)[0].split(" ", 1)[0].strip()
            wanted = [i for i in removed_imports if exc and exc.split(".")[0] in i.replace(",", " ").split()]
            if wanted and exc not in _names_bound(new_text):
                new_text = _with_imports(new_text, wanted)
            out.append(Candidate({path: new_text}, "template:old_raise",
                                 f"{name}() raises again where it returns None ({stmt}) in {path}", 3))
    return out


def _names_bound(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    bound = {a.asname or a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
             for a in n.names}
    return bound | {n.name for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef)}


def _with_imports(text: str, imports: list[str]) -> str:
    """`imports` after the module's docstring and `from __future__` lines (where the first import goes)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return text
    at = 0
    for stmt in tree.body:
        docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
            stmt.value.value, str)
        future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if not (docstring or future):
            break
        at = stmt.end_lineno or stmt.lineno
    lines = text.splitlines(keepends=True)
    return "".join(lines[:at]) + "".join(i + "\n" for i in imports) + "".join(lines[at:])
