"""A suspect commit as a reader of a `no_fix` sees it: its parent, and the first lines it changed outside tests.

    parent_of(ws, sha)          # None for a root commit
    what_it_changed(ws, sha)    # "; it changed app/orders.py: `- total = a` -> `+ total = a + b`"
"""

from __future__ import annotations

from agents.repro import is_test_file
from agents.workspace import Workspace, WorkspaceError

__all__ = ["parent_of", "what_it_changed"]


def parent_of(ws: Workspace, sha: str) -> str | None:
    try:
        return ws.git("rev-parse", "--verify", "--quiet", f"{sha}^").strip() or None
    except WorkspaceError:
        return None  # a root commit


def _code(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith(("#", "//"))


def what_it_changed(ws: Workspace, sha: str, most: int = 3) -> str:
    """'; it changed path: `- old` -> `+ new`, ...': the suspect's first changed lines outside tests, for a reader of a
    no_fix (what to look at first), or "" when git cannot say."""
    try:
        diff = ws.git("show", "--format=", "--unified=0", "--no-color", sha)
    except WorkspaceError:
        return ""
    out: list[str] = []
    path, removed, added = "", [], []

    def flush() -> None:
        if path and (removed or added) and len(out) < most:
            pair = " -> ".join(x for x in (removed[0] if removed else "", added[0] if added else "") if x)
            out.append(f"{path}: {pair}")

    for line in diff.splitlines():
        if line.startswith("+++ "):
            flush()
            name = line[4:].removeprefix("b/")
            path, removed, added = ("" if name == "/dev/null" or is_test_file(name) else name), [], []
        elif line.startswith("@@"):
            flush()
            removed, added = [], []
        elif line.startswith("-") and not line.startswith("---") and _code(line[1:]):
            removed.append(f"`- {line[1:].strip()[:100]}`")
        elif line.startswith("+") and _code(line[1:]):  # a comment the commit added is not what it changed
            added.append(f"`+ {line[1:].strip()[:100]}`")
    flush()
    return f"; it changed {', '.join(out)}" if out else ""
