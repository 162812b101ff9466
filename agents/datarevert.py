"""Data-file partial reverts: put back one entry a suspect commit removed from a JSON file, keeping the rest.

    for cand in data_reverts(root, suspect, parent, ["fx/rates.json"], head_texts, message="no rate for CHF"):
        cand.texts["fx/rates.json"], cand.unit == "data", cand.description

A commit that refreshes a data file (a quarterly rates update, a catalogue export) and drops an entry the code
still looks up breaks at run time, with the entry's key in the error. Undoing its lines cannot help when later
commits rewrote the same lines with newer values; undoing the whole file throws those away. Here each entry the
commit removed (an object member or a scalar array item, at any depth), still absent now and whose container
still exists, is put back alone into the file as it is NOW: next to the sibling it followed, in the file's own
layout (one line or one member per line), with the value it had before the commit. Entries whose key or value
the error message quotes are on the failing path (tried with the suspect's own hunks); the others come after the
templates. With several removed, one more candidate puts all of them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agents.revert import Candidate, file_at, tokens

__all__ = ["data_reverts", "removed_entries", "DATA_SUFFIXES"]

DATA_SUFFIXES = (".json",)
MAX_ENTRIES = 24  # single-entry candidates per file: a file that lost hundreds is a rewrite, not a slip

Path_ = tuple[str | int, ...]
_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


@dataclass
class _Node:
    """Where a container sits in the text: its brackets, and each member's (key, start, value end)."""

    start: int
    end: int
    members: list[tuple[str | int, int, int]] = field(default_factory=list)


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _scan(text: str, i: int, path: Path_, nodes: dict[Path_, _Node]) -> int:
    """Parse the value at `i` (after whitespace), record every container's layout; return the value's end."""
    i = _skip(text, i)
    if i >= len(text):
        raise ValueError("truncated JSON")
    if text[i] not in "{[":
        return _DECODER.raw_decode(text, i)[1]
    node, closing = _Node(i, -1), "}" if text[i] == "{" else "]"
    nodes[path] = node
    i = _skip(text, i + 1)
    index = 0
    while text[i] != closing:
        start = i
        if closing == "}":
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            i = _skip(text, i)
            if text[i] != ":":
                raise ValueError(f"':' expected at {i}")
            name: str | int = key
            i += 1
        else:
            name = index
        i = _scan(text, i, path + (name,), nodes)
        node.members.append((name, start, i))
        index += 1
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
    node.end = i + 1
    return node.end


def _layout(text: str) -> dict[Path_, _Node]:
    nodes: dict[Path_, _Node] = {}
    _scan(text, 0, (), nodes)
    return nodes


def removed_entries(before: Any, after: Any, path: Path_ = ()) -> list[tuple[Path_, Any, Any]]:
    """(container path, key or None for an array item, value) of each entry in `before` that `after` lacks."""
    out: list[tuple[Path_, Any, Any]] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            if key not in after:
                out.append((path, key, value))
            else:
                out += removed_entries(value, after[key], path + (key,))
    elif isinstance(before, list) and isinstance(after, list):
        scalars = (str, int, float, bool)
        out += [(path, None, v) for v in before if isinstance(v, scalars) and v not in after]
    return out


def _lookup(doc: Any, path: Path_) -> Any:
    for step in path:
        if isinstance(doc, dict) and step in doc:
            doc = doc[step]
        else:
            return None
    return doc


def _insert(text: str, nodes: dict[Path_, _Node], before: Any, path: Path_, key: Any, value: Any) -> str | None:
    """`text` with the entry put back in its container at `path`: before the sibling that followed it in
    `before` (else after the last member), with that sibling's spacing; None if the container moved shape."""
    node = nodes.get(path)
    if node is None:
        return None
    entry = _dumped(text, node, value)
    if key is not None:
        entry = json.dumps(key, ensure_ascii=False) + ": " + entry
        order = list(_lookup(before, path) or {})
        follows = order[order.index(key) + 1:]
        present = {m[0]: m for m in node.members}
        nxt = next((present[k] for k in follows if k in present), None)
    else:
        nxt = None
    if not node.members:
        return text[: node.start + 1] + entry + text[node.start + 1:]
    if nxt is not None:
        at = nxt[1]
        gap = text[node.start + 1: node.members[0][1]] if nxt is node.members[0] else \
            text[_after_comma(text, node.members[node.members.index(nxt) - 1][2]): at]
        return text[:at] + entry + "," + (gap or " ") + text[at:]
    last = node.members[-1]
    gap = text[_after_comma(text, node.members[-2][2]): last[1]] if len(node.members) > 1 else \
        text[node.start + 1: last[1]]
    return text[: last[2]] + "," + (gap or " ") + entry + text[last[2]:]


def _dumped(text: str, node: _Node, value: Any) -> str:
    """The value as the file writes its neighbours: on one line, or one member per line at their indent."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or not node.members:
        return flat
    first = text[node.start + 1: node.members[0][1]]
    if "\n" not in first:
        return flat
    indent = first.rsplit("\n", 1)[1]
    units = [len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.startswith(" ")]
    unit = min(units) if units else 2
    return json.dumps(value, ensure_ascii=False, indent=unit).replace("\n", "\n" + indent)


def _after_comma(text: str, i: int) -> int:
    i = _skip(text, i)
    return i + 1 if i < len(text) and text[i] == "," else i


def _named(message: str, key: Any, value: Any) -> bool:
    return any(str(x) in message for x in (key, value) if x is not None and len(str(x)) >= 2)


def data_reverts(root: str, commit: str, parent: str | None, paths: list[str], head_texts: dict[str, str],
                 message: str = "") -> list[Candidate]:
    """One candidate per entry `commit` removed from each JSON file of `paths` (as now in `head_texts`)."""
    out: list[Candidate] = []
    for path in paths:
        if not path.endswith(DATA_SUFFIXES) or path not in head_texts:
            continue
        try:
            before = json.loads(file_at(root, parent, path) or "null")
            after = json.loads(file_at(root, commit, path) or "null")
            head_text = head_texts[path]
            head, nodes = json.loads(head_text), _layout(head_text)
        except (ValueError, RecursionError):
            continue  # not JSON at one of the three commits: the line-level undo is all there is
        gone = [(p, k, v) for p, k, v in removed_entries(before, after)
                if isinstance(_lookup(head, p), dict if k is not None else list)
                and (k not in _lookup(head, p) if k is not None else v not in _lookup(head, p))]
        gone.sort(key=lambda e: not _named(message, e[1], e[2]))
        singles: list[Candidate] = []
        for p, k, v in gone[:MAX_ENTRIES]:
            new = _insert(head_text, nodes, before, p, k, v)
            if new is None or not _puts_back(new, head, p, k, v):
                continue
            where = "/".join(str(s) for s in p) or "the top level"
            what = f"{json.dumps(k)}: {json.dumps(v)}" if k is not None else json.dumps(v)
            singles.append(Candidate({path: new}, "data", f"put back {what} in {path} ({where}), which "
                                     f"{commit[:10]} removed", len(tokens(what)), on_path=_named(message, k, v)))
        out += singles
        if len(singles) > 1:
            text = head_text
            for p, k, v in gone:
                step = _insert(text, _layout(text), before, p, k, v)
                text = step if step is not None else text
            if text != head_text and json.loads(text) != head:
                out.append(Candidate({path: text}, "data", f"put back the {len(gone)} entries {commit[:10]} removed "
                                     f"from {path}", len(tokens(text)) - len(tokens(head_text)),
                                     on_path=any(c.on_path for c in singles)))
    return out


def _puts_back(new: str, head: Any, path: Path_, key: Any, value: Any) -> bool:
    """The new text parses to HEAD's data plus exactly that entry."""
    try:
        got = json.loads(new)
    except ValueError:
        return False
    want = json.loads(json.dumps(head))
    container = _lookup(want, path)
    if key is None:
        items = _lookup(got, path)
        wanted = sorted(map(json.dumps, container + [value]))
        if not isinstance(items, list) or sorted(map(json.dumps, items)) != wanted:
            return False
        container[:] = items
    else:
        container[key] = value
    return bool(got == want)
