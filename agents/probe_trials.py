"""The probe's trials, run by `agents.probe.probe_call` in the repository's interpreter, its root the working
directory: `python probe_trials.py SPEC_JSON`. One line `PROBE [call, outcome]` per trial (outcome: the
exception's type, message, and the repository file and function it was raised in; null when the call
returned). Standalone: it imports nothing of swarm (the repository's own modules are what it imports).
"""

import ast
import collections.abc
import contextlib
import dataclasses
import datetime
import enum
import importlib
import inspect
import itertools
import json
import os
import re
import signal
import sys
import textwrap
import types
import typing

SPEC = json.loads(sys.argv[1])
sys.path.insert(0, os.path.abspath(SPEC["sys_dir"]))
MODULE, FUNCTION, MAX_TRIALS, PER_CALL = SPEC["module"], SPEC["function"], SPEC["max_trials"], SPEC["per_call"]
PLAIN, LITERALS = SPEC["plain"], SPEC["literals"]
mod = importlib.import_module(MODULE)
root = os.path.realpath(".") + os.sep
NS = {"_m": importlib.import_module, "_dt": datetime}
exec(SPEC["new_source"], NS)
_TRIAL: dict = {}
exec(SPEC["trial_source"], _TRIAL)
trial = _TRIAL["trial"]

def ours(cls):
    try:
        path = os.path.realpath(inspect.getfile(cls))
    except (TypeError, OSError):
        return False
    return path.startswith(root) and "site-packages" not in path

def ref(cls):
    return f"_m({cls.__module__!r}).{cls.__qualname__}"

def hints(fn):
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return getattr(fn, "__annotations__", {}) or {}

def repo_classes():
    out = []
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None) or ""
        if not os.path.realpath(f).startswith(root) or "site-packages" in f:
            continue
        out += [c for c in vars(m).values() if inspect.isclass(c) and c.__module__ == m.__name__ and c not in out
                and not issubclass(c, (BaseException, enum.Enum))]
    return out

def attributes_of(cls):
    names = set(dir(cls))
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls)}
    with contextlib.suppress(TypeError, OSError):
        names |= set(re.findall(r"self\.(\w+)\s*[:=]", inspect.getsource(cls.__init__)))
    return names

def attributes_read(fn):
    """{parameter: attributes the function reads on it} (`page.items` -> {'page': {'items'}})."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (TypeError, OSError, SyntaxError):
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            out.setdefault(node.value.id, set()).add(node.attr)
    return out

def named_values():
    """Values the repository's code names: the string keys of its module-level tables (`RATES = {"DE": ...}`)
    and its numbers (module constants, parameter defaults: `hi=5000.0`), for the boundaries and lookups a
    made-up value never hits."""
    strs, nums = [], []
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None) or ""
        if not os.path.realpath(f).startswith(root) or "site-packages" in f:
            continue
        for name, v in list(vars(m).items()):
            if name.startswith("__"):
                continue
            if isinstance(v, dict) and v and all(isinstance(k, str) for k in v):
                strs += [repr(k) for k in list(v)[:2]]
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                nums.append(v)
            elif callable(v) and getattr(v, "__module__", None) == m.__name__:
                try:
                    params = inspect.signature(v).parameters.values()
                except (TypeError, ValueError):
                    continue
                nums += [p.default for p in params if isinstance(p.default, (int, float))
                         and not isinstance(p.default, bool)]
    nums = [repr(n) for n in dict.fromkeys(nums) if n not in (0, 1)]
    return list(dict.fromkeys(strs))[:6], nums[:6]

NAMED_STR, NAMED_NUM = named_values()

class Duck:
    """An unannotated parameter the function reads attributes on: the repository's classes that have them."""
    def __init__(self, attrs):
        self.classes = [c for c in repo_classes() if attrs <= attributes_of(c)][:3]

def of_type(ann, depth):
    """Expressions of values for an annotation, the likeliest first."""
    if isinstance(ann, Duck):
        out = []
        for cls in ann.classes:
            out += build(cls, depth + 1)
        return out + list(PLAIN)
    if ann is inspect.Parameter.empty or ann is typing.Any or isinstance(ann, (str, typing.TypeVar)):
        return list(PLAIN)
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in args:
            out += ["None"] if a is type(None) else of_type(a, depth)
        return list(dict.fromkeys(out))
    if origin is typing.Literal:
        return [repr(a) for a in args]
    if origin in (list, set, frozenset, tuple, collections.abc.Sequence, collections.abc.Iterable,
                  collections.abc.Collection, collections.abc.MutableSequence):
        inner = of_type(args[0], depth) if args and args[0] is not Ellipsis else list(PLAIN)
        wrap = {list: "[%s]", set: "{%s}", frozenset: "frozenset([%s])", tuple: "(%s,)"}.get(origin, "[%s]")
        empty = {set: "set()", frozenset: "frozenset()", tuple: "()"}.get(origin, "[]")
        return [wrap % inner[0], empty] + [wrap % e for e in inner[1:3]]
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        keys = of_type(args[0], depth) if args else ["'a'"]
        values = of_type(args[1], depth) if len(args) > 1 else ["1"]
        return [f"{{{keys[0]}: {values[0]}}}", "{}"]  # one item first, as for a list
    if ann is bool:
        return ["True", "False"]
    if ann is int:
        return ["0", "1"] + [p for p in PLAIN + NAMED_NUM if p.lstrip("-").isdigit() and p not in ("0", "1")]
    if ann is float:
        return ["0.0", "1.5"] + [p for p in PLAIN + NAMED_NUM if p.replace(".", "", 1).lstrip("-").isdigit()]
    if ann is str:
        return [p for p in PLAIN if p[:1] in "'\""][:1] + NAMED_STR + [p for p in PLAIN if p[:1] in "'\""][1:]
    if ann is bytes:
        return ["b'a'", "b''"]
    if ann is datetime.datetime:
        return ["_dt.datetime(2024, 1, 1, 12, 0)", "_dt.datetime(2024, 1, 1, 12, 0, tzinfo=_dt.timezone.utc)"]
    if ann is datetime.date:
        return ["_dt.date(2024, 1, 1)"]
    if ann is datetime.timedelta:
        return ["_dt.timedelta(seconds=30)"]
    if ann in (typing.TextIO, typing.IO):
        return ["_m('io').StringIO()"]
    if ann is typing.BinaryIO:
        return ["_m('io').BytesIO()"]
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return [ref(ann) + "." + m.name for m in list(ann)[:3]] or list(PLAIN)
    if isinstance(ann, type) and ours(ann):
        return build(ann, depth + 1) or list(PLAIN)
    if isinstance(ann, type):
        try:
            ann()
            return [f"_m({ann.__module__!r}).{ann.__qualname__}()"]
        except Exception:
            return list(PLAIN)
    return list(PLAIN)

def required(fn, skip_first, optional=False):
    """(name, kind, annotation) of the parameters a call must give (with `optional`, the others after them)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    types_, read = hints(fn), attributes_read(fn)
    params = [p for p in list(sig.parameters.values())[1 if skip_first else 0:]
              if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    params = [p for p in params if p.default is inspect.Parameter.empty] + \
        ([p for p in params if p.default is not inspect.Parameter.empty] if optional else [])
    out = []
    for p in params:
        ann = types_.get(p.name, p.annotation)
        if ann is inspect.Parameter.empty and read.get(p.name):
            ann = Duck(read[p.name])
        out.append((p.name, p.kind, ann))
    return out

def takes_literal(ann):
    union = typing.get_origin(ann) in (typing.Union, types.UnionType)
    return ann is inspect.Parameter.empty or ann in (str, int, float) or (
        union and any(a in (str, int) for a in typing.get_args(ann)))

def arguments(params, choice):
    parts = []
    for (name, kind, _), expr in zip(params, choice, strict=False):
        parts.append(expr if kind == inspect.Parameter.POSITIONAL_ONLY else f"{name}={expr}")
    return ", ".join(parts)

def choices(params, depth, limit):
    """Argument choices: the first value of each first, then each parameter's other values one at a time,
    then the same plain value everywhere, then combinations."""
    pools = [of_type(ann, depth) or list(PLAIN) for _, _, ann in params]
    if not pools:
        return [()]
    first = tuple(p[0] for p in pools)
    out = [first]
    for i, pool in enumerate(pools):
        out += [first[:i] + (v,) + first[i + 1:] for v in pool[1:]]
    out += [tuple(v for _ in pools) for v in PLAIN]
    out += list(itertools.islice(itertools.product(*(p[:5] for p in pools)), limit * 2))
    return list(dict.fromkeys(out))[:limit]

def literal_choices(params, depth):
    """The message's literals given in order to the parameters that may take them, optional ones included
    (`no template 'digest' for locale 'de-AT'` from get(name, locale='en'))."""
    slots = [i for i, (_, _, ann) in enumerate(params) if takes_literal(ann)][:3]
    if not LITERALS or not slots:
        return []
    first = [(of_type(ann, depth) or list(PLAIN))[0] for _, _, ann in params]
    out = []
    for n in range(1, len(slots) + 1):
        for chosen in itertools.permutations(LITERALS, n):
            c = list(first)
            for i, lit in zip(slots, chosen, strict=False):
                c[i] = lit
            out.append(tuple(c))
    return out[:24]

def build(cls, depth):
    """Constructor calls of a repository class, with values for its required parameters."""
    if depth > 2:
        return []
    if dataclasses.is_dataclass(cls):
        types_ = hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.init]
        given = [f for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        params = [(f.name, inspect.Parameter.KEYWORD_ONLY, types_.get(f.name, f.type)) for f in given]
        every = params + [(f.name, inspect.Parameter.KEYWORD_ONLY, types_.get(f.name, f.type))
                          for f in fields if f not in given]
    else:
        params = required(cls.__init__, True) if cls.__init__ is not object.__init__ else []
        every = required(cls.__init__, True, True) if cls.__init__ is not object.__init__ else []
        if params is None or every is None:
            return []
    out = [call(ref(cls), arguments(params, c)) for c in choices(params, depth, 12)]
    if len(every) > len(params):  # the optional ones given too, second: a store with one item, not none
        first = choices(every, depth, 1)[0]
        out.insert(1, call(ref(cls), arguments(every, first)))
        # third, every field that may be None as None (`priority: int | None = 5`): data a producer sent
        nulls = tuple("None" if optional(ann) else v for (_, _, ann), v in zip(every, first, strict=False))
        ones = tuple("1" if v in ("0", "0.0") else v for v in first)  # a class that refuses zero quantities
        for k, variant in enumerate(v for v in (nulls, ones) if v != first):
            out.insert(2 + k, call(ref(cls), arguments(every, variant)))
    return accepted(out)

def accepted(exprs):
    """The constructor calls that build, first (`Histogram(lo=0, hi=0)` may be refused by its own check):
    a value the class rejects reaches no code past its constructor."""
    ok, refused = [], []
    for expr in exprs:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        try:
            eval(expr, dict(NS))
            ok.append(expr)
        except BaseException:
            refused.append(expr)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return ok + refused

def optional(ann):
    return typing.get_origin(ann) in (typing.Union, types.UnionType) and type(None) in typing.get_args(ann)

def call(code, args):
    return "_new(" + code + (", " + args if args else "") + ")"

def targets():
    """(code of the callable, its required parameters): the module's function, or a method of its classes."""
    fn = getattr(mod, FUNCTION, None)
    if callable(fn) and not inspect.isclass(fn):
        params = required(fn, False)
        return [] if params is None else [(f"_m({MODULE!r}).{FUNCTION}", params, required(fn, False, True))]
    out = []
    for cls in vars(mod).values():
        if not (inspect.isclass(cls) and cls.__module__ == mod.__name__ and FUNCTION in vars(cls)):
            continue
        raw = vars(cls)[FUNCTION]
        if isinstance(raw, property):  # read, not called
            out += [(f"getattr({owner}, {FUNCTION!r})", None, None) for owner in build(cls, 0)[:6]]
            continue
        if isinstance(raw, (staticmethod, classmethod)):
            params = required(getattr(cls, FUNCTION), False)
            if params is not None:
                out.append((ref(cls) + "." + FUNCTION, params, required(getattr(cls, FUNCTION), False, True)))
            continue
        params = required(raw, True)
        if params is None:
            continue
        for owner in build(cls, 0)[:4]:
            out.append(("(" + owner + ")." + FUNCTION, params, required(raw, True, True)))
    return out

calls = []
for code, params, every in targets():
    if params is None:
        calls.append(code)
        continue
    calls += [call(code, arguments(params, c)) for c in choices(params, 0, MAX_TRIALS // 3)]
    calls += [call(code, arguments(every, c)) for c in literal_choices(every, 0)]
    if len(every) > len(params):
        calls += [call(code, arguments(every, c)) for c in choices(every, 0, MAX_TRIALS // 3)]
calls = list(dict.fromkeys(calls))[:MAX_TRIALS]
tried, retries = set(calls), 0
for call in calls:  # grows: a made-up string the code rejected is tried again as the strings the code names
    out = trial(lambda c=call: eval(c, dict(NS)), PER_CALL)
    print("PROBE " + json.dumps([call, out]), flush=True)
    said = out[1].lower() if out else ""  # `KeyError: 'A'` for a key looked up upper-cased
    rejected = [p for p in PLAIN if p[:1] in "'\"" and len(p) > 2 and out and (said == p[1:-1].lower()
                                                                                or p.lower() in said)]
    for p in rejected[:1]:
        for named in NAMED_STR:
            again = call.replace("=" + p, "=" + named)
            if again not in tried and retries < MAX_TRIALS // 4:
                tried.add(again)
                calls.append(again)
                retries += 1
