"""What production's call returns once patched, against what it returned before the regression.

    oracle = ValueOracle.before(root, repro, good_sha)   # None: no built call, or no steady value there
    oracle.agrees(root)      # True: the patched call returns what it returned at good_sha; False: not; None

A repro built from production's own arguments says whether the call still raises; it does not say whether
what it returns is right. A patch can stop the error and still leave the value wrong: a regex given back
one of the two `\\s*` it lost parses `host = db` as `" db"`. The last good commit ran the same call through,
and its return value is the one production had before the regression: a patch that gives it back is
preferred to one that does not; when none gives it back, a patch read off the suspect's change is the fix and
says so, and a crash-site template that passes is named, not claimed (`agents.repair`). Values are compared
as a canonical text of what the call returned (mappings and sets sorted, floats to 9 places, object addresses
dropped, objects by their fields).
"""

from __future__ import annotations

import ast
import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agents.repro import Repro
from agents.workspace import repro_env, run_command, run_heavy

__all__ = ["ValueOracle", "exported", "ignored_keywords", "new_parameters", "valued_args"]

_MARK = "swarm-value:"
# self-contained: it runs in the application's interpreter, without swarm
_CANON = (
    "def _swarm_canon(v, d=0):\n"
    "    import re\n"
    "    c = lambda x: _swarm_canon(x, d + 1)\n"
    "    if d > 8: return '...'\n"
    "    if isinstance(v, dict): return '{' + ', '.join(sorted(c(k) + ': ' + c(x) for k, x in v.items())) + '}'\n"
    "    if isinstance(v, (set, frozenset)): return 'set(' + ', '.join(sorted(c(x) for x in v)) + ')'\n"
    "    if isinstance(v, (list, tuple)): return '[' + ', '.join(c(x) for x in v) + ']'\n"
    "    if isinstance(v, float): return repr(round(v, 9))\n"
    "    r = repr(v)\n"
    "    if ' object at 0x' in r and hasattr(v, '__dict__'): r = type(v).__qualname__ + c(vars(v))\n"
    "    return re.sub(r' at 0x[0-9a-fA-F]+', '', r)\n"
)


_LITERAL_MARK = "swarm-literal:"
# the value as a Python literal a test can compare with, when it is one (its floats are compared rounded:
# `agents.regtest`)
_LITERAL = (
    "try:\n"
    "    import ast as _a\n"
    "    _swarm_r = repr(_swarm_v)\n"
    "    _swarm_ok = _a.literal_eval(_swarm_r) == _swarm_v and len(_swarm_r) <= 2000 and not any(\n"
    "        isinstance(_n, _a.Constant) and isinstance(_n.value, complex) for _n in _a.walk(_a.parse(_swarm_r)))\n"
    "except Exception:\n"
    "    _swarm_ok = False\n"
    f"if _swarm_ok: print({_LITERAL_MARK!r} + _swarm_r.replace(chr(10), ' '))\n"
)


def valued_args(repro: Repro) -> list[str] | None:
    """The built repro's command with its call's value printed after it (`swarm-value:<sha256> <opening>`),
    or None when its last statement is no call (a module run)."""
    if repro.kind != "built" or len(repro.args) < 3 or repro.args[-2] != "-c":
        return None
    try:
        tree = ast.parse(repro.args[-1])
    except SyntaxError:
        return None
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or not isinstance(last.value, ast.Call) or "runpy" in ast.unparse(last):
        return None
    head = ast.unparse(ast.Module(body=tree.body[:-1], type_ignores=[]))
    code = (f"{head}\n_swarm_v = {ast.unparse(last.value)}\n{_CANON}"
            "import hashlib as _h\n_swarm_t = _swarm_canon(_swarm_v)\n"
            f"{_LITERAL}"
            f"print({_MARK!r} + _h.sha256(_swarm_t.encode()).hexdigest() + ' ' "
            "+ _swarm_t[:160].replace(chr(10), ' '))\n")
    return [*repro.args[:-1], code]


def _value(root: Path, args: list[str], timeout_s: float) -> tuple[str, str] | None:
    """(the value's digest and opening, its literal or "")."""
    res = run_heavy(args, root, timeout_s=timeout_s, max_output=200_000, env=repro_env())
    if not res.ok:
        return None
    lines = [line for line in res.output.splitlines() if line.startswith(_MARK)]
    literal = [line for line in res.output.splitlines() if line.startswith(_LITERAL_MARK)]
    return (lines[-1][len(_MARK):], literal[-1][len(_LITERAL_MARK):] if literal else "") if lines else None


@contextlib.contextmanager
def exported(root: Path, sha: str) -> Iterator[Path | None]:
    """A temporary export of commit `sha` of the repository at `root` (None when git or tar fails)."""
    with tempfile.TemporaryDirectory(prefix="swarm-good-") as tmp:
        archive, tree = Path(tmp) / "good.tar", Path(tmp) / "tree"
        tree.mkdir()
        ok = (run_command(["git", "archive", "--format=tar", "-o", str(archive), sha], root).ok
              and run_command(["tar", "-xf", str(archive), "-C", str(tree)], root).ok)
        yield tree if ok else None


@dataclass
class ValueOracle:
    args: list[str]
    value: str  # "<sha256> <opening of the canonical text>"
    timeout_s: float
    literal: str = ""  # the value as a Python literal (`{'host': 'db'}`), when it is one

    @classmethod
    def before(cls, root: Path, repro: Repro | None, good: str | None) -> ValueOracle | None:
        """The value at `good` (run twice in an export of that commit: a value that differs between runs, a time
        or a random id, is no oracle)."""
        args = valued_args(repro) if repro is not None and good and not repro.synthetic else None
        if args is None or repro is None:
            return None
        with exported(root, good) as tree:
            if tree is None:
                return None
            first = _value(tree, args, repro.timeout_s)
            if first is None or _value(tree, args, repro.timeout_s) != first:
                return None
        return cls(args, first[0], repro.timeout_s, first[1])

    def compare(self, root: Path) -> tuple[bool | None, str]:
        """Whether the call in `root` as it is now returns the value of the last good commit (None: it fails),
        and the opening of what it returns (or why not), from one run."""
        got = _value(root, self.args, self.timeout_s)
        if got is None:
            return None, "nothing: it fails"
        digest, _, opening = got[0].partition(" ")
        return digest == self.value.split(" ", 1)[0], opening

    def agrees(self, root: Path) -> bool | None:
        return self.compare(root)[0]

    @property
    def shown(self) -> str:
        return self.value.split(" ", 1)[1] if " " in self.value else ""

    @property
    def call(self) -> str:
        """The call's function as the repro names it: `can_swap(…)`."""
        try:
            last = ast.parse(self.args[-1]).body
            call = next(n.value for n in last if isinstance(n, ast.Assign) and n.targets[0].id == "_swarm_v")
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        except (SyntaxError, StopIteration, AttributeError, IndexError):
            name = ""
        return f"{name}(…)" if name else "the call"


def _without_keyword(args: list[str], name: str) -> list[str] | None:
    """The valued call with keyword `name` left out of its `**json.loads('{...}')`, or None when it has none."""
    try:
        tree = ast.parse(args[-1])
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(kw.arg is None for kw in node.keywords):
            for kw in node.keywords:
                spread = kw.value
                if (kw.arg is None and isinstance(spread, ast.Call) and spread.args
                        and isinstance(spread.args[0], ast.Constant) and isinstance(spread.args[0].value, str)):
                    try:
                        given = json.loads(spread.args[0].value)
                    except ValueError:
                        return None
                    if not isinstance(given, dict) or name not in given:
                        return None
                    spread.args[0] = ast.Constant(json.dumps({k: v for k, v in given.items() if k != name}))
                    return [*args[:-1], ast.unparse(tree)]
    return None


def ignored_keywords(root: Path, repro: Repro, names: list[str]) -> list[str]:
    """Of the keyword arguments `names` production's call passes, those it returns the same value without, in
    `root` as it is now: a patch after which the call ignores what it was asked (`weights=` of a bill split
    evenly) has dropped that feature for production's call."""
    args = valued_args(repro)
    if args is None:
        return []
    full = _value(root, args, repro.timeout_s)
    if full is None:
        return []
    out = []
    for name in names:
        other = _without_keyword(args, name)
        got = _value(root, other, repro.timeout_s) if other is not None else None
        if got is not None and got[0].split(" ", 1)[0] == full[0].split(" ", 1)[0]:
            out.append(name)
    return out


def new_parameters(root: Path, repro: Repro | None, sha: str, parent: str | None) -> list[str]:
    """The parameters commit `sha` added to the function production's built call calls (its feature's switches:
    `weights`), when the function existed before it."""
    from agents.oldraise import functions_of
    from agents.revert import file_at

    if repro is None or repro.kind != "built" or ":" not in repro.target:
        return []
    path, name = repro.target.rsplit(":", 1)
    old = functions_of(file_at(str(root), parent or sha + "^", path)).get(name)
    new = functions_of(file_at(str(root), sha, path)).get(name)
    if old is None or new is None:
        return []

    def params(f: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
        return [a.arg for a in [*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs]]
    return [p for p in params(new) if p not in params(old)]
