"""Fix templates by exception and change type (after TBar, PAR and the "simple stupid bugs" patterns).

    sites = [Site("shop/core.py", 12, "rate", 0)]            # failing-path lines at HEAD, best first
    cands = template_candidates(shape, message, sites, texts, renames={"old_name": ["new_name"]})

Each template rewrites one line (or inserts a guard before it) and yields a Candidate with the whole new
file text. Which templates apply depends on the exception: a missing key -> `.get(k)` / `.get(k, default)`;
None -> `(x or {})` or a guard; division by zero -> a guard; an index -> bounds; a stale name -> the name
it was renamed to (from history) or the closest defined name; naive vs aware datetimes; a generator where
a list was expected; an exception handler (the one the suspect removed, first). The simple stupid
bugs (`agents.sstubs`: operators, numbers, booleans, `not`, sibling functions, swapped arguments, one of
the function's own names for another) apply to every failing-path line. Candidates are validated by
running tests, never trusted by themselves.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from agents.absence import absent_like_handler
from agents.coerce import coercions, function_coercions, mixed_types, needs_import
from agents.domain import domain_candidates
from agents.keyfixes import key_fallbacks, positions_to_keys, spread_keywords, stale_keys, unpacked_to_keys
from agents.linecode import calls, is_literal, mapping_reads, subscripts
from agents.regroup import regroupings
from agents.repro import ErrorShape
from agents.revert import Candidate, token_distance
from agents.sharedstate import instance_state_fixes, mutable_default_fixes
from agents.sstubs import empty_returns, identifier_swaps, local_names, sstub_variants
from agents.strbytes import conversions, strbytes_variants
from agents.unbound import EMPTY, unbound_fixes

__all__ = ["Site", "template_candidates", "defined_names"]

DEFAULTS = ("None", "0", "0.0", '""', "[]", "{}")
_BUILTINS = {"print", "len", "str", "int", "float", "list", "dict", "set", "tuple", "range", "sum", "min", "max",
             "sorted", "isinstance", "round", "abs", "any", "all", "enumerate", "zip", "getattr", "super", "bool"}
_NAME_IN_MSG = [
    re.compile(r"name '(\w+)' is not defined"),
    re.compile(r"has no attribute '(\w+)'"),
    re.compile(r"cannot import name '(\w+)'"),
    re.compile(r"unexpected keyword argument '(\w+)'"),
]


@dataclass(frozen=True)
class Site:
    path: str
    line: int  # 1-based, at HEAD
    function: str
    tier: int  # 0 crash line, 1 caller line, 2 other line on the path, 3 a callee's returned earlier


def defined_names(texts: dict[str, str]) -> set[str]:
    names: set[str] = set()
    for text in texts.values():
        names.update(re.findall(r"^\s*(?:def|class)\s+(\w+)", text, re.M))
        names.update(re.findall(r"^(\w+)\s*=", text, re.M))
        names.update(re.findall(r"(?:def\s+\w+\(|,\s*)(\w+)\s*(?:=|:|,|\))", text))
    return names


def _line_variants(line: str, shape: ErrorShape, message: str, renames: dict[str, list[str]],
                   names: set[str]) -> Iterator[tuple[str, str]]:
    exc = shape.exc_type
    if exc == "KeyError":
        for s, e, obj, key in subscripts(line):
            if ":" in key:
                continue
            yield line[:s] + f"{obj}.get({key})" + line[e:], f"{obj}[{key}] -> {obj}.get({key})"
            for d in DEFAULTS[1:]:
                yield line[:s] + f"{obj}.get({key}, {d})" + line[e:], f"{obj}[{key}] -> .get with default {d}"
    if "NoneType" in message or exc in ("TypeError", "AttributeError"):
        for start, end, name in _values(line):
            for d in _none_defaults(message):
                yield line[:start] + f"({name} or {d})" + line[end:], f"{name} -> ({name} or {d})"
    if (missing := re.search(r"'NoneType' object has no attribute '(\w+)'", message)):
        # the receiver that is None, however it is spelled: `record.get(key, "").split()` when the key holds None
        for start, end, receiver in _receivers(line, missing.group(1)):
            for d in _none_defaults(message):
                yield (line[:start] + f"({receiver} or {d})" + line[end:],
                       f"{receiver} -> ({receiver} or {d}) before .{missing.group(1)}")
    if "NoneType" in message:  # an argument that is now None: `int(m.group("patch"))` -> `int(... or 0)`
        named = re.match(r"(\w+)\(\) argument", message)
        for name, _, _, args in calls(line):
            if named and name.split(".")[-1] != named.group(1):
                continue
            for a, b in args:
                arg = line[a:b].strip()
                if "=" in arg or arg.startswith("*") or re.fullmatch(r"[A-Za-z_]\w*", arg) or is_literal(arg):
                    continue  # keywords, stars and literals left alone; bare names are the value variants above
                lead = line[a:b].index(arg) + a
                for d in _none_defaults(message):
                    yield (line[:lead] + f"{arg} or {d}" + line[lead + len(arg):],
                           f"{name}({arg}) -> {name}({arg} or {d})")
    if _numbers_as_text(message):  # digits read from JSON, a form or the environment arrive as str
        spans = mapping_reads(line)
        groups = [[span] for span in spans] + ([spans] if len(spans) > 1 else [])
        for group in groups:
            new = line
            for s, e in reversed(group):
                new = new[:s] + f"int({new[s:e]})" + new[e:]
            yield new, f"int() around {', '.join(line[s:e] for s, e in group)}"
    if _more_parts(message):  # a value that now holds the separator too: split at its first one only
        for m in re.finditer(r"\.(r?split)\((\s*[^(),]+?\s*)\)", line):
            sep = m.group(2).strip()
            if sep != "None":
                yield (line[: m.start()] + f".{m.group(1)}({sep}, 1)" + line[m.end():],
                       f"{m.group(1)}({sep}) -> {m.group(1)}({sep}, 1)")
    if mixed := mixed_types(message):  # Decimal * float, str + int, ...: one side as the other's type
        yield from coercions(line, mixed)
    if conversions(message):  # text where bytes were meant, or bytes where text
        yield from strbytes_variants(line, _value_spans(line), message)
    if exc == "ZeroDivisionError":
        for m in re.finditer(r"(/{1,2})\s*([\w.]+(?:\([^()]*\))?)", line):
            den = m.group(2)
            yield (line[: m.start()] + f"{m.group(1)} max({den}, 1)" + line[m.end():],
                   f"divide by max({den}, 1)")
    if exc == "IndexError":
        for s, e, obj, key in subscripts(line):
            if key.strip() in ("0", "-1"):
                yield line[:s] + f"({obj}[{key}] if {obj} else None)" + line[e:], f"guard empty {obj}"
            if ":" not in key:
                for d in ("- 1", "+ 1"):
                    yield line[:s] + f"{obj}[{key} {d}]" + line[e:], f"index {key} {d}"
    if _LAZY.search(message):
        for name, s, e, _ in calls(line):
            if name.split(".")[-1] not in _BUILTINS:
                yield line[:s] + f"list({line[s:e]})" + line[e:], f"list({name}(...))"
    if "offset-naive" in message or "offset-aware" in message:
        for old, new in (("datetime.utcnow()", "datetime.now(timezone.utc)"),
                         ("datetime.now()", "datetime.now(timezone.utc)"),
                         ("datetime.now(timezone.utc)", "datetime.now()"),
                         ("datetime.now(tz=timezone.utc)", "datetime.now()")):
            if old in line:
                yield line.replace(old, new), f"{old} -> {new}"
        for m in re.finditer(r"(datetime\.(?:fromisoformat|strptime)\([^()]*\))", line):
            yield (line[: m.end()] + ".replace(tzinfo=timezone.utc)" + line[m.end():],
                   "parsed datetime made aware (UTC)")
    if _CHANGED_DURING_ITERATION.search(message):  # a loop that adds or deletes what it walks: walk a copy
        for m in _FOR_IN.finditer(line):
            it = m.group(1).strip()
            if not it.startswith(("list(", "tuple(", "sorted(")):
                yield line[: m.start(1)] + f"list({it})" + line[m.start(1) + len(it):], f"iterate over list({it})"
    yield from sstub_variants(line, message)  # generic "simple stupid bug" mutations


_CHANGED_DURING_ITERATION = re.compile(r"(?:dictionary|set|deque|OrderedDict) (?:changed size|keys changed|"
                                       r"mutated) during iteration", re.I)
# `for k, v in EXPR:` and a comprehension's `for x in EXPR` (up to its `if`, next `for` or closing bracket)
_FOR_IN = re.compile(r"\bfor\s+[\w\s,()]+?\s+in\s+(?=\S)((?:[^:\[\](){}]|\([^()]*\)|\[[^\[\]]*\])+?)"
                     r"(?=\s*:\s*(?:#.*)?$|\s+if\s|\s+for\s|\s*[\])}])")
_KEYWORDS = {"return", "if", "else", "elif", "for", "in", "not", "and", "or", "is", "None", "True", "False",
             "lambda", "yield", "await", "async", "with", "as", "def", "class", "import", "from", "raise", "del",
             "while", "try", "except", "finally", "pass", "break", "continue", "global", "nonlocal", "assert"}


def _size(what: str, body: str, new_line: str) -> int:
    """A candidate's size for the order: its token distance; a conversion the message names counts as one
    change per operand, however long its spelling (`x.replace(tzinfo=timezone.utc)`)."""
    if what.startswith("coerce every operand"):
        return max(1, new_line.count("timezone.utc") - body.count("timezone.utc"))
    return 1 if what.startswith("coerce ") else token_distance(body, new_line)


_STRING = re.compile(r'[rbfuRBFU]{0,2}("""|\'\'\'|"|\')(?:\\.|(?!\1).)*(?:\1|$)', re.S)


def _code_only(line: str) -> str:
    """The line with what its string literals say blanked out (same length) and its comment cut: the words of
    a docstring or a message are no names."""
    def blank(m: re.Match[str]) -> str:
        lit, lead = m.group(), m.start(1) - m.start()
        if "f" in lit[:lead].lower():  # an f-string's `{names}` are code
            return lit[:lead + 1] + re.sub(r"[^{}]+(?=\{)|(?<=\})[^{}]+|^[^{}]+$",
                                             lambda w: " " * len(w.group()), lit[lead + 1:])
        return lit[:lead + 1] + " " * (len(lit) - lead - 1)
    masked = _STRING.sub(blank, line)
    cut = masked.find("#")
    return masked if cut < 0 else masked[:cut]


def _values(line: str) -> Iterator[tuple[int, int, str]]:
    """Names used as values on the line (not calls, attributes, keywords, builtins or assignment targets)."""
    code = _code_only(line)
    target = re.match(r"\s*([A-Za-z_]\w*)\s*=[^=]", code)
    for m in re.finditer(r"(?<![\w.'\"])([A-Za-z_]\w*)(?!\s*\()(?![\w'\"])", code):
        name = m.group(1)
        if (name in _KEYWORDS or name in _BUILTINS or name in ("self", "cls")
                or (target and m.start() == target.start(1)) or re.match(r"\s*=[^=]", code[m.end():])):
            continue
        yield m.start(), m.end(), name


def _receivers(line: str, attr: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each call or subscript `attr` is read from on the line (`record.get(k).split`):
    plain names are `_values`' own variants."""
    stripped = line.lstrip()
    lead = len(line) - len(stripped)
    tree = None
    for text in (stripped, stripped.rstrip() + " pass"):  # a statement, or the header of a block
        try:
            tree = ast.parse(text)
            break
        except (SyntaxError, ValueError):
            continue
    raw = stripped.encode()
    out = []
    for node in ast.walk(tree) if tree else []:
        if (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, (ast.Call, ast.Subscript))
                and node.value.lineno == node.value.end_lineno == 1):
            a = len(raw[:node.value.col_offset].decode(errors="replace"))  # ast counts bytes
            b = len(raw[:node.value.end_col_offset].decode(errors="replace"))
            out.append((lead + a, lead + b, stripped[a:b]))
    return out


def _value_spans(line: str) -> list[tuple[int, int, str]]:
    """Values on the line: names (`_values`), attribute chains (`self.key`), and calls (`dumps(body)`)."""
    code = _code_only(line)
    spans = [(s, e, name) for s, e, name in _values(line) if code[e:e + 1] != "."]  # a chain's root: below
    spans += [(m.start(), m.end(), m.group()) for m in re.finditer(r"(?<![\w.'\"])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
                                                                   r"(?![\w(])", code)]
    spans += [(s, e, line[s:e]) for name, s, e, _ in calls(line) if name.split(".")[-1] not in _BUILTINS]
    return spans


def _more_parts(message: str) -> bool:
    """More parts than a two-target unpacking or dict() wants: a separator inside the value."""
    return bool(re.search(r"too many values to unpack \(expected 2|dictionary update sequence element #\d+ has "
                          r"length \d+; 2 is required", message))


def _numbers_as_text(message: str) -> bool:
    """A digit string where a number was meant: a KeyError on `'2'`, str mixed with int in arithmetic."""
    return bool(re.search(r"KeyError: '-?\d+'\s*$", message) or re.search(
        r"'str' and 'int'|'int' and 'str'|can only concatenate str \(not \"int\"\)", message))


def _none_defaults(message: str) -> tuple[str, ...]:
    if "not iterable" in message or "has no len" in message:
        return ("[]", "{}", '""')
    if "subscriptable" in message:
        return ("{}", "[]")
    if "attribute" in message:
        return ("{}", '""', "[]")
    if "operand" in message or "real number" in message or "must be" in message:
        return ("0", "0.0", '""')
    return ("{}", "[]", '""', "0")


def _handlers(line: str, indent: str, exc: str, restored: list[tuple[str, list[str]]]) -> Iterator[tuple[str, str]]:
    """The statement on `line` wrapped in try/except with a handler the suspect removed. Never a handler of
    our own that swallows the error (`except E: pass`, `return None`): that hides the crash from the repro
    and moves it to whoever uses the missing value (two blind reviews found such fixes approved)."""
    stmt = line.strip()
    try:
        ast.parse(stmt)
    except SyntaxError:
        return  # part of a multi-line statement
    if not re.fullmatch(r"[A-Za-z_]\w*(Error|Exception|Warning)", exc):
        return
    bodies: list[tuple[str, list[str]]] = [(e, b) for e, b in restored if e in (exc, "Exception") or exc in e]
    for handled, body in bodies:
        block = "".join(f"{indent}    {b}\n" for b in body)
        caught = f"({handled})" if "," in handled else handled  # `except A, B:` is not Python 3
        yield (f"{indent}try:\n{indent}    {stmt}\n{indent}except {caught}:\n{block}".rstrip("\n"),
               f"handle {handled}: {body[0][:40]}")


_SAME_OPERANDS = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\s*(?:[-+*/%<>]|[<>!=]=|//)\s*\1(?![\w.(\[])")


def _same_operands(line: str) -> set[str]:
    """Names a binary operation of the line applies to themselves (`x - x`, `n == n`)."""
    return set(_SAME_OPERANDS.findall(line))


def _guards(line: str, indent: str, shape: ErrorShape, message: str, typed: list[str]) -> Iterator[tuple[str, str]]:
    """Lines to insert before `line`: an early return when the value that fails is missing (the empty value
    of the kind the function returns first: `typed`)."""
    subjects: list[str] = []
    if "NoneType" in message:
        subjects += [name for _, _, name in _values(line)]
    if shape.exc_type == "ZeroDivisionError":
        subjects += [m.group(1) for m in re.finditer(r"/{1,2}\s*([\w.]+(?:\([^()]*\))?)", line)]
    if shape.exc_type == "IndexError":
        subjects += [obj for _, _, obj, _ in subscripts(line)]
    for subject in dict.fromkeys(subjects):
        cond = f"{subject} is None" if "NoneType" in message else f"not {subject}"
        for d in dict.fromkeys([*typed, *DEFAULTS]):
            yield f"{indent}if {cond}:\n{indent}    return {d}\n", f"guard: if {cond}: return {d}"


def _with_timezone_import(text: str, new: str) -> str:
    if "timezone" in new and not re.search(r"^\s*(from datetime import .*\btimezone\b|import datetime)", text, re.M):
        return re.sub(r"^from datetime import ([^\n]+)$", r"from datetime import \1, timezone", new, count=1,
                      flags=re.M)
    return new


_LAZY = re.compile(r"'(generator|map|filter|zip|dict_keys|dict_values|dict_items)' object|type '(generator|map)'")


def lazy_origins(lines: list[str], line_no: int) -> Iterator[tuple[int, str, str]]:
    """(0-based line, new line, what) making a list where the crash line's name got a lazy iterator: its
    assignment above in the function (`readings = parse_lines(lines)` before `readings.sort(...)`)."""
    body = lines[line_no - 1]
    used = set(re.findall(r"(?<![\w.])([A-Za-z_]\w*)(?=\.\w+\(|\[)", body))
    used |= set(re.findall(r"\b(?:len|reversed)\(([A-Za-z_]\w*)\)", body))
    indent = len(body) - len(body.lstrip())
    for k in range(line_no - 2, -1, -1):
        text = lines[k]
        if text.strip() and len(text) - len(text.lstrip()) < indent and text.lstrip().startswith(("def ", "async ")):
            return
        m = re.match(r"(\s*)([A-Za-z_]\w*)\s*=\s*(?!list\()(.+?)\s*$", text.rstrip("\n"))
        if m and m.group(2) in used:
            used.discard(m.group(2))
            nl = text[len(text.rstrip("\n")):]
            yield k, f"{m.group(1)}{m.group(2)} = list({m.group(3)}){nl}", f"{m.group(2)} made a list where it is set"


def template_candidates(shape: ErrorShape, message: str, sites: list[Site], texts: dict[str, str],
                        renames: dict[str, list[str]] | None = None, *, limit: int = 400,
                        handlers: list[tuple[str, list[str]]] | None = None,
                        keys: dict[str, list[str]] | None = None,
                        positions: dict[int, str] | None = None) -> list[Candidate]:
    """Template candidates at the failing-path sites (texts: path -> current text).

    renames: identifiers the suspect replaced (old -> [new]); handlers: `except` blocks the suspect removed
    as (exception, body lines), restored first when the crash statement gets a handler; keys: string keys
    the suspect replaced (a KeyError on one of them: the consumer the suspect did not update); positions:
    tuple positions the suspect made dict keys (a KeyError on an integer: a caller still indexing).
    """
    names = defined_names(texts)
    out: list[Candidate] = domain_candidates(message, sites, texts)  # a refusal that covers the drifted value
    seen: set[tuple[str, str]] = set()
    for site in sites:
        text = texts.get(site.path)
        if text is None:
            continue
        lines = text.splitlines(keepends=True)
        if not 1 <= site.line <= len(lines):
            continue
        raw = lines[site.line - 1]
        body, nl = raw.rstrip("\n"), raw[len(raw.rstrip("\n")):]
        variants = list(_line_variants(body, shape, message, renames or {}, names))
        variants += list(regroupings(text, site.line))  # operator precedence
        variants += [(v, f"name {what}") for v, what in identifier_swaps(body, list(_values(body)),
                                                                      local_names(text, site.line))
                     if not _same_operands(v) - _same_operands(body)]  # `b - b` is no repair of `a - b`
        indent = body[: len(body) - len(body.lstrip())]
        in_function = site.function not in ("<module>", "")
        if in_function and site.tier < 2:
            variants += list(_handlers(body, indent, shape.exc_type, handlers or []))
        for guard, what in (_guards(body, indent, shape, message, empty_returns(text, site.line))
                            if in_function else []):
            variants.append((guard + body, what))
        stale = next((m.group(1) for rx in _NAME_IN_MSG if (m := rx.search(message))), None)
        if stale and re.search(rf"(?<!\w){stale}(?!\w)", body):  # every stale call site in the file
            options = re.findall(r"Did you mean:? '(\w+)'", message)  # Python's own suggestion first
            options += [n for n in (renames or {}).get(stale, []) if n not in options]
            options += [n for n in difflib.get_close_matches(stale, sorted(names - {stale}), n=4, cutoff=0.5)
                        if n not in options]
            for new in options:
                new_text = re.sub(rf"(?<!\w){stale}(?!\w)", new, text)
                if "." in new:  # the family moved with it: every sibling the suspect moved under the same attribute
                    head = new.rsplit(".", 1)[0] + "."
                    for old, moved in (renames or {}).items():
                        to = next((m for m in moved if m.startswith(head)), None)
                        if old != stale and to is not None:
                            new_text = re.sub(rf"(?<=\.){old}(?!\w)", to, new_text)
                if (site.path, new_text) not in seen:
                    seen.add((site.path, new_text))
                    out.append(Candidate({site.path: new_text}, "template:stale_name",
                                         f"stale name {stale} -> {new} in {site.path}", 1, tier=site.tier))
        for new_text, what in (function_coercions(text, site.line, mixed) if site.tier == 0 and (
                mixed := mixed_types(message)) else []):  # a window's lower and upper bound
            converted = sum(a != b for a, b in zip(lines, new_text.splitlines(keepends=True), strict=False))
            new_text = needs_import(text, _with_timezone_import(text, new_text))
            if (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:coerce", f"{what} at {site.path}",
                                     2 * converted, tier=site.tier))
        out += stale_keys(site, text, body, shape, message, keys or {}, seen)
        out += spread_keywords(site, text, body, message, renames or {}, seen)
        out += positions_to_keys(site, lines, body, nl, shape, message, positions or {}, seen)
        out += unpacked_to_keys(site, lines, body, nl, shape, message, positions or {}, seen)
        for new_text, what in absent_like_handler(text, site.line, message) if site.tier < 2 else []:
            if (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:absent_handler", f"{what} in {site.path}",
                                     3, tier=site.tier))
        for new_text, what in (instance_state_fixes(text, site.line) + mutable_default_fixes(text, site.line)
                               if site.tier < 2 else []):
            if (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:instance_state", f"{what} in {site.path}",
                                     2 * what.count(",") + 2, tier=site.tier))
        for new_text, what in (unbound_fixes(text, site.line, message)
                               if site.tier == 0 and shape.exc_type == "UnboundLocalError" else []):
            if (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:unbound", f"{what} in {site.path}",
                                     1 + EMPTY.index(what.split(" = ", 1)[1].split(" ", 1)[0]), tier=site.tier))
        if "NoneType" in message or shape.exc_type == "KeyError":
            out += key_fallbacks(site, lines, body, nl, keys or {}, seen)
        for k, new_line, what in lazy_origins(lines, site.line) if site.tier == 0 and _LAZY.search(message) else []:
            new_text = "".join(lines[:k]) + new_line + "".join(lines[k + 1:])
            if (site.path, new_text) not in seen:
                seen.add((site.path, new_text))
                out.append(Candidate({site.path: new_text}, "template:list", f"{what} at {site.path}:{k + 1}", 2,
                                     tier=site.tier))
        for new_line, what in variants:
            if new_line == body:
                continue
            new_text = "".join(lines[: site.line - 1]) + new_line + nl + "".join(lines[site.line:])
            new_text = needs_import(text, _with_timezone_import(text, new_text))
            if (site.path, new_text) in seen:
                continue
            seen.add((site.path, new_text))
            swap = what.startswith("name ")  # one name for another: many per line, tried with the last templates
            # a guard's value counts as one token, so guards keep their order (the function's own kind first)
            guard = what.startswith("guard:")
            sized = re.sub(r"return .*\n", "return None\n", new_line, count=1) if guard else new_line
            out.append(Candidate({site.path: new_text}, f"template:{what.split(' ')[0]}",
                                 f"{what} at {site.path}:{site.line}", _size(what, body, sized) + swap,
                                 tier=2 if swap else site.tier))
            if len(out) >= limit:
                return out
    return out
