"""Commits that added or removed what the error names: a suspect signal off the failing path.

    for sha, term, weight in named_commits(ws, "KeyError: 'environment'"):
        ...     # the latest commit whose diff changed how often 'environment' appears in the code

A crash line often stays as it was while the commit that broke it changed something the line reads: a key a
table no longer has (`KeyError: 'currency'`, a reader's column list that dropped it), a field a refactor moved
(`'Order' object has no attribute 'customer_email'`), an enum value renamed (`KeyError: 'environment'`), a type
a helper now returns (`'float' and 'datetime.timedelta'`), a format its writer stopped using (`time data
'2024-05-03' does not match format '%d/%m/%Y'`). Blame of the crash line names the commit that wrote the line,
not that one. `git log -S` finds the commits whose diff changes how often the name appears in the repository's
code (tests left out); the latest of them is the suspect, when only a few commits ever did (a
word every commit touches says nothing).
"""

from __future__ import annotations

import re

from agents.workspace import Workspace, WorkspaceError

__all__ = ["named_commits", "terms_of"]

MAX_COMMITS_PER_TERM = 4
_QUOTED = re.compile(r"'([A-Za-z_][\w.\-]{2,60})'|\"([A-Za-z_][\w.\-]{2,60})\"")
# a quoted format the message names (`does not match format '%d/%m/%Y'`): two or more directives
_FORMAT = re.compile(r"'([^'\n]{0,20}%[A-Za-z][^'\n]{0,20}%[A-Za-z][^'\n]{0,30})'")
_BUILTIN = {"str", "int", "float", "bool", "bytes", "list", "dict", "tuple", "set", "frozenset", "object",
            "NoneType", "type", "function", "method", "module", "builtin_function_or_method", "generator",
            "datetime", "date", "time", "Decimal"}
_NOT_CODE = (":(exclude,glob)**/tests/**", ":(exclude,glob)**/test/**", ":(exclude,glob)**/test_*.py",
             ":(exclude,glob)**/*_test.py", ":(exclude,glob)**/conftest.py", ":(exclude,glob)**/*.md",
             ":(exclude,glob)**/*.rst", ":(exclude,glob)**/*.txt")


def terms_of(message: str) -> list[str]:
    """The names an error message quotes, a dotted type name by its last part (`datetime.timedelta` ->
    `timedelta`); builtin type names are left out (every commit has them)."""
    out: list[str] = []
    for m in _QUOTED.finditer(message):
        if message[m.end():].startswith(" object"):  # `'Parcel' object has no ...`: the value's type, not a name
            continue
        term = (m[1] or m[2]).rsplit(".", 1)[-1]
        if len(term) >= 3 and term not in _BUILTIN and term not in out:
            out.append(term)
    # a format the reader expects: the commit that stopped writing values in it is where they changed
    out += [m[1] for m in _FORMAT.finditer(message) if m[1] not in out]
    return out[:4]


def named_commits(ws: Workspace, message: str,
                  exclude: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, str, float]]:
    """(commit, term, weight) for each term of the message: the latest commit that changed how often the term
    appears in the repository's code, when at most MAX_COMMITS_PER_TERM commits ever did and it is not the
    first; weight 1.0 when one or two commits did (added, then removed), 0.75 when more did."""
    out: list[tuple[str, str, float]] = []
    for term in [held for named in terms_of(message) for held in _holders(ws, named)]:
        try:
            log = ws.git("log", "--format=%H", "-S", term, "--", ".", *_NOT_CODE)
        except WorkspaceError:
            continue
        shas = log.split()
        if not shas or len(shas) > MAX_COMMITS_PER_TERM or shas[0] in exclude or _is_root(ws, shas[0]):
            continue  # the repository's first commit brought everything: it names nothing
        if all(s != shas[0] for s, _, _ in out):
            out.append((shas[0], term, 1.0 if len(shas) <= 2 else 0.75))
    return out


def _holders(ws: Workspace, term: str) -> list[str]:
    """A format held in a named constant (`DATE_FORMAT = "%d/%m/%Y"`) is searched by that name: a writer stops
    using it (`strftime(DATE_FORMAT)` -> `isoformat()`) without touching the literal. Other terms as they are."""
    if not _FORMAT.fullmatch(f"'{term}'"):
        return [term]
    try:
        lines = ws.git("grep", "-h", "-F", term, "--", "*.py", *_NOT_CODE).splitlines()
    except WorkspaceError:
        return [term]
    held = re.compile(rf"^\s*([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*[rbuRBU]?['\"]{re.escape(term)}['\"]")
    names = [m[1] for line in lines if (m := held.match(line))]
    return list(dict.fromkeys(names)) or [term]


def _is_root(ws: Workspace, sha: str) -> bool:
    try:
        return len(ws.git("rev-list", "--parents", "-n", "1", sha).split()) == 1
    except WorkspaceError:
        return True
