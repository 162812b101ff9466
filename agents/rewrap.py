"""Put back one operation a commit dropped from a rewritten line, around what the line holds now.

    for code, size, what in rewraps(old_line, tokens(old_line), new_line, tokens(new_line)):
        code   # new_line with the dropped wrapper around the matching part: `int(float(clean["qty"]))`

A commit that rewrites a line often changes two things at once: where a value comes from (`row["qty"]` ->
`clean["qty"]`, the feature) and what is done to it (`int(float(x))` -> `int(x)`, the slip). Undoing the
line undoes both; undoing one token change at a time cannot separate a wrapper from what it wraps. Here each
wrapper of the old line that the new line no longer has (a call `f(x, ...)` whose callee the new line does not
call, a fallback `x or default`) is taken off the old line; what remains is aligned with the new line token by
token, and the wrapper goes back around the part of the new line that the wrapped operand became.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import keyword
import re
from collections.abc import Callable

__all__ = ["literal_undos", "rewraps", "tail_reapplied", "value_of"]

Tok = tuple[str, int, int]
_IDENT = re.compile(r"[A-Za-z_]\w*")
_OPEN, _CLOSE = "([{", ")]}"
_ARITH = frozenset({"+", "-", "*", "/", "//", "%"})
_STOP = frozenset({",", "for", "if", "else", "and", "or", ":", "=", "lambda"})


def _ident(t: str) -> bool:
    return bool(_IDENT.fullmatch(t)) and not keyword.iskeyword(t)


def _close_of(toks: list[str], i: int) -> int | None:
    """Index of the bracket closing the one at `i`."""
    depth = 0
    for k in range(i, len(toks)):
        depth += (toks[k] in _OPEN) - (toks[k] in _CLOSE)
        if depth == 0:
            return k
    return None


def _open_of(toks: list[str], i: int) -> int | None:
    depth = 0
    for k in range(i, -1, -1):
        depth += (toks[k] in _CLOSE) - (toks[k] in _OPEN)
        if depth == 0:
            return k
    return None


def _contains(seq: list[str], part: list[str]) -> bool:
    return any(seq[k:k + len(part)] == part for k in range(len(seq) - len(part) + 1))


def _balanced(toks: list[str]) -> bool:
    depth = 0
    for t in toks:
        depth += (t in _OPEN) - (t in _CLOSE)
        if depth < 0:
            return False
    return depth == 0


def _primary_start(sb: list[str], i: int) -> int:
    """Where the primary ending just before `i` starts (names, dots, calls, subscripts, a literal)."""
    s = i - 1
    while s >= 0:
        if sb[s] in _CLOSE:
            o = _open_of(sb, s)
            if o is None:
                break
            s = o - 1
        elif _ident(sb[s]) or sb[s] == "." or sb[s][0] in "\"'0123456789":
            s -= 1
        else:
            break
    return s + 1


def _wrappers(sb: list[str]) -> list[tuple[int, int, int, int]]:
    """(prefix start, operand start, operand end, suffix end) of each wrapper: `f(` operand `, ...)`, and
    operand ` or default`; prefix and suffix are the wrapper's own tokens."""
    out = []
    for i in range(len(sb) - 1):
        if _ident(sb[i]) and sb[i + 1] == "(":
            p = i
            while p >= 2 and sb[p - 1] == "." and _ident(sb[p - 2]):
                p -= 2
            if p >= 1 and sb[p - 1] in (".", *_CLOSE):
                continue  # a method of an expression: the chain's own undo (`.strip()` dropped off the end)
            m = _close_of(sb, i + 1)
            if m is None or m == i + 2:
                continue
            # any positional argument can be the operand: `int(float(x))`, and `max(-1.0, min(1.0, x))` (a clamp)
            s, depth = i + 2, 0
            for e in range(i + 2, m + 1):
                if e == m or (depth == 0 and sb[e] == ","):
                    if e > s and not (e - s >= 2 and sb[s + 1] == "="):
                        out.append((p, s, e, m + 1))
                    s = e + 1
                elif sb[e] in _OPEN or sb[e] in _CLOSE:
                    depth += (sb[e] in _OPEN) - (sb[e] in _CLOSE)
        elif sb[i] == "or" and i > 0:
            s = _primary_start(sb, i) - 1
            e, depth = i + 1, 0
            while e < len(sb) and not (depth == 0 and sb[e] in _STOP) and depth >= 0:
                depth += (sb[e] in _OPEN) - (sb[e] in _CLOSE)
                e += 1
            if depth < 0:
                e -= 1
            if s + 1 < i and e > i + 1:
                out.append((i, s + 1, i, e))  # prefix empty: the operand comes first
        if sb[i] == "." and i > 0 and (_ident(sb[i - 1]) or sb[i - 1] in _CLOSE) and i + 2 < len(sb) \
                and _ident(sb[i + 1]) and sb[i + 2] == "(":
            # a method chain on an operand: `day.strip().lower()` -> `day`, the normalisation a rewrite dropped
            s = _primary_start(sb, i)
            end = i
            while end + 2 < len(sb) and sb[end] == "." and _ident(sb[end + 1]) and sb[end + 2] == "(":
                m = _close_of(sb, end + 2)
                if m is None:
                    break
                end = m + 1
            if s < i < end:
                out.append((s, s, i, end))  # prefix empty, the chain is the suffix
        if sb[i] == "if" and i > 0:
            out += _conditional(sb, i)
        if sb[i] == "(" and not (i and (_ident(sb[i - 1]) or sb[i - 1] in _CLOSE)):  # a group, not a call
            m = _close_of(sb, i)
            if m is not None and m - i >= 4 and sb[m - 2] in _ARITH and sb[m - 1][0].isdigit():
                out.append((i, i + 1, m - 2, m + 1))  # `(month - 1)`: an offset by a number, in brackets
    return out


def _dropped(sb: list[str], sa: list[str]) -> list[tuple[int, int, int, int]]:
    """The wrappers of `sb` that `sa` no longer has; one whose operand is exactly another dropped one is also
    taken with it (`max(-1.0, min(1.0, x))` -> `x`: a clamp is two calls)."""
    out = []
    for p, s, e, end in _wrappers(sb):
        head, tail = sb[p:s], sb[e:end]
        # what makes it this wrapper: the fallback, the group's close, the chain's first `.method(`, `f(`, or the
        # conditional's `if C else`
        if "if" in head or "if" in tail:
            piece = head if "if" in head else tail
            own = piece[piece.index("if"): piece.index("else") + 1]
        else:
            own = tail if p == e or head == ["("] else tail[:3] if not head else sb[p:sb.index("(", p) + 1]
        if not _contains(sa, own):
            out.append((p, s, e, end))
    for _ in range(2):
        calls = [w for w in out if w[0] != w[2]]
        out += [(p, s2, e2, end) for p, s, e, end in calls for p2, s2, e2, end2 in calls
                if p2 == s and end2 == e and (p, s2, e2, end) not in out]
    return out


_EDGE = frozenset({",", "=", "return", ":", "lambda", "(", "[", "{"})


def _conditional(sb: list[str], i: int) -> list[tuple[int, int, int, int]]:
    """`X if C else Y` around `if` at `i`: a guard the rewrite dropped is either side, so both are wrappers,
    `X if C else ` before Y and ` if C else Y` after X (`None if ttl is None else now + ttl` -> `now + ttl`)."""
    depth, k = 0, i - 1
    while k >= 0 and not (depth == 0 and sb[k] in _EDGE):  # X's start: back to a comma, `=`, an opening
        depth += (sb[k] in _CLOSE) - (sb[k] in _OPEN)
        if depth < 0:
            break
        k -= 1
    x = k + 1
    depth, e = 0, i + 1
    while e < len(sb) and not (depth == 0 and sb[e] == "else"):
        depth += (sb[e] in _OPEN) - (sb[e] in _CLOSE)
        e += 1
    if e >= len(sb) or x >= i:
        return []
    depth, end = 0, e + 1
    while end < len(sb) and not (depth == 0 and sb[end] in (",", ":")) and depth >= 0:
        depth += (sb[end] in _OPEN) - (sb[end] in _CLOSE)
        end += 1
    if depth < 0:
        end -= 1
    if end <= e + 1 or "lambda" in sb[x:end] or "for" in sb[x:end]:
        return []
    return [(x, e + 1, end, end), (x, x, i, end)]


def _mapped(ops: list[tuple[str, int, int, int, int]], s: int, t: int) -> tuple[int, int] | None:
    """The span [s, t) of the first sequence in the second, when both ends fall on an alignment's edge."""
    js = next((j1 + s - i1 if tag == "equal" else j1 for tag, i1, i2, j1, _ in ops
               if (tag == "equal" and i1 <= s < i2) or (tag != "equal" and s == i1 and i2 > i1)), None)
    je = next((j1 + t - i1 if tag == "equal" else j2 for tag, i1, i2, j1, j2 in ops
               if (tag == "equal" and i1 < t <= i2) or (tag != "equal" and t == i2 and i2 > i1)), None)
    return (js, je) if js is not None and je is not None and js < je else None


def _callee(head: list[str]) -> str | None:
    """The function a call wrapper's opening calls (`sorted` of `sorted(`)."""
    return head[head.index("(") - 1] if "(" in head and head.index("(") > 0 else None


def rewraps(b_line: str, tb: list[Tok], a_line: str, ta: list[Tok],
            inner: Callable[[str], set[str]] | None = None) -> list[tuple[str, int, str]]:
    """(the new line's code with one dropped wrapper put back, tokens added, description) per wrapper.

    `inner(f)`: the functions a function of the file calls. A wrapper whose work moved into the function the
    operand now passes through (`sorted(releases, key=…, reverse=True)` -> `sort_releases(releases)`, which
    calls `sorted` itself) is not put back around it: that would redo the new function's work the old way;
    only a dropped `reverse=True` is, as a reversal of the new value."""
    sb, sa = [t[0] for t in tb], [t[0] for t in ta]
    out: list[tuple[str, int, str]] = []
    for p, s, e, end in _dropped(sb, sa):
        is_or = p == e
        head, tail = ([], sb[e:end]) if is_or else (sb[p:s], sb[e:end])
        callee = _callee(head) if not is_or else None
        rest = sb[:p] + sb[s:e] + sb[end:] if not is_or else sb[:e] + sb[end:]
        start = p if not is_or else s
        ops = difflib.SequenceMatcher(None, rest, sa, autojunk=False).get_opcodes()
        span = _mapped(ops, start, start + (e - s))
        if span is None or not _balanced(sa[span[0]:span[1]]):
            continue
        code = a_line.rstrip("\n")
        # the operand moved into a call the old line did not make: around that call first, then the operand
        for js, je in dict.fromkeys([*_enclosing_call(sa, *span, sb), span]):
            lo, hi = ta[js][1], ta[je - 1][2]
            operand = a_line[lo:hi]
            moved_into = next((t for k, t in enumerate(sa[js:je]) if _ident(t) and js + k + 1 < je
                               and sa[js + k + 1] == "("), None)
            if callee and inner is not None and moved_into and callee in inner(moved_into):
                if callee == "sorted" and _contains(tail, ["reverse", "=", "True"]):
                    out.append(((code[:lo] + f"{operand}[::-1]" + code[hi:]).strip(), 3,
                                f"∅ -> reversed {operand} (the order {callee}(…, reverse=True) gave)"))
                continue
            if is_or:
                fallback = b_line[tb[e][1]: tb[end - 1][2]]
                new = code[:lo] + f"({operand} {fallback})" + code[hi:]
                what = f"∅ -> {fallback} after {operand}"
            else:
                opening = b_line[tb[p][1]: tb[s][1]] if s > p else ""
                closing = b_line[tb[e - 1][2]: tb[end - 1][2]] if end > e else ""
                whole = f"{opening}{operand}{closing}"
                before, after = code[:lo].rstrip(), code[hi:].lstrip()
                if " if " in whole and not ((not before or before.endswith(("(", ",", "[", "{", ":", "=", "return")))
                                            and after[:1] in (")", ",", "]", "}", "")):
                    whole = f"({whole})"  # a conditional inside an operation binds last
                new = code[:lo] + whole + code[hi:]
                what = f"∅ -> {opening}…{closing} around {operand}"
            if all(new.strip() != o[0] for o in out):
                out.append((new.strip(), len(head) + len(tail), what))
    return out


def _enclosing_call(sa: list[str], js: int, je: int, sb: list[str]) -> list[tuple[int, int]]:
    """The span of the call whose arguments the span is in (`month` -> `fiscal_month(month, start)`), when the
    old line `sb` made no such call: the rewrite passed the old operand through a new function, and the old
    operation applies to its result."""
    depth = 0
    for k in range(js - 1, -1, -1):
        depth += (sa[k] in _CLOSE) - (sa[k] in _OPEN)
        if depth < 0:
            if sa[k] != "(" or k == 0 or not _ident(sa[k - 1]):
                return []
            c = k - 1
            while c >= 2 and sa[c - 1] == "." and _ident(sa[c - 2]):
                c -= 2
            q = _close_of(sa, k)
            return [(c, q + 1)] if q is not None and q >= je and sa[k - 1] not in sb else []
    return []


_OPS = {ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Add: "+", ast.Sub: "-"}


def value_of(code: str) -> tuple[str, ast.expr] | None:
    """(what precedes the value, the value) of `x = value`, `x: T = value` or `return value` on one line."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return None
    if len(body) != 1:
        return None
    stmt = body[0]
    if isinstance(stmt, ast.Return | ast.Assign | ast.AnnAssign) and stmt.value is not None:
        return code[: stmt.value.col_offset], stmt.value
    return None


def tail_reapplied(b_line: str, a_line: str) -> tuple[str, int, str] | None:
    """An operation by a constant that closed the old value (`total / 1000`, `8 * 1024 * 1024`) and that the
    rewritten value lacks, applied to the whole new value: `(total + PACKAGING_G) / 1000`,
    `int(os.environ.get("CHUNK_KB", 8 * 1024)) * 1024`. The commit changed what the value is made of (a
    packaging weight, an override); the unit it was in is what went missing."""
    old, new = value_of(b_line.strip()), value_of(a_line.strip())
    if old is None or new is None or not isinstance(old[1], ast.BinOp) or type(old[1].op) not in _OPS:
        return None
    right = old[1].right
    if not (isinstance(right, ast.Constant) and isinstance(right.value, int | float)
            or isinstance(right, ast.Name) and right.id.isupper()):
        return None
    op, operand = _OPS[type(old[1].op)], ast.unparse(right)
    value = new[1]
    if isinstance(value, ast.BinOp) and type(value.op) is type(old[1].op) and ast.unparse(value.right) == operand:
        return None  # the new value keeps it
    text = ast.get_source_segment(a_line.strip(), value) or ast.unparse(value)
    primary = isinstance(value, ast.Call | ast.Name | ast.Attribute | ast.Subscript)
    code = new[0] + (text if primary else f"({text})") + f" {op} {operand}"
    rest = a_line.strip()[value.end_col_offset:] if value.end_lineno == 1 and value.end_col_offset else ""
    return code + rest, 2, f"∅ -> {op} {operand} on the whole value"


MAX_LITERAL_CHANGES = 8
MAX_LITERAL_VARIANTS = 24  # per rewritten literal: every place alone first, then pairs, ...
# a regex's atoms: an escape, a character class, one character (a diff of atoms keeps `\s*` whole)
_SYNTAX = re.compile(r"\\[a-zA-Z.()\[\]{}|*+?^$\\]|\[[^\]]*\]|\(\?|[*+?]\)|\{\d")  # escapes, classes, groups
_ATOM = re.compile(r"\\.|\[(?:\\.|[^\]])*\]|.", re.S)


def _places(a: str, b: str, atoms: bool) -> list[tuple[str, str, str]]:
    """The changes from `a` to `b` as (before, changed, after) pieces of `b`'s alignment: equal runs between
    the changes are kept whole, so a variant is the pieces joined with some changes undone."""
    ta = _ATOM.findall(a) if atoms else list(a)
    tb = _ATOM.findall(b) if atoms else list(b)
    ops = difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
    return [("".join(ta[i1:i2]), "".join(tb[j1:j2]), tag) for tag, i1, i2, j1, j2 in ops]


def literal_undos(old: str, new: str) -> list[tuple[str, str]]:
    r"""(the new string literal with some of its changes undone, description) for a string token a commit
    rewrote: `[a-z0-9.-]` -> `[a-z0-9-]` inside a regex that also gained `+` and a look-ahead gives back the
    `.` alone, keeping the rest (with one change only, that is the token's own undo); where it replaced
    characters, the old ones also go back beside the new: `[0-9 ]` -> `[0-9-]` gives `[0-9- ]`, a class or an
    alternation that keeps what the commit added and what it dropped. Places combine: a filter group that
    took the place of a `\s*` while another `\s*` went keeps the group with both `\s*` back
    (`\{\{\s*(name)\s*(?:\|(\w+))?\}\}`). Diffed by characters and by regex atoms (an escape, a class)."""
    prefix = re.match(r"[rRbBuU]*", new).group()  # kept: `r"..."` that was `"..."` stays raw
    old, new = old[len(re.match(r"[rRbBuU]*", old).group()):], new[len(prefix):]
    if len(old) < 2 or len(new) < 2 or old[0] != new[0] or old[0] not in "\"'" or old[-1] != old[0] \
            or new[-1] != new[0]:
        return []
    a, b = old[1:-1], new[1:-1]
    regex = _compiles(a) and _compiles(b)  # then a variant that is no regex is no candidate
    # places combine in a pattern (a regex, a format); in prose (a message, a docstring) one place at a time
    combine = regex and bool(_SYNTAX.search(a + b))
    diffs = []
    for atoms in (False, True):
        pieces = _places(a, b, atoms)
        changed = [k for k, (_, _, tag) in enumerate(pieces) if tag != "equal"]
        if len(changed) <= MAX_LITERAL_CHANGES:
            # the choices at one place: undo it; where it replaced, old beside new (both orders)
            diffs.append((pieces, changed, {k: [(pieces[k][0], f"{pieces[k][1] or '∅'} -> {pieces[k][0] or '∅'}")] + (
                [(pieces[k][1] + pieces[k][0], f"{pieces[k][1]} -> {pieces[k][1]}{pieces[k][0]}"),
                 (pieces[k][0] + pieces[k][1], f"{pieces[k][1]} -> {pieces[k][0]}{pieces[k][1]}")]
                if pieces[k][2] == "replace" else []) for k in changed}))
    seen, out = {b, a}, []
    for n in range(1, MAX_LITERAL_CHANGES + 1 if combine else 2):
        for pieces, changed, choices in diffs:
            for places in itertools.combinations(changed, n):
                for picked in itertools.product(*(choices[k] for k in places)):
                    chosen = dict(zip(places, picked, strict=True))
                    body = "".join(chosen[k][0] if k in chosen else piece[1] for k, piece in enumerate(pieces))
                    if body in seen or len(out) >= MAX_LITERAL_VARIANTS or (regex and not _compiles(body)):
                        continue
                    seen.add(body)
                    literal = prefix + new[0] + body + new[0]
                    try:
                        ast.literal_eval(("" if "r" in prefix.lower() else "r") + literal)
                    except (SyntaxError, ValueError):
                        continue
                    out.append((literal, f"{'; '.join(w for _, w in picked)} inside {new[:24]}…"))
    return out


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True
