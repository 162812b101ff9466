"""Generated git repositories whose later commits introduce a regression, with a real traceback.

    case = make_case(tmp_path / "repo", shape="caller", seed=3)
    case.regression_commit      # the commit that broke it
    case.report                 # ErrorReport built from running the code (a real traceback)
    case.repository             # {"path", "branch", "test_command"} for ctx.repository

Shapes (SHAPES): "crash_line" (the bug is in the line that raised), "caller" (a caller in another module
changed what it passes; sometimes a later harmless commit touches the function that raised),
"later_commits" (unrelated commits touch the same file after the regression), "feature" (the regression
commit also added a feature, which must survive the fix).
Each repository is tiny, uses unittest (`python -m unittest discover -s tests -t .`), and its tests fail
after the regression.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from swarm.models import ErrorReport

__all__ = ["SHAPES", "RegressionCase", "make_case", "TEST_COMMAND"]

SHAPES = ("crash_line", "caller", "later_commits", "feature")
TEST_COMMAND = "python -m unittest discover -s tests -t ."
PACKAGES = ("shop", "billing", "ledger", "inventory", "catalog", "payroll", "orders", "fleet")
WORDS = ("item", "order", "account", "batch", "ticket", "entry", "record", "parcel")


@dataclass
class RegressionCase:
    path: Path
    shape: str
    seed: int
    regression_commit: str
    report: ErrorReport
    must_keep: list[tuple[str, str]] = field(default_factory=list)  # (file, text) the fix must not remove
    test_command: str = TEST_COMMAND
    crash_code: str = ""  # python code that crashes with the regression, run from the repository root

    @property
    def repository(self) -> dict[str, str]:
        return {"path": str(self.path), "branch": "main", "test_command": self.test_command}


# -- crash-line bugs: (function name, good body line, bad body line, args of the failing call, expected) ----
def _crash_bugs(word: str) -> list[dict[str, str]]:
    return [
        {
            "fn": f"{word}_rate", "setup": f'RATES_{word.upper()} = {{"standard": 0.0, "member": 0.1, "vip": 0.2}}',
            "params": "tier", "pre": "",
            "good": f"return RATES_{word.upper()}.get(tier, 0.0)", "bad": f"return RATES_{word.upper()}[tier]",
            "call": '"gold"', "expect": "0.0",
        },
        {
            "fn": f"average_{word}", "setup": "", "params": "values", "pre": "total = sum(values)",
            "good": "return total / max(len(values), 1)", "bad": "return total / len(values)",
            "call": "[]", "expect": "0.0",
        },
        {
            "fn": f"first_{word}", "setup": "", "params": "items", "pre": "",
            "good": "return items[0] if items else None", "bad": "return items[0]",
            "call": "[]", "expect": "None",
        },
        {
            "fn": f"{word}_owner", "setup": "", "params": "record", "pre": "",
            "good": 'return (record or {}).get("owner", "nobody")', "bad": 'return record.get("owner", "nobody")',
            "call": "None", "expect": '"nobody"',
        },
        {
            "fn": f"{word}_count", "setup": "", "params": "value", "pre": "",
            "good": "return int(value or 0)", "bad": "return int(value)",
            "call": "None", "expect": "0",
        },
    ]


def _func(name: str, params: str, body: list[str], doc: str = "") -> str:
    lines = [f"def {name}({params}):"]
    if doc:
        lines.append(f'    """{doc}"""')
    lines += [f"    {b}" for b in body if b]
    return "\n".join(lines) + "\n"


def _filler_funcs(rng: random.Random, word: str, n: int) -> list[tuple[str, str, str]]:
    """(name, source, test) of plain helpers that are never part of the bug."""
    pool = [
        (f"label_{word}", "name", [f'return "{word}:" + str(name).strip()'], f'label_{word}(" a ")', f'"{word}:a"'),
        (f"double_{word}", "n", ["return n * 2"], f"double_{word}(21)", "42"),
        (f"is_big_{word}", "n", ["return n > 100"], f"is_big_{word}(101)", "True"),
        (f"clamp_{word}", "n", ["return max(0, min(n, 10))"], f"clamp_{word}(12)", "10"),
        (f"join_{word}s", "parts", ['return ",".join(str(p) for p in parts)'], f"join_{word}s([1, 2])", '"1,2"'),
        (f"tax_{word}", "amount", ["return round(amount * 0.2, 2)"], f"tax_{word}(10)", "2.0"),
    ]
    rng.shuffle(pool)
    out = []
    for name, params, body, call, expect in pool[:n]:
        test = f"    def test_{name}(self):\n        self.assertEqual({call}, {expect})\n"
        out.append((name, _func(name, params, body), test))
    return out


class _Repo:
    def __init__(self, path: Path, seed: int) -> None:
        self.path, self.n = path, 0
        self.start = 1_700_000_000 + seed * 1000
        path.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "-b", "main")

    def _git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
               "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
               "GIT_AUTHOR_DATE": f"@{self.start + self.n * 3600} +0000",
               "GIT_COMMITTER_DATE": f"@{self.start + self.n * 3600} +0000"}
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout

    def commit(self, message: str, files: dict[str, str]) -> str:
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.n += 1
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)
        return self._git("rev-parse", "HEAD").strip()


def _module(header: str, funcs: list[str]) -> str:
    return (header + "\n\n\n" if header else "") + "\n\n".join(funcs)


def _tests(pkg: str, mod: str, names: list[str], cases: list[str]) -> str:
    return (f"import unittest\n\nfrom {pkg}.{mod} import {', '.join(sorted(set(names)))}\n\n\n"
            f"class Test{mod.title()}(unittest.TestCase):\n" + "\n".join(cases))


def _traceback(path: Path, code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if proc.returncode == 0 or "Traceback" not in proc.stderr:
        raise RuntimeError(f"the generated regression did not crash: {proc.stdout}{proc.stderr}")
    return proc.stderr


def _report(path: Path, service: str, stack: str) -> ErrorReport:
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', stack)
    inner = [f for f in frames if f[0].startswith(str(path))][-1]
    return ErrorReport(
        error=stack.strip().splitlines()[-1],
        stack=stack,
        service=service,
        context={"file": os.path.relpath(inner[0], path), "line": int(inner[1]), "function": inner[2]},
    )


def make_case(path: Path, shape: str, seed: int = 0) -> RegressionCase:
    """Create a repository of `shape` at `path` (deterministic for a seed)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    rng = random.Random(f"{shape}-{seed}")
    pkg, word = rng.choice(PACKAGES), rng.choice(WORDS)
    return (_caller_case if shape == "caller" else _crash_case)(_Repo(path, seed), shape, seed, rng, pkg, word)


def _crash_case(repo: _Repo, shape: str, seed: int, rng: random.Random, pkg: str, word: str) -> RegressionCase:
    bug = rng.choice(_crash_bugs(word))
    mod = rng.choice(("core", "rules", "calc", "logic"))
    fillers = _filler_funcs(rng, word, 4)
    target = lambda line, doc="": _func(bug["fn"], bug["params"], [bug["pre"], line], doc)  # noqa: E731
    doc = f"The {word} {bug['fn'].split('_')[0]} of the given {bug['params']}."
    funcs = {name: src for name, src, _ in fillers[:2]}
    funcs[bug["fn"]] = target(bug["good"], doc)
    tests = {name: t for name, _, t in fillers[:2]}
    tests[bug["fn"]] = (f"    def test_{bug['fn']}_edge(self):\n"
                        f"        self.assertEqual({bug['fn']}({bug['call']}), {bug['expect']})\n")

    def files() -> dict[str, str]:
        return {
            f"{pkg}/__init__.py": "",
            f"{pkg}/{mod}.py": _module(bug["setup"], list(funcs.values())),
            f"{pkg}/cli.py": f"from {pkg}.{mod} import {bug['fn']}\n\n\ndef main():\n"
                             f"    print({bug['fn']}({bug['call']}))\n",
            "tests/__init__.py": "",
            f"tests/test_{mod}.py": _tests(pkg, mod, list(tests), list(tests.values())),
            "README.md": f"# {pkg}\n\nSmall {word} helpers.\n",
        }

    repo.commit(f"{pkg}: first {word} helpers", files())
    for name, src, test in fillers[2:2 + rng.randint(0, 2)]:
        funcs[name], tests[name] = src, test
        repo.commit(f"add {name}", files())
    must_keep: list[tuple[str, str]] = []
    funcs[bug["fn"]] = target(bug["bad"], doc)
    if shape == "feature":  # the regression commit also ships a feature that must survive the fix
        name, src, test = fillers[-1]
        funcs[name], tests[name] = src, test
        must_keep.append((f"{pkg}/{mod}.py", f"def {name}("))
    regression = repo.commit(rng.choice([f"simplify {bug['fn']}", f"speed up {bug['fn']}",
                                         f"refactor {mod} helpers"]), files())
    if shape == "later_commits":
        extra = [("summary_line", "values", ['return " | ".join(str(v) for v in values)'],
                  'summary_line([1, "a"])', '"1 | a"'),
                 ("percent", "part, whole", ["return round(100.0 * part / whole, 1)"], "percent(1, 4)", "25.0")]
        for name, params, body, call, expect in extra[: rng.randint(1, 2)]:
            funcs[name] = _func(name, params, body)
            tests[name] = f"    def test_{name}(self):\n        self.assertEqual({call}, {expect})\n"
            must_keep.append((f"{pkg}/{mod}.py", f"def {name}("))
            repo.commit(f"add {name}", files())
        first = next(iter(funcs))
        funcs[first] = funcs[first].replace(":\n", f":\n    # reviewed for the {word} audit\n", 1)
        must_keep.append((f"{pkg}/{mod}.py", f"# reviewed for the {word} audit"))
        if rng.random() < 0.5:  # a later commit touching the very function that regressed (not the bug)
            funcs[bug["fn"]] = funcs[bug["fn"]].replace(doc, doc + " Stable API.")
            must_keep.append((f"{pkg}/{mod}.py", "Stable API."))
        repo.commit(f"{mod}: audit notes", files())
    code = f"from {pkg}.cli import main; main()"
    stack = _traceback(repo.path, code)
    return RegressionCase(repo.path, shape, seed, regression, _report(repo.path, pkg, stack), must_keep,
                          crash_code=code)


def _caller_case(repo: _Repo, shape: str, seed: int, rng: random.Random, pkg: str, word: str) -> RegressionCase:
    variant = rng.randrange(3)
    if variant == 0:
        callee = _func("price_of", "name", ["return PRICES[name]"])
        header = 'PRICES = {"apple": 3, "pear": 4, "plum": 5}'
        good = ["total = 0", "for name, qty in lines:", "    key = name.strip().lower()",
                "    total += price_of(key) * qty", "return total"]
        bad = [*good[:2], "    key = name.strip()", *good[3:]]
        caller, params, call, expect, imp = f"{word}_total", "lines", '[("Apple ", 2)]', "6", "price_of"
    elif variant == 1:
        callee = _func("ratio", "part, whole", ["return part / whole"])
        header = ""
        good = ["done = sum(1 for s in steps if s)", "return ratio(done, len(steps))"]
        bad = [good[0], "return ratio(done, len(steps) - done)"]
        caller, params, call, expect, imp = f"{word}_progress", "steps", "[True, True]", "1.0", "ratio"
    else:
        callee = _func("load_all", "ids", ["return [i * 10 for i in ids]"])
        header = ""
        good = ["return load_all(ids or [])"]
        bad = ["return load_all(ids)"]
        caller, params, call, expect, imp = f"{word}_values", "ids=None", "None", "[]", "load_all"
    store, service = rng.choice((("store", "service"), ("db", "api"), ("backend", "handlers")))
    fillers = _filler_funcs(rng, word, 3)
    store_funcs = [callee] + [src for _, src, _ in fillers[:1]]
    svc = {caller: _func(caller, params, good)}
    tests_store = [f"    def test_{imp}(self):\n        self.assertIsNotNone({imp})\n"]
    tests_svc = {caller: f"    def test_{caller}(self):\n        self.assertEqual({caller}({call}), {expect})\n"}

    def files() -> dict[str, str]:
        return {
            f"{pkg}/__init__.py": "",
            f"{pkg}/{store}.py": _module(header, store_funcs),
            f"{pkg}/{service}.py": f"from {pkg}.{store} import {imp}\n\n\n" + "\n\n".join(svc.values()),
            f"{pkg}/cli.py": f"from {pkg}.{service} import {caller}\n\n\ndef main():\n    print({caller}({call}))\n",
            "tests/__init__.py": "",
            f"tests/test_{store}.py": _tests(pkg, store, [imp], tests_store),
            f"tests/test_{service}.py": _tests(pkg, service, list(tests_svc), list(tests_svc.values())),
        }

    repo.commit(f"{pkg}: {store} and {service}", files())
    for name, src, test in fillers[1:1 + rng.randint(1, 2)]:
        svc[name], tests_svc[name] = src, test
        repo.commit(f"{service}: add {name}", files())
    svc[caller] = _func(caller, params, bad)
    regression = repo.commit(f"{service}: tidy {caller}", files())
    if rng.random() < 0.5:  # a later, harmless commit to the function that raised: a decoy for naive blame
        store_funcs[0] = store_funcs[0].replace(":\n", f':\n    """Look up by {word}; callers normalise input."""\n', 1)
        repo.commit(f"{store}: document {imp}", files())
    code = f"from {pkg}.cli import main; main()"
    stack = _traceback(repo.path, code)
    return RegressionCase(repo.path, shape, seed, regression, _report(repo.path, pkg, stack), crash_code=code)
