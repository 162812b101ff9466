"""A call site the suspect left behind, edited the way the suspect edited the others.

    cands = call_site_candidates(root, sites, texts, suspects)

A commit that changes what a function returns updates its callers, and may miss one: `lookup_rate()` now
returns `(rate, label)`, and the commit rewrote `rate = lookup_rate(r)` as `rate, _label = lookup_rate(r)` in
two modules but not in a third, which multiplies by the tuple. The edit is read from the commit's own diff
(a removed and an added line calling the same function: what changed before and after the call, the
call's arguments aside; an assigned name stands for any name) and replayed on each call of that function
the commit did not touch in the files of the failing path, one learned edit per candidate. What the commit
appended right after its calls (`slugify(title).decode()`) is appended after the others whatever surrounds
them.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from agents.revert import Candidate
from agents.suspectdiff import diff_lines
from agents.templates import Site

__all__ = ["call_site_candidates", "call_edits"]

_ASSIGN = re.compile(r"^(\w+)\s*=$")
_CALL = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*))\s*\(")


def _split(line: str, name: str) -> tuple[str, str, str] | None:
    """(before, `name(...)`, after) for the first call of `name` on the line, parentheses balanced."""
    for m in _CALL.finditer(line):
        if m[2] != name:
            continue
        depth = 0
        for k in range(m.end() - 1, len(line)):
            depth += {"(": 1, ")": -1}.get(line[k], 0)
            if depth == 0:
                return line[: m.start()], line[m.start(): k + 1], line[k + 1:]
        return None
    return None


def _removed_and_added(root: Path, commit: str, parent: str | None) -> list[tuple[list[str], list[str]]]:
    """Per file the commit changed: (its removed lines, its added lines)."""
    files: list[tuple[list[str], list[str]]] = []
    for ln in diff_lines(root, commit, parent):
        if ln.startswith("diff --git"):
            files.append(([], []))
        elif files and ln.startswith("-") and not ln.startswith("---"):
            files[-1][0].append(ln[1:])
        elif files and ln.startswith("+") and not ln.startswith("+++"):
            files[-1][1].append(ln[1:])
    return files


def call_edits(root: Path, commit: str, parent: str | None) -> dict[str, list[tuple[str, str, str, str]]]:
    """{function: [(before, before', after, after')]}: how the commit rewrote what surrounds its calls."""
    files = _removed_and_added(root, commit, parent)
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for old, added in ((o, a) for removed, a in files for o in removed):  # paired within a file
        if old.lstrip().startswith(("def ", "async def ", "class ")):
            continue
        for name in {m[2] for m in _CALL.finditer(old)}:
            mates = [a for a in added if _split(a, name)]
            best = max(mates, key=lambda a, o=old: difflib.SequenceMatcher(None, o, a).ratio(), default=None)
            was, now = _split(old, name), _split(best, name) if best else None
            if was is None or now is None:
                continue
            edit = (was[0].strip(), now[0].strip(), was[2].strip(), now[2].rstrip())  # `[0]` stays attached
            if (edit[0], edit[2]) != (edit[1], edit[3].strip()) and edit not in out.get(name, []):
                out.setdefault(name, []).append(edit)
    return out


def _call_of(text: str) -> ast.Call | None:
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Call) else None


def argument_appends(root: Path, commit: str, parent: str | None) -> dict[str, list[tuple[int, str]]]:
    """{function: [(positional arguments before, the literal arguments the commit appended)]}: a parameter the
    commit added, and what it passed for it where it updated a call (`reserve(s, sku, 30)` ->
    `reserve(s, sku, 30, None)`), most often first; a call it left behind can take the same."""
    files = _removed_and_added(root, commit, parent)
    seen: dict[str, Counter[tuple[int, str]]] = {}
    for removed, added in files:
        for old in removed:
            if old.lstrip().startswith(("def ", "async def ", "class ")):
                continue
            for name in {m[2] for m in _CALL.finditer(old)}:
                was = _split(old, name)
                mates = [(a, now) for a in added if (now := _split(a, name))]
                if was is None or not mates:
                    continue
                _, now = max(mates, key=lambda m, o=old: difflib.SequenceMatcher(None, o, m[0]).ratio())
                a, b = _call_of(was[1]), _call_of(now[1])
                if a is None or b is None or a.keywords != [] and len(b.keywords) != len(a.keywords):
                    continue
                olds, news = [ast.unparse(x) for x in a.args], [ast.unparse(x) for x in b.args]
                extra = b.args[len(olds):]
                if len(news) > len(olds) and news[: len(olds)] == olds and all(
                        isinstance(x, ast.Constant) for x in extra):
                    seen.setdefault(name, Counter())[(len(olds), ", ".join(news[len(olds):]))] += 1
    return {name: [k for k, _ in counts.most_common()] for name, counts in seen.items()}


def _appended(line: str, name: str, count: int, extra: str) -> str | None:
    parts = _split(line, name)
    call = _call_of(parts[1]) if parts is not None else None
    if parts is None or call is None or len(call.args) != count or call.keywords:
        return None
    before, text, after = parts
    return f"{before}{text[:-1].rstrip()}, {extra}){after}"


def _replay(line: str, name: str, edit: tuple[str, str, str, str]) -> str | None:
    parts = _split(line, name)
    if parts is None:
        return None
    before, call, after = parts
    b_old, b_new, a_old, a_new = edit
    if after.strip() != a_old:
        return None
    indent = before[: len(before) - len(before.lstrip())]
    mine, theirs = _ASSIGN.match(before.strip()), _ASSIGN.match(b_old)
    if before.strip() == b_old:
        new_before = b_new
    elif mine and theirs and re.search(rf"\b{theirs[1]}\b", b_new):  # another name for the same value
        new_before = re.sub(rf"\b{theirs[1]}\b", mine[1], b_new)
    else:
        return None
    return f"{indent}{new_before} {call}{a_new}" if new_before else f"{indent}{call}{a_new}"


_POSTFIX = re.compile(r"(?:\.\w+\([^()]*\)|\[[^\[\]]*\])+")


def _postfix(edit: tuple[str, str, str, str]) -> str | None:
    """What the commit appended right after its calls (`.decode()`, `[0]`), whatever surrounds them."""
    a_old, a_new = edit[2], edit[3].strip()
    if edit[0] != edit[1] or not a_new.endswith(a_old):
        return None
    added = a_new[: len(a_new) - len(a_old)]
    return added if added and _POSTFIX.fullmatch(added) else None


def _appended_after(line: str, name: str, postfix: str) -> str | None:
    parts = _split(line, name)
    if parts is None or parts[2].startswith(postfix) or line.lstrip().startswith(("def ", "async def ", "class ")):
        return None
    return parts[0] + parts[1] + postfix + parts[2]


def _each_line(sites: list[Site], texts: dict[str, str],
               edit: Callable[[str], str | None]) -> Iterator[tuple[str, str, int]]:
    """(path, new text, lines changed) per file of the failing path where `edit` changes a line."""
    for path in dict.fromkeys(s.path for s in sites):
        text = texts.get(path)
        if text is None:
            continue
        lines = text.splitlines(keepends=True)
        changed = 0
        for k, raw in enumerate(lines):
            body = raw.rstrip("\n")
            new = edit(body)
            if new is not None and new != body:
                lines[k] = new + raw[len(body):]
                changed += 1
        if changed:
            yield path, "".join(lines), changed


def call_site_candidates(root: Path, sites: list[Site], texts: dict[str, str],
                         suspects: list[tuple[str, str | None]]) -> list[Candidate]:
    out: list[Candidate] = []
    for sha, parent in suspects[:1]:
        for name, edits in call_edits(root, sha, parent).items():
            for edit in edits:
                for path, new_text, changed in _each_line(sites, texts, lambda b, e=edit, n=name: _replay(b, n, e)):
                    out.append(Candidate({path: new_text}, "template:call_site",
                                         f"{changed} call(s) of {name}() in {path} edited as {sha[:10]} edited "
                                         f"the others ({edit[0]!r} -> {edit[1]!r})", changed, tier=1))
                if (post := _postfix(edit)) is None:
                    continue
                for path, new_text, changed in _each_line(
                        sites, texts, lambda b, n=name, x=post: _appended_after(b, n, x)):
                    out.append(Candidate({path: new_text}, "template:call_site",
                                         f"{changed} call(s) of {name}() in {path} followed by {post} as "
                                         f"{sha[:10]} did at the calls it updated", changed, tier=1))
        for name, appends in argument_appends(root, sha, parent).items():
            for count, extra in appends[:3]:
                edit_line = lambda b, n=name, c=count, x=extra: _appended(b, n, c, x)  # noqa: E731
                for path, new_text, changed in _each_line(sites, texts, edit_line):
                    out.append(Candidate({path: new_text}, "template:call_site",
                                         f"{changed} call(s) of {name}() in {path} given {extra} as "
                                         f"{sha[:10]} gave the calls it updated", changed, tier=1))
    return out
