"""Simple stupid bugs: one-token mutations of a failing-path line, whatever the exception.

    for new_line, what in sstub_variants('    if not total > limit:'): ...   # 'if total > limit:' ...
    names = local_names(text, 12)                                           # params and locals at line 12
    for new_line, what in identifier_swaps(line, [(8, 13, "total")], names): ...

Most one-statement bugs of real projects fall in a few patterns (Karampatsis and Allamanis, "How often do
single-statement bugs occur? The ManySStuBs4J dataset", MSR 2020): a changed operator, numeric literal,
boolean literal, unary operator (`not`), identifier, swapped arguments, or the wrong one of two sibling
functions. Each is one small edit of the line; the repro and the tests judge every one.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections.abc import Iterator

from agents.linecode import calls, in_string, is_literal
from agents.located import function_node_at
from agents.revert import tokens

__all__ = ["sstub_variants", "identifier_swaps", "local_names", "empty_returns"]

_SWAPS = {"<": ["<="], "<=": ["<"], ">": [">="], ">=": [">"], "/": ["//"], "//": ["/"], "+": ["-"], "-": ["+"],
          "==": ["!="], "!=": ["=="], "and": ["or"], "or": ["and"], "True": ["False"], "False": ["True"]}
# functions and methods that come in pairs: calling one for the other is a classic slip
_SIBLINGS = (("min", "max"), ("lstrip", "rstrip"), ("startswith", "endswith"), ("floor", "ceil"), ("any", "all"),
             ("append", "extend"), ("upper", "lower"), ("find", "rfind"), ("index", "rindex"),
             ("split", "rsplit"), ("keys", "values"), ("first", "last"), ("ljust", "rjust"),
             ("union", "intersection"), ("nsmallest", "nlargest"), ("bisect_left", "bisect_right"))
_SIBLING = {a: b for pair in _SIBLINGS for a, b in (pair, pair[::-1])}
# a keyword argument (after `(` or `,`, also on a line a call continues past) whose value is a name, attribute,
# subscript or plain call
_KEYWORD_VALUE = re.compile(r"(?:(?<=\()|(?<=,))\s*([A-Za-z_]\w*)\s*=(?!=)\s*"
                            r"([A-Za-z_][\w.]*(?:\[[^\[\]]*\]|\([^()]*\))*)\s*(?=[,)]|$)")
_WHOLE = re.compile(r"float|integer|\bint\b", re.I)
_CONDITION = re.compile(r"^(\s*(?:if|elif|while)\s+)(.+?)(\s*:\s*(?:#.*)?)$")
SWAPS_PER_NAME = 4


def sstub_variants(line: str, message: str | None = None) -> Iterator[tuple[str, str]]:
    """One-token mutations: operator and boolean swaps, integers +-1, `not` dropped or added (to a condition or
    a keyword argument), a sibling function, swapped positional arguments, a range's end + 1. `/` becomes `//`
    only for an error that names a float or an integer (`message`; None: any): floor division truncates,
    which a crash about a fraction where a whole number was wanted justifies and any other does not (review 25:
    `total * w / whole` in money made `//` balanced a split by dropping the fractions)."""
    for tok, s, e in tokens(line):
        for new in _SWAPS.get(tok, []):
            if new == "//" and message is not None and not _WHOLE.search(message):
                continue
            if tok in ("-", "+") and (s == 0 or line[:s].rstrip().endswith(("(", ",", "=", "["))):
                continue  # a sign, not an operator
            yield line[:s] + new + line[e:], f"{tok} -> {new}"
        if re.fullmatch(r"\d+", tok) and not line[:s].rstrip().endswith("."):
            n = int(tok)
            for v in (n + 1, n - 1):
                if v >= 0:
                    yield line[:s] + str(v) + line[e:], f"{n} -> {v}"
    for start in _keyword_columns(line, "not"):
        end = start + 3 + len(line[start + 3:]) - len(line[start + 3:].lstrip())
        yield line[:start] + line[end:], "drop not"
    cond = _CONDITION.match(line)
    if cond and not cond.group(2).startswith("not "):
        simple = re.fullmatch(r"[\w.]+(?:\([^()]*\))?", cond.group(2))  # a name, attribute or plain call
        negated = f"not {cond.group(2)}" if simple else f"not ({cond.group(2)})"
        yield f"{cond.group(1)}{negated}{cond.group(3)}", "negate the condition"
    for name, s, _, _ in calls(line):
        short = name.rsplit(".", 1)[-1]
        if short in _SIBLING:
            at = s + len(name) - len(short)
            yield line[:at] + _SIBLING[short] + line[at + len(short):], f"{short}() -> {_SIBLING[short]}()"
    for name, _, _, args in calls(line):
        positional = [(a, b) for a, b in args if "=" not in line[a:b] and "*" not in line[a:b]]
        for (a1, b1), (a2, b2) in zip(positional, positional[1:], strict=False):
            x, y = line[a1:b1], line[a2:b2]
            yield (line[:a1] + y.strip().join(x.split(x.strip())) + line[b1:a2]
                   + x.strip().join(y.split(y.strip())) + line[b2:], f"swap arguments of {name}()")
    for m in _KEYWORD_VALUE.finditer(line):  # a switch passed the wrong way round: `skip_header=not headerless`
        value = m.group(2)
        if not is_literal(value) and not in_string(line, m.start()):
            yield (line[:m.start(2)] + f"not {value}" + line[m.end(2):],
                   f"{m.group(1)}={value} -> {m.group(1)}=not {value}")
    for name, _, _, args in calls(line):
        if name in ("range",) and args:
            a, b = args[-1]
            yield line[:b] + " + 1" + line[b:], "range end + 1"
    for name, start, end, _ in calls(line):  # a size one short: room for the overflow / sentinel slot
        if name == "len" and not re.match(r"\s*[-+]", line[end:]):
            yield line[:start] + "(" + line[start:end] + " + 1)" + line[end:], "size len() + 1"


def _keyword_columns(line: str, word: str) -> list[int]:
    """Columns where `word` is a name token of the line's code (not inside a string or a comment)."""
    out: list[int] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line.strip("\n") + "\n").readline):
            if tok.type == tokenize.NAME and tok.string == word and tok.start[0] == 1:
                out.append(tok.start[1])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # a line cut from a longer statement: the tokens read so far stand
    return out


_EMPTY = {"set": "set()", "frozenset": "frozenset()", "list": "[]", "List": "[]", "Sequence": "[]", "dict": "{}",
          "Dict": "{}", "Mapping": "{}", "str": '""', "int": "0", "float": "0.0", "bool": "False", "tuple": "()"}


def empty_returns(text: str, line: int) -> list[str]:
    """Empty values of the kind the function around `line` returns: its own empty returns (`return set()`),
    then the empty value of its return annotation (`-> set[str]`: `set()`), for an early return."""
    fn = function_node_at(text, line)
    if fn is None:
        return []
    out = [ast.unparse(n.value) for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None
           and ast.unparse(n.value) in _EMPTY.values()]
    if fn.returns is not None:
        head = ast.unparse(fn.returns).split("[", 1)[0].rsplit(".", 1)[-1]
        out += [_EMPTY[head]] if head in _EMPTY else []
    return list(dict.fromkeys(out))


def local_names(text: str, line: int) -> set[str]:
    """The parameters and assigned names of the innermost function around `line` (empty outside one)."""
    fn = function_node_at(text, line)
    if fn is None:
        return set()
    names = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
    names.update(a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None)
    names.update(n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names - {"self", "cls"}


def identifier_swaps(line: str, values: list[tuple[int, int, str]], names: set[str]) -> Iterator[tuple[str, str]]:
    """Each name used as a value on the line replaced by another of the function's own names, the most
    alike first (`SWAPS_PER_NAME` each): `end - start` where `end - begin` was meant."""
    for s, e, name in values:
        if name not in names:
            continue  # a global or an import: its siblings are not known here
        others = sorted(names - {name}, key=lambda n: (-difflib.SequenceMatcher(None, name, n).ratio(), n))
        for other in others[:SWAPS_PER_NAME]:
            yield line[:s] + other + line[e:], f"{name} -> {other}"
