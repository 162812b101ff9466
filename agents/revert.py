"""History-guided partial reverts: undo just the tokens, lines or hunks of a suspect commit, one at a time.

    for cand in partial_reverts(root, suspect, parent, head_texts):   # smallest units first
        cand.path, cand.text, cand.unit, cand.size                      # the whole new file text

A commit's change to a file is split into units: each token-level change inside a changed line, each
changed line, each statement it added or removed, each hunk, the whole file. A unit is undone in the
file as it is NOW: the tokens the commit
wrote are found again by their text (whitespace between tokens may differ, so a crash line reformatted
later is still found), nearest to where the commit left them, and replaced by what was there before. The
rest of the commit (a feature that later tests use) and every later commit stay.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
from dataclasses import dataclass

from agents.linepairs import across_hunks, owners, pair_lines, tokens
from agents.repro import is_test_file
from agents.rewrap import literal_undos, rewraps, tail_reapplied, value_of
from agents.workspace import run_command

__all__ = ["Candidate", "partial_reverts", "parses", "tokens", "token_distance", "flexible_pattern", "file_at"]



@dataclass
class Candidate:
    """One candidate patch: the new full text of each file it changes."""

    texts: dict[str, str]
    unit: str  # token | statement | hunk | file | template:<name>
    description: str
    size: int = 0  # tokens changed (smaller is preferred)
    tier: int = 0  # lower is tried first
    on_path: bool = False
    rank: int = 0  # which suspect it comes from (0: the first)
    drops_added: bool = False  # it deletes what the suspect added, a name HEAD still uses (its feature may go)

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.texts.items()))


def token_distance(a: str, b: str) -> int:
    """Tokens changed between two lines (replaced, inserted or deleted)."""
    ta, tb = [t[0] for t in tokens(a)], [t[0] for t in tokens(b)]
    ops = difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")


def flexible_pattern(toks: list[str]) -> str:
    body = r"\s*".join(re.escape(t) for t in toks)
    if toks and re.match(r"\w", toks[0]):
        body = r"(?<!\w)" + body
    if toks and re.match(r".*\w$", toks[-1]):
        body += r"(?!\w)"
    return body


def file_at(root: str, sha: str | None, path: str) -> str | None:
    if sha is None:
        return None
    res = run_command(["git", "show", f"{sha}:{path}"], root, max_output=5_000_000)
    return res.output if res.ok else None


def parses(text: str, path: str = "a.py") -> bool:
    """Whether `text` is valid Python (any text of a file that is not Python is)."""
    if not path.endswith(".py"):
        return True
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _line_offsets(text: str) -> list[int]:
    offs, n = [0], 0
    for line in text.splitlines(keepends=True):
        n += len(line)
        offs.append(n)
    return offs


def _is_string(token: str) -> bool:
    return bool(re.match(r"[rRbBuU]*['\"]", token)) and len(token) >= 2


def _replace_nearest(text: str, pattern: str, replacement: str, near: int) -> str | None:
    hits = list(re.finditer(pattern, text))
    if not hits:
        return None
    m = min(hits, key=lambda h: abs(h.start() - near))
    return text[: m.start()] + replacement + text[m.end():]


INLINE_LOOKBACK = 8  # old lines above a rewritten one searched for a local it read


class _FileChange:
    """The change a commit made to one file, mapped onto the file's current text."""

    def __init__(self, path: str, before: str, after: str, head: str) -> None:
        self.path, self.before, self.after, self.head = path, before, after, head
        self.b = before.splitlines(keepends=True)
        self.a = after.splitlines(keepends=True)
        self.h = head.splitlines(keepends=True)
        self.h_offs = _line_offsets(head)
        self._calls: dict[str, set[str]] | None = None
        sm = difflib.SequenceMatcher(None, self.a, self.h, autojunk=False)
        self.a_to_h: dict[int, int] = {}
        for tag, i1, i2, j1, _ in sm.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    self.a_to_h[i1 + k] = j1 + k

    def near(self, a_line: int) -> int:
        """A character offset in the current text near where the commit's line `a_line` now is."""
        for k in range(a_line, -1, -1):
            if k in self.a_to_h:
                return self.h_offs[min(self.a_to_h[k] + (a_line - k), len(self.h))]
        return 0

    def hunks(self) -> list[tuple[str, int, int, int, int]]:
        sm = difflib.SequenceMatcher(None, self.b, self.a, autojunk=False)
        return [op for op in sm.get_opcodes() if op[0] != "equal"]

    def undo_tokens(self, b_line: str, a_line: str, a_idx: int) -> list[tuple[str, int, str]]:
        """(new text, tokens changed, description) for each token-level change of one line pair, then all."""
        tb, ta = tokens(b_line), tokens(a_line)
        sb, sa = [t[0] for t in tb], [t[0] for t in ta]
        ops = [op for op in difflib.SequenceMatcher(None, sb, sa, autojunk=False).get_opcodes() if op[0] != "equal"]
        out: list[tuple[str, int, str]] = []
        for _tag, i1, i2, j1, j2 in ops:
            lo_a, hi_a = max(j1 - 1, 0), min(j2 + 1, len(ta))
            lo_b, hi_b = max(i1 - 1, 0), min(i2 + 1, len(tb))
            pat = flexible_pattern(sa[lo_a:hi_a])
            if not sa[lo_a:hi_a]:
                continue
            repl = b_line[tb[lo_b][1]: tb[hi_b - 1][2]] if hi_b > lo_b else ""
            new = _replace_nearest(self.head, pat, repl, self.near(a_idx) + ta[lo_a][1])
            if new is not None and new != self.head:
                what = f"{' '.join(sa[j1:j2]) or '∅'} -> {' '.join(sb[i1:i2]) or '∅'}"
                out.append((new, (i2 - i1) + (j2 - j1), what))
            strings = [(i, j) for i in range(i1, i2) for j in range(j1, j2) if _is_string(sb[i]) and _is_string(sa[j])]
            if len(strings) == 1:  # one string rewritten in places (a regex): each place alone
                i, j = strings[0]
                alone = [(sb[i], f"{sa[j][:24]}… -> {sb[i][:24]}…")] if (i2 - i1, j2 - j1) != (1, 1) else []
                for literal, what in alone + literal_undos(sb[i], sa[j]):  # the string alone, its places alone
                    new = _replace_nearest(self.head, re.escape(sa[j]), literal, self.near(a_idx) + ta[j][1])
                    if new is not None and new != self.head:
                        out.append((new, 1, what))
        tail = _TAIL.search(b_line.split("#", 1)[0].rstrip())  # the last link of the line's call chain
        code = a_line.split("#", 1)[0].rstrip()
        if tail and not code.endswith(tail.group(1).strip()) and code.endswith((")", "]")) and tokens(code):
            # a call chain the commit dropped off the end of a line it rewrote (`.encode()`, `.strip()`, `[0]`):
            # put it back on the rewritten line, whose other changes stay
            toks = [t[0] for t in tokens(code)]
            new = _replace_nearest(self.head, flexible_pattern(toks), code.strip() + tail.group(1),
                                   self.near(a_idx))
            if new is not None and new != self.head:
                out.append((new, len(tokens(tail.group(1))), f"∅ -> {tail.group(1).strip()} at the line's end"))
        return out + self.undo_wrappers(b_line, a_line, a_idx)

    def undo_wrappers(self, b_line: str, a_line: str, a_idx: int) -> list[tuple[str, int, str]]:
        """The rewritten line with one operation the old one applied put back (agents.rewrap)."""
        ta = tokens(a_line)
        sa, out = [t[0] for t in ta], []
        again = tail_reapplied(b_line, a_line)  # `x / 1000` -> `x + PACKAGING_G`: `(x + PACKAGING_G) / 1000`
        found = [again] if again else []
        for old in [b_line, *self._inlined(b_line, set(sa))]:
            found += rewraps(old, tokens(old), a_line, ta, self.calls_in)
        for code, size, what in found:
            new = _replace_nearest(self.head, flexible_pattern(sa), code, self.near(a_idx))
            if new is not None and new != self.head and parses(new, self.path) and all(new != o[0] for o in out):
                out.append((new, size, what))
        return out

    def calls_in(self, function: str) -> set[str]:
        """The names a function of the file as it is now calls (`sort_releases` -> {"sorted", "parse_version"})."""
        if self._calls is None:
            self._calls = {}
            try:
                tree = ast.parse(self.head)
            except SyntaxError:
                tree = ast.Module(body=[], type_ignores=[])
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self._calls.setdefault(node.name, set()).update(
                        getattr(c.func, "id", getattr(c.func, "attr", "")) for c in ast.walk(node)
                        if isinstance(c, ast.Call))
        return self._calls.get(function, set())

    def _inlined(self, b_line: str, new_names: set[str]) -> list[str]:
        """The old line with a local it read put back as the value the old code gave it a few lines above, where
        the new line reads no such name (`expires = None if ttl is None else now + ttl; _CACHE[key] = (value,
        expires)` -> `_CACHE[k] = (value, now + ttl)`: the guard went when the local was inlined)."""
        try:
            idx = self.b.index(b_line)
        except ValueError:
            return []
        read = {t[0] for t in tokens(b_line)} - new_names
        out = []
        for k in range(max(0, idx - INLINE_LOOKBACK), idx):
            code = self.b[k].strip()
            got = value_of(code)
            name = got[0].split("=", 1)[0].strip() if got and not code.startswith("return") else ""
            if name.isidentifier() and name in read:
                line = re.sub(rf"\b{name}\b", lambda _m, v=code[len(got[0]):].strip(): v, b_line)  # type: ignore[index]
                out.append(line)
        return out

    def undo_lines(self, i1: int, i2: int, j1: int, j2: int, old: str | None = None) -> str | None:
        """Put back before[i1:i2] (or `old`) where the commit wrote after[j1:j2] (lines found by their tokens)."""
        old = "".join(self.b[i1:i2]) if old is None else old
        if j2 > j1:
            toks = [t[0] for t in tokens("".join(self.a[j1:j2]))]
            if not toks:
                return None
            pat = r"[ \t]*" + flexible_pattern(toks) + r"[ \t]*\n?"
            return _replace_nearest(self.head, pat, old, self.near(j1))
        if j1 == 0:
            return old + self.head
        anchor = [t[0] for t in tokens(self.a[j1 - 1])]
        if not anchor:
            return None
        hits = list(re.finditer(r"[ \t]*" + flexible_pattern(anchor) + r"[^\n]*\n", self.head))
        if not hits:
            return None
        at = min(hits, key=lambda h: abs(h.start() - self.near(j1 - 1)))
        return self.head[: at.end()] + old + self.head[at.end():]


_TAIL = re.compile(r"(?<=[)\]])(\s*\.\s*\w+\s*\([^()]*\)|\[[^\[\]]*\])$")  # `x(...).encode("utf-8")`
def _blocks(lines: list[str], lo: int, hi: int, skip: set[int]) -> list[tuple[int, int]]:
    """Statement blocks [start, end) in lines[lo:hi]: a line and the more indented lines under it."""
    out: list[tuple[int, int]] = []
    k = lo
    while k < hi:
        if k in skip or not lines[k].strip() or lines[k].lstrip().startswith("#"):
            k += 1
            continue
        depth = len(lines[k]) - len(lines[k].lstrip())
        end = k + 1
        while end < hi and end not in skip and (not lines[end].strip()
                                                 or len(lines[end]) - len(lines[end].lstrip()) > depth):
            end += 1
        while end > k + 1 and not lines[end - 1].strip():
            end -= 1
        out.append((k, end))
        k = end
    return out


def _undo_keeping_additions(fc: _FileChange, commit: str, i1: int, i2: int, j1: int, j2: int,
                            pairs: list[tuple[int, int]]) -> list[Candidate]:
    """Undo a replaced block but keep the statements the commit added before its first rewritten line and
    after its last (statements paired with no old line): a commit that adds a check and, in the same hunk,
    breaks the lines under it (`base.update(x); return base` for `opts = dict(base); ...`)."""
    if not pairs:
        return []
    paired = {j1 + aj for _, aj in pairs}
    first, last = min(paired), max(paired)
    blocks = _blocks(fc.a, j1, j2, paired)
    before = "".join("".join(fc.a[s:e]) for s, e in blocks if e <= first)
    after = "".join("".join(fc.a[s:e]) for s, e in blocks if s > last)
    if not before and not after:
        return []
    old = "".join(fc.b[i1:i2])
    new = fc.undo_lines(i1, i2, j1, j2, before + old + after)
    if new is None or new == fc.head:
        return []
    size = len(tokens(old)) + len(tokens("".join(fc.a[k] for k in sorted(paired))))
    return [Candidate({fc.path: new}, "statement", f"undo lines {fc.path}:{first + 1}-{last + 1} of {commit[:10]}, "
                      "keeping the statements it added", size)]


def _statement_undos(fc: _FileChange, commit: str, i1: int, i2: int, j1: int, j2: int,
                     pairs: list[tuple[int, int]]) -> list[Candidate]:
    """Undo one statement of a hunk at a time: delete a statement the commit added, or put back one it removed."""
    out: list[Candidate] = []
    paired_a = {j1 + aj for _, aj in pairs}
    paired_b = {i1 + bi for bi, _ in pairs}
    added = _blocks(fc.a, j1, j2, paired_a)
    removed = _blocks(fc.b, i1, i2, paired_b)
    if len(added) + len(removed) < 2 and not pairs:
        return out  # one statement: the hunk-level undo is the same patch
    for s, e in added:
        new = fc.undo_lines(i1, i1, s, e)
        if new is not None and new != fc.head:
            out.append(Candidate({fc.path: new}, "statement", f"remove the statement {commit[:10]} added at "
                                 f"{fc.path}:{s + 1}", len(tokens("".join(fc.a[s:e])))))
    for s, e in removed:
        anchor = max([j1 + aj + 1 for bi, aj in pairs if i1 + bi < s] or [j1])
        new = fc.undo_lines(s, e, anchor, anchor)
        if new is not None and new != fc.head:
            out.append(Candidate({fc.path: new}, "statement", f"restore the statement {commit[:10]} removed at "
                                 f"{fc.path}:{anchor + 1}", len(tokens("".join(fc.b[s:e])))))
    return out


def _blend(before: str, after: str) -> str | None:
    """`return OLD` / `x = OLD` rewritten to `... NEW`: the line giving `(OLD) or (NEW)`. A commit that
    changes a formula to cover a new case (an empty listing has one page: `total // n + 1` for the ceiling)
    often breaks the old cases; the old value where it is non-empty and the new one where it is empty keeps
    both the old behaviour and the commit's feature (what `max(1, ceil)` says for that example)."""
    parts = []
    for line in (before, after):
        code = line.strip()
        found = value_of(code)
        if found is None:
            return None
        prefix, value = found
        head = "return" if re.match(r"return\b", prefix) else prefix.rstrip().removesuffix("=").rstrip() + " ="
        if not _formula(value):
            return None  # a lookup, a call, a choice: its old value is no better where it is non-empty
        parts.append((head, ast.get_source_segment(code, value)))
    (h_old, v_old), (h_new, v_new) = parts
    if h_old != h_new or not v_old or not v_new or v_old == v_new:
        return None
    indent = after[: len(after) - len(after.lstrip())]
    return f"{indent}{h_new} ({v_old}) or ({v_new})\n"


_NUMERIC = frozenset({"ceil", "floor", "round", "int", "float", "abs", "max", "min", "trunc", "sum", "len"})
_ARITHMETIC = (ast.Name, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call, ast.expr_context, ast.operator,
               ast.unaryop)


def _formula(node: ast.expr) -> bool:
    """Arithmetic: operators over names, attributes, numbers and numeric functions (`ceil(total / n)`), not
    a bare `len(x)`."""
    if not isinstance(node, ast.BinOp | ast.UnaryOp | ast.Call) or (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"):
        return False
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            if (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "") not in _NUMERIC:
                return False
        elif not isinstance(n, _ARITHMETIC) or isinstance(n, ast.Constant) and not isinstance(n.value, int | float):
            return False
    return True


_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


def _names(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in _NAME.finditer(text):
        counts[m.group()] = counts.get(m.group(), 0) + 1
    return counts


def _drops_new_names(new: str, head: dict[str, int], added: set[str]) -> bool:
    """Whether `new` uses a name the suspect brought into the file (and HEAD still uses) fewer times than HEAD."""
    if not added:
        return False
    now = _names(new)
    return any(now.get(name, 0) < head[name] for name in added)


def _used_elsewhere(root: str, names: set[str], path: str) -> set[str]:
    """The names code in another file of the repository uses (not a test): a feature the suspect added that
    is called from elsewhere stays when one use of it in `path` is undone (review 20: `split_evenly` going back
    to its own arithmetic left `split_by_weight` to the weighted expenses that call it)."""
    if not names:
        return set()
    out = set()
    for name in sorted(names):
        res = run_command(["git", "grep", "-lw", "-e", name, "--", "*.py"], root)
        files = [f for f in res.output.splitlines() if f and f != path] if res.ok else []
        if any(not is_test_file(f) for f in files):
            out.add(name)
    return out


def partial_reverts(root: str, commit: str, parent: str | None, paths: list[str],
                    head_texts: dict[str, str]) -> list[Candidate]:
    """Candidates undoing parts of `commit` in `paths` (files as they are now in `head_texts`). One that deletes a
    name the suspect brought into the file and HEAD still uses (`PACKAGING_G`, `UPLOAD_CHUNK_KB`: its feature)
    is `drops_added`: the search keeps it in reserve and looks on for one that keeps the feature."""
    out: list[Candidate] = []
    for path in paths:
        after, head = file_at(root, commit, path), head_texts.get(path)
        if after is None or head is None:
            continue
        before = file_at(root, parent, path) or ""
        head_names, before_names = _names(head), _names(before)
        added = {n for n in _names(after) if n not in before_names and n in head_names and not keyword.iskeyword(n)}
        added -= _used_elsewhere(root, added, path)
        first = len(out)
        fc = _FileChange(path, before, after, head)
        b_own, a_own = owners(before), owners(after)
        whole_new: str | None = head
        paired: set[tuple[int, int]] = set()
        for tag, i1, i2, j1, j2 in fc.hunks():
            where = f"{path}:{j1 + 1}"
            pairs = pair_lines(fc.b[i1:i2], fc.a[j1:j2], b_own[i1:i2], a_own[j1:j2]) if tag == "replace" else []
            paired.update((i1 + bi, j1 + aj) for bi, aj in pairs)
            out += _statement_undos(fc, commit, i1, i2, j1, j2, pairs)
            if tag == "replace":
                out += _undo_keeping_additions(fc, commit, i1, i2, j1, j2, pairs)
                for bi, aj in pairs:
                    changes = fc.undo_tokens(fc.b[i1 + bi], fc.a[j1 + aj], j1 + aj)
                    for new, size, what in changes:
                        out.append(Candidate({path: new}, "token", f"undo {what} of {commit[:10]} at {where}",
                                             size, drops_added=what.endswith("-> ∅")))
                    blended = _blend(fc.b[i1 + bi], fc.a[j1 + aj])
                    if blended is not None:
                        new = fc.undo_lines(i1 + bi, i1 + bi + 1, j1 + aj, j1 + aj + 1, blended)
                        if new is not None and new != head:
                            out.append(Candidate({path: new}, "blend", f"keep the value line {path}:{j1 + aj + 1} "
                                                 f"had before {commit[:10]}, and its new value where the old one "
                                                 "is empty", len(tokens(blended)) + 2))
                    if len(changes) > 1:  # the line's token changes only make sense together
                        new = fc.undo_lines(i1 + bi, i1 + bi + 1, j1 + aj, j1 + aj + 1)
                        if new is not None and new != head:
                            out.append(Candidate({path: new}, "token", f"undo line {path}:{j1 + aj + 1} of "
                                                 f"{commit[:10]}", sum(c[1] for c in changes)))
            new = fc.undo_lines(i1, i2, j1, j2)
            if new is not None and new != head:
                size = len(tokens("".join(fc.b[i1:i2]))) + len(tokens("".join(fc.a[j1:j2])))
                out.append(Candidate({path: new}, "hunk", f"undo lines {where} of {commit[:10]}", size))
            if whole_new is not None:
                # undo every hunk, bottom up, in the text that already has the later ones undone
                step = _FileChange(path, before, after, whole_new).undo_lines(i1, i2, j1, j2)
                whole_new = step if step is not None else None
        # a function's line rewritten in another hunk than its old self
        for i, j in across_hunks(fc.hunks(), fc.b, fc.a, b_own, a_own, paired):
            for new, size, what in fc.undo_wrappers(fc.b[i], fc.a[j], j):
                out.append(Candidate({path: new}, "token", f"undo {what} of {commit[:10]} at {path}:{j + 1}", size))
        if whole_new is not None and whole_new != head:
            size = sum(len(tokens("".join(fc.b[i1:i2]))) + len(tokens("".join(fc.a[j1:j2])))
                       for _, i1, i2, j1, j2 in fc.hunks())
            out.append(Candidate({path: whole_new}, "file", f"undo all of {commit[:10]} in {path}", size + 1))
        for cand in out[first:]:
            if not cand.drops_added and _drops_new_names(cand.texts[path], head_names, added):
                cand.drops_added = True
    return out
