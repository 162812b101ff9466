"""An override left behind by a new call contract: the method's other definitions take the new argument,
this one does not.

    cands = override_candidates(root, "SmsNotifier.render() takes 2 positional arguments but 3 were given")

A base class method gains a parameter and its callers pass it (`self.render(event, locale)`), but a
subclass's override keeps the old signature and fails on every call. Python names the function, and the
arguments it got; every other definition of that name in the repository that accepts them is the
reference. The override takes the reference's extra parameters, with the reference's defaults (imported
through the import of the reference's module the file has; None where it has none or cannot reach them),
so old callers keep working and the new argument is accepted; its `super()` calls of the method pass them
on (tried first), so the subclass honours the new contract instead of ignoring it. A callback has no
other definition of its name (`on_returned` among handlers of other names): when none exists, the
parameters it lacks are named after the arguments of the refused call on the crash line
(`handler(payload, ctx)` -> `def on_returned(self, payload, ctx=None)`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agents.linecode import calls
from agents.revert import Candidate
from agents.sources import production_files

__all__ = ["override_candidates"]

_TOO_MANY = re.compile(r"(?:(\w+)\.)?(\w+)\(\) takes (?:from \d+ to )?(\d+) positional arguments? but (\d+) "
                       r"(?:were|was) given")
_UNEXPECTED = re.compile(r"(?:(\w+)\.)?(\w+)\(\) got an unexpected keyword argument '(\w+)'")
Def = tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef]  # (path, enclosing class or "", node)


def _definitions(root: Path, name: str) -> tuple[list[Def], dict[str, str]]:
    defs: list[Def] = []
    texts: dict[str, str] = {}
    for path, text in production_files(root):
        if f"def {name}" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        texts[path] = text
        for cls in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef))]:
            owner = cls.name if isinstance(cls, ast.ClassDef) else ""
            for node in getattr(cls, "body", []):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                    defs.append((path, owner, node))
    return defs, texts


def _positional(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    return [*fn.args.posonlyargs, *fn.args.args]


def _default(text: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, arg: ast.arg) -> str:
    positional = _positional(fn)
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(fn.args.defaults):]], fn.args.defaults,
                        strict=True))
    defaults |= {a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is not None}
    value = defaults.get(arg.arg)
    return (ast.get_source_segment(text, value) or "None") if value is not None else "None"


def _widened(text: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, added: list[str]) -> str | None:
    """`text` with `added` parameters (`name=default`) after the last positional parameter of `fn`."""
    positional = _positional(fn)
    if not positional or fn.args.vararg is not None:
        return None
    last = positional[-1]
    if fn.args.defaults and last.arg not in {a.arg for a in positional[len(positional) - len(fn.args.defaults):]}:
        return None
    anchor = fn.args.defaults[-1] if fn.args.defaults else (last.annotation or last)
    if anchor.end_lineno is None or anchor.end_col_offset is None:
        return None
    lines = text.splitlines(keepends=True)
    row = lines[anchor.end_lineno - 1].encode()
    lines[anchor.end_lineno - 1] = (row[: anchor.end_col_offset] + "".join(f", {a}" for a in added).encode()
                                    + row[anchor.end_col_offset:]).decode()
    return "".join(lines)


def _importing(text: str, path: str, ref_path: str, defaults: dict[str, str]) -> str:
    """`text` importing the names a default needs from the reference's module, through an import of that
    module it already has (`from .base import Notifier` -> `from .base import Notifier, DEFAULT_LOCALE`);
    a default it cannot reach becomes None."""
    module = ref_path[:-3].replace("/", ".")
    if module.endswith(".__init__"):
        module = module[: -len(".__init__")]
    here = path[:-3].replace("/", ".").rsplit(".", 1)[0]
    spellings = {module, "." + module.rsplit(".", 1)[-1] if module.rsplit(".", 1)[0] == here else module}
    line = next((m for m in re.finditer(r"^from\s+([\w.]+)\s+import\s+([^\n(]+)$", text, re.M)
                 if m.group(1) in spellings), None)
    for arg, default in list(defaults.items()):
        needed = [n for n in re.findall(r"[A-Za-z_]\w*", default) if n not in ("None", "True", "False")
                  and not re.search(rf"^(\s*(from\s+\S+\s+)?import\s+[^\n]*\b{n}\b|{n}\s*=|def {n}\b|class {n}\b)",
                                    text, re.M)]
        if not needed:
            continue
        if line is None:
            defaults[arg] = "None"
            continue
        addition = ", ".join(needed)
        text = text[: line.end(2)] + f", {addition}" + text[line.end(2):]
        line = next(m for m in re.finditer(r"^from\s+([\w.]+)\s+import\s+([^\n(]+)$", text, re.M)
                    if m.group(1) == line.group(1))
    return text


def _forwarded(text: str | None, fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
               params: list[str]) -> str | None:
    """`text` whose override passes the new parameters on in its `super().name(...)` calls, by keyword."""
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    node = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name == fn.name and n.lineno == fn.lineno), None)
    calls = [c for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
             and c.func.attr == name and isinstance(c.func.value, ast.Call)
             and getattr(c.func.value.func, "id", "") == "super"
             and c.end_lineno == c.lineno] if node else []
    if not calls:
        return None
    lines = text.splitlines(keepends=True)
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset), reverse=True):
        row = lines[call.lineno - 1].encode()
        end = (call.end_col_offset or 0) - 1  # the closing parenthesis
        sep = ", " if call.args or call.keywords else ""
        extra = sep + ", ".join(f"{p}={p}" for p in params)
        lines[call.lineno - 1] = (row[:end] + extra.encode() + row[end:]).decode()
    return "".join(lines)


def _from_the_call(call_line: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool, given: int
                   ) -> list[str]:
    """With no other definition to copy: the parameters the refused call passes beyond what `fn` takes,
    named after the call's own arguments (`handler(payload, ctx)` -> `ctx`), each defaulting to None."""
    have = _positional(fn)
    taken = {a.arg for a in [*have, *fn.args.kwonlyargs]}
    for _name, _s, _e, spans in calls(call_line):
        args = [call_line[a:b].strip() for a, b in spans]
        if any("=" in a or a.startswith("*") for a in args) or len(args) + method != given:
            continue
        extra = args[len(have) - method:]
        if extra and all(a.isidentifier() and a not in taken for a in extra) and len(set(extra)) == len(extra):
            return extra
    return []


def override_candidates(root: Path, message: str, call_line: str = "") -> list[Candidate]:
    """Each definition of the named function that refuses the call, given the parameters its other
    definitions accept (or, when none does, the names the refused call on `call_line` passes them as)."""
    too_many, unexpected = _TOO_MANY.search(message), _UNEXPECTED.search(message)
    if too_many is None and unexpected is None:
        return []
    owner, name = (too_many or unexpected).group(1, 2)  # type: ignore[union-attr]
    defs, texts = _definitions(root, name)
    out: list[Candidate] = []
    for path, cls, fn in defs:
        if owner and cls != owner:
            continue
        have = _positional(fn)
        names = {a.arg for a in [*have, *fn.args.kwonlyargs]}
        if too_many is not None:
            given = int(too_many.group(4))
            if len(have) >= given:
                continue
            refs = [(p, f) for p, c, f in defs if f is not fn and len(_positional(f)) >= given]
            wanted = [(p, f, a) for p, f in refs[:1] for a in _positional(f)[len(have):given]]
        else:
            kw = unexpected.group(3)  # type: ignore[union-attr]
            if kw in names or fn.args.kwarg is not None:
                continue
            refs = [(p, f) for p, c, f in defs if f is not fn and kw in {a.arg for a in [*_positional(f),
                                                                                        *f.args.kwonlyargs]}]
            wanted = [(p, f, a) for p, f in refs[:1] for a in [*_positional(f), *f.args.kwonlyargs] if a.arg == kw]
        wanted = [(p, f, a) for p, f, a in wanted if a.arg not in names]
        if not wanted and too_many is not None and not refs and call_line:
            method = bool(cls) and bool(have) and have[0].arg in ("self", "cls")
            wanted = [(path, fn, ast.arg(arg=n)) for n in _from_the_call(call_line, fn, method, given)]
        if not wanted:
            continue
        ref_path = wanted[0][0]
        defaults = {a.arg: _default(texts[p], f, a) for p, f, a in wanted}
        text = _importing(texts[path], path, ref_path, defaults)
        added = [f"{n}={d}" for n, d in defaults.items()]
        widened = _widened(text, fn, added)
        if widened is None:
            continue
        where = f"{cls}.{name}" if cls else name
        forwarded = _forwarded(widened, fn, name, list(defaults))
        for new_text, how in ((forwarded, " and passes them on to super()"), (widened, "")):
            if new_text and new_text != texts[path] and all(c.texts[path] != new_text for c in out
                                                            if path in c.texts):
                out.append(Candidate({path: new_text}, "template:api_change", f"{where}() in {path} accepts "
                                     f"{', '.join(added)} as its other definitions do{how}", len(added), tier=1))
    return out
