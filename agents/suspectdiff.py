"""What a suspect commit replaced, read from its diff: the names, keys and tuple positions it renamed, and
the `except` handlers it deleted. The repair templates use these to turn a stale caller into a current one.

    renames_in(root, sha, parent)        # {"old_name": ["new_name"]}; a name that became a path: ["a.b"]
    key_renames_in(root, sha, parent)    # {"count": ["orders"]}: s["count"] -> s["orders"]
    index_keys_in(root, sha, parent)     # {0: "x"}: `return a, b` became `return {"x": a, ...}`
    removed_handlers(root, sha, parent)  # [("KeyError", ["return default"])]
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

from agents.forensics import EMPTY_TREE
from agents.revert import tokens
from agents.workspace import run_command

__all__ = ["git_lines", "diff_lines", "renames_in", "key_renames_in", "index_keys_in", "removed_handlers"]


def git_lines(root: Path, *args: str) -> list[str]:
    res = run_command(["git", *args], root, max_output=5_000_000)
    return res.output.splitlines() if res.ok else []


def diff_lines(root: Path, commit: str, parent: str | None) -> list[str]:
    """`git diff -U0` of the commit against its parent (the empty tree for a root commit)."""
    return git_lines(root, "diff", "-U0", "--no-color", parent or EMPTY_TREE, commit)


def _replaced_tokens(root: Path, commit: str, parent: str | None) -> list[tuple[str, str]]:
    """(old, new) tokens the commit replaced one for one in a changed line (the most similar added line)."""
    out: list[tuple[str, str]] = []
    diff = diff_lines(root, commit, parent)
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    for old in removed:
        best = max(added, key=lambda a: difflib.SequenceMatcher(None, old, a).ratio(), default=None)
        if best is None:
            continue
        to, tn = [t[0] for t in tokens(old)], [t[0] for t in tokens(best)]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, to, tn, autojunk=False).get_opcodes():
            if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
                out.append((to[i1], tn[j1]))
            elif tag == "replace" and i2 - i1 == 1 and _dotted(tn[j1:j2]):  # `.dest` -> `.address.country`
                out.append((to[i1], "".join(tn[j1:j2])))
        # attribute paths as words, f-strings included (`{order.customer_email}` -> `{order.customer.email}`)
        wo, wn = _PATH.findall(old), _PATH.findall(best)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wo, wn, autojunk=False).get_opcodes():
            if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
                a, b = wo[i1].split("."), wn[j1].split(".")
                k = 0
                while k < min(len(a), len(b)) - 1 and a[k] == b[k]:
                    k += 1
                if k and len(a) - k == 1 and len(b) - k >= 2 and (a[k], ".".join(b[k:])) not in out:
                    out.append((a[k], ".".join(b[k:])))
    return out


_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _dotted(parts: list[str]) -> bool:
    """`destination . country`: names joined by dots, two or more of them."""
    return len(parts) >= 3 and len(parts) % 2 == 1 and all(
        p.isidentifier() if i % 2 == 0 else p == "." for i, p in enumerate(parts))


def _renamed(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for old, new in pairs:
        targets = out.setdefault(old, [])
        if new not in targets:
            targets.append(new)
    return out


def renames_in(root: Path, commit: str, parent: str | None) -> dict[str, list[str]]:
    """Identifiers the commit replaced one for one (old -> [new]): what a stale caller should now say."""
    pairs = [(o, n) for o, n in _replaced_tokens(root, commit, parent)
             if o.isidentifier() and all(p.isidentifier() for p in n.split("."))]
    # a field family moved under one attribute (`dest_country` -> `destination.country`): its siblings the
    # commit removed too (`dest_postcode`) move the same way (`destination.postcode`)
    moves = {o[: -len(n.rsplit(".", 1)[1])]: n.rsplit(".", 1)[0] + "." for o, n in pairs
             if "." in n and o.endswith("_" + n.rsplit(".", 1)[1])}
    removed = " ".join(line[1:] for line in diff_lines(root, commit, parent)
                       if line.startswith("-") and not line.startswith("---"))
    for prefix, head in moves.items():
        for name in sorted(set(re.findall(rf"\b{re.escape(prefix)}(\w+)", removed))):
            pairs.append((prefix + name, head + name))
    return _renamed(pairs)


def key_renames_in(root: Path, commit: str, parent: str | None) -> dict[str, list[str]]:
    """String keys the commit replaced one for one (`s["count"]` -> `s["orders"]`, unquoted), read hunk by
    hunk with quotes as tokens of their own (so keys inside f-strings count too): what a stale consumer of
    a dict the commit reshaped should now read."""
    diff = diff_lines(root, commit, parent)
    hunks: list[tuple[list[str], list[str]]] = []
    for line in diff:
        if line.startswith("@@"):
            hunks.append(([], []))
        elif hunks and line.startswith("-") and not line.startswith("---"):
            hunks[-1][0].append(line[1:])
        elif hunks and line.startswith("+") and not line.startswith("+++"):
            hunks[-1][1].append(line[1:])
    word = re.compile(r"[A-Za-z_][\w.-]*|\S")
    pairs = []
    chunks = [("\n".join(removed), "\n".join(added)) for removed, added in hunks]  # a block rewritten as a whole
    for removed, added in hunks:  # and each removed line with its most similar added line
        for old in removed:
            best = max(added, key=lambda a, o=old: difflib.SequenceMatcher(None, o, a).ratio(), default=None)
            if best is not None:
                chunks.append((old, best))
    for before, after in chunks:
        to, tn = word.findall(before), word.findall(after)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, to, tn, autojunk=False).get_opcodes():
            if not (tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1 and i1 > 0 and i2 < len(to) and j1 > 0
                    and j2 < len(tn) and to[i1][0].isalpha() and tn[j1][0].isalpha()):
                continue
            quoted = to[i1 - 1] == to[i2] == tn[j1 - 1] == tn[j2] and to[i2] in "'\""
            # a regular expression's named group, `(?P<status>...)` -> `(?P<code>...)`: read as `m["code"]`,
            # `m.group("code")`
            group = (i1 > 1 and j1 > 1 and to[i1 - 2] == tn[j1 - 2] == "P" and to[i1 - 1] == tn[j1 - 1] == "<"
                     and to[i2] == tn[j2] == ">")
            if quoted or group:
                pairs.append((to[i1], tn[j1]))
    return _renamed(pairs)


def index_keys_in(root: Path, commit: str, parent: str | None) -> dict[int, str]:
    """Tuple positions the commit turned into dict keys: a removed `return a, b` and an added
    `return {"x": a, "y": ..., "z": b}` (or `d = {...}` and `return d`; values matched by their text) give
    {0: "x", 1: "z"}; a caller still indexing by position (`parts[1]`) then raises KeyError: 1."""
    diff = diff_lines(root, commit, parent)
    squash = functools.partial(re.sub, r"\s+", "")
    tuples = [m.group(1) for line in diff if line.startswith("-") and not line.startswith("---")
              and (m := re.match(r"^-\s*return\s+\(?(.+?,.+?)\)?\s*$", line))]
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    returned = {m.group(1) for line in added if (m := re.match(r"^\+\s*return\s+([A-Za-z_]\w*)\s*$", line))}
    dicts = [m.group(1) for line in added if (m := re.match(r"^\+\s*return\s+\{(.+)\}\s*$", line))]
    # `point = {"lat": lat, "lon": lon}` ... `return point`: the dict a variable holds until it is returned
    dicts += [m.group(2) for line in added if (m := re.match(r"^\+\s*([A-Za-z_]\w*)\s*=\s*\{(.+)\}\s*$", line))
              and m.group(1) in returned]
    out: dict[int, str] = {}
    for items in dicts:
        values = {squash(v): k for k, v in re.findall(r"""["'](\w+)["']\s*:\s*([^,]+(?:\([^()]*\))?)""", items)}
        for old in tuples:
            for i, part in enumerate(_split_top(old)):
                if squash(part) in values:
                    out.setdefault(i, values[squash(part)])
    return out


def _split_top(text: str) -> list[str]:
    """`a, f(b, c), d[1]` -> its top-level comma-separated parts."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k].strip())
            start = k + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def removed_handlers(root: Path, commit: str, parent: str | None) -> list[tuple[str, list[str]]]:
    """`except` blocks the commit deleted: (exception, body lines dedented), to restore around a crash.

    The `except` line comes from the diff; its body from the parent's file (the block under it, by
    indentation): a body line the new code happens to keep (`return default` under a new `if`) is not
    in the diff's removed lines, yet it was the handler's."""
    out: list[tuple[str, list[str]]] = []
    lines = diff_lines(root, commit, parent)
    path, old_line, old_texts = "", 0, {}
    for line in lines:
        if line.startswith("--- "):
            path = line[6:] if line.startswith("--- a/") else ""
            continue
        hunk = re.match(r"^@@ -(\d+)(?:,\d+)? \+", line)
        if hunk:
            old_line = int(hunk.group(1))
            continue
        if not line.startswith("-") or line.startswith("---"):
            continue
        at, old_line = old_line, old_line + 1
        m = re.match(r"^-(\s*)except\s+\(?([\w., ]+?)\)?(?:\s+as\s+\w+)?\s*:\s*$", line)
        if not m or not path or parent is None:
            continue
        if path not in old_texts:
            old_texts[path] = git_lines(root, "show", f"{parent}:{path}")
        indent, body, first = len(m.group(1)), [], 0
        for nxt in old_texts[path][at:]:  # the lines after the `except` line (1-based `at`)
            depth = len(nxt) - len(nxt.lstrip())
            if not nxt.strip():
                continue
            if depth <= indent:
                break
            first = first or depth
            body.append(nxt[min(first, depth):].rstrip())  # nested blocks keep their relative indent
        if body:
            out.append((m.group(2).strip(), body))
    return out
