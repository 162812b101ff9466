"""A regression test for a fix: the built repro's call, as a test file of the repository, committed with the fix.

    test = regression_test(ws.root, repro, report, "inv-1", tracked_files)   # RegressionTest or None
    counts, why = keep_regression_test(ws.root, test, repro, fixed_files, "python -m pytest -q", run_suite,
                                       before, after)   # (the suite's counts with it, "") or (None, why not)

A fix whose repro is a call built from the report (`agents.findrepro`: the crashing function, or a caller, with
the arguments production gave it) leaves no trace in the repository's suite: the next refactor can bring the
error back unseen. The test is that call, written as a `unittest.TestCase` (which pytest and unittest both
run) next to the repository's own tests. It is kept only when it is a real regression test, checked on the
worktree: the suite with it passes (it ran: one more test passed than without it), and with the fixed files
put back as they were at HEAD it raises the reported error. A repro that is a test already, or whose values
were made up, injected or never accepted (`Repro.synthetic`), gets none: its call is no fact about production.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.argvalues import REVIVER, as_source
from agents.findrepro import test_args
from agents.repro import Repro, is_test_file, run_repro
from agents.revert import file_at
from agents.testcmd import TestCommand
from swarm.models import ErrorReport, TestCounts

__all__ = ["RegressionTest", "regression_test", "keep_regression_test", "parse_call", "why_no_regression_test"]

# the calls agents.findrepro builds: `[path insert; ]import importlib, json; m = importlib.import_module('mod');
# m.fn(*json.loads('[...]'), **json.loads('{...}'))`, or `import importlib; importlib.import_module('mod').fn()`
_CALL = re.compile(
    r"^(?:import os, sys; sys\.path\.insert\(0, os\.path\.abspath\((?P<top>'[^']*'|\"[^\"]*\")\)\); )?"
    r"import importlib, json; (?:" + re.escape(REVIVER) + r"; )?m = importlib\.import_module\((?P<mod>'[\w.]+')\); "
    r"m\.(?P<fn>\w+)\(\*json\.loads\((?P<args>.+?)(?:, object_hook=_r)?\), "
    r"\*\*json\.loads\((?P<kwargs>.+?)(?:, object_hook=_r)?\)\)$|"
    r"^(?:import os, sys; sys\.path\.insert\(0, os\.path\.abspath\((?P<top0>'[^']*'|\"[^\"]*\")\)\); )?"
    r"import importlib; importlib\.import_module\((?P<mod0>'[\w.]+')\)\.(?P<fn0>\w+)\(\)$")


@dataclass(frozen=True)
class RegressionTest:
    path: str  # repository-relative
    test_id: str  # as the repository's runner names it
    text: str


def parse_call(code: str) -> dict[str, Any] | None:
    """{"module", "function", "args", "kwargs", "top"} of a built repro's `python -c` code, or None."""
    m = _CALL.match(code.strip())
    if m is None:
        return None
    try:
        if m["mod"]:
            args, kwargs = json.loads(ast.literal_eval(m["args"])), json.loads(ast.literal_eval(m["kwargs"]))
            return {"module": ast.literal_eval(m["mod"]), "function": m["fn"], "args": args, "kwargs": kwargs,
                    "top": ast.literal_eval(m["top"]) if m["top"] else None}
        return {"module": ast.literal_eval(m["mod0"]), "function": m["fn0"], "args": [], "kwargs": {},
                "top": ast.literal_eval(m["top0"]) if m["top0"] else None}
    except (ValueError, SyntaxError, json.JSONDecodeError):
        return None


_PATHLIKE = re.compile(r"^(?:/|~|[A-Za-z]:[\\/])")


def _outside_paths(root: Path, value: Any) -> list[str]:
    """The absolute paths among a call's string values that name a file or folder of this machine outside the
    repository (`root`): production's data, a user's folder."""
    if isinstance(value, dict):
        return [p for v in value.values() for p in _outside_paths(root, v)]
    if isinstance(value, list):
        return [p for v in value for p in _outside_paths(root, v)]
    if isinstance(value, str) and "\n" not in value and _PATHLIKE.match(value):
        try:
            where = Path(value).expanduser()
            # a file of this machine (a route such as `/users/42` is no file): the test would read it
            outside = where.exists() and not where.resolve().is_relative_to(root.resolve())
        except (OSError, ValueError):
            outside = False
        return [value] if outside else []
    return []


def _test_dir(root: Path, tracked: list[str]) -> str:
    """Where the repository keeps most of its test files (`tests` when it has none)."""
    dirs: dict[str, int] = {}
    for path in tracked:
        if path.endswith(".py") and is_test_file(path) and path.rsplit("/", 1)[-1].startswith("test"):
            folder = path.rsplit("/", 1)[0] if "/" in path else ""
            dirs[folder] = dirs.get(folder, 0) + 1
    return max(sorted(dirs), key=lambda d: dirs[d]) if dirs else "tests"


def regression_test(root: Path, repro: Repro | None, report: ErrorReport, investigation_id: str,
                    tracked: list[str]) -> RegressionTest | None:
    """The test file for a built repro's call (None: no such repro, or its values are no fact about production)."""
    if repro is None or repro.kind != "built" or repro.synthetic or len(repro.args) != 3 or repro.args[1] != "-c":
        return None
    call = parse_call(repro.args[2])
    if call is None:
        return None
    folder = _test_dir(root, tracked)
    name = f"test_swarm_{call['function']}_{investigation_id.removeprefix('inv-')[:12]}".replace("-", "_")
    path = f"{folder}/{name}.py" if folder else f"{name}.py"
    first = (report.error.strip().splitlines() or ["the reported error"])[0][:150]
    first = first.replace("\\", "\\\\").replace('"', '\\"')  # inside the docstring
    rendered = [as_source(v) for v in call["args"]] + [(f"{k}={src}", mods) for k, v in call["kwargs"].items()
                                                        for src, mods in [as_source(v)]]
    arguments = ", ".join(src for src, _ in rendered)
    modules = sorted(set().union(*(mods for _, mods in rendered)))  # of typed values: decimal, datetime ...
    head = [f'"""Regression test written by swarm with the fix of investigation {investigation_id}.', "",
            f"{call['function']}() raised {first}", "with the arguments production gave it.", '"""', ""]
    if call["top"] is None:
        imports = ["import unittest", ""]
    else:  # the package lives under src/ (or the like): imported from there, as its code is
        up = ", ".join(["os.path.dirname(__file__)", *(['".."'] * len(Path(path).parent.parts)), repr(call["top"])])
        imports = ["import os", "import sys", "import unittest", "",
                   f"sys.path.insert(0, os.path.abspath(os.path.join({up})))", ""]
    late = "  # noqa: E402" if call["top"] is not None else ""  # after the path insert
    body, helpers = _assertion(f"{call['function']}({arguments})", repro.returned)
    lines = [*head, *imports, *(f"import {m}{late}" for m in modules),
             f"from {call['module']} import {call['function']}{late}", "", "", *helpers,
             "class SwarmRegressionTest(unittest.TestCase):",
             f"    def test_{call['function']}_with_the_reported_arguments(self):", *body, ""]
    text = "\n".join(lines)
    try:
        ast.parse(text)
    except SyntaxError:  # a value repr() cannot write back (it came through JSON: should not happen)
        return None
    module = path[:-3].replace("/", ".")
    return RegressionTest(path, module, text)


_ROUNDED = ["def _rounded(value):  # floats compared to 9 places, inside lists, tuples and dicts too",
            "    if isinstance(value, float):",
            "        return round(value, 9)",
            "    if isinstance(value, list):",
            "        return [_rounded(v) for v in value]",
            "    if isinstance(value, tuple):",
            "        return tuple(_rounded(v) for v in value)",
            "    if isinstance(value, dict):",
            "        return {k: _rounded(v) for k, v in value.items()}",
            "    return value", "", ""]


def _assertion(called: str, returned: str) -> tuple[list[str], list[str]]:
    """The test's body and the helpers it needs: the call returns what it returned before the regression (floats
    rounded: a sum's last bits differ between equally right programs), or, with no literal of it, runs through."""
    if not returned:
        return [f"        {called}"], []
    try:
        floats = any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(ast.parse(returned)))
    except SyntaxError:
        return [f"        {called}"], []
    if floats:
        return [f"        self.assertEqual(_rounded({called}), _rounded({returned}))"], _ROUNDED
    return [f"        self.assertEqual({called}, {returned})"], []


def why_no_regression_test(repro: Repro | None) -> str:
    """Why `regression_test` wrote none for this repro (the Result says so instead of staying silent)."""
    if repro is None or repro.kind != "built":
        return f"the repro is {'none' if repro is None else repro.kind}, not a call built from the report"
    if repro.never_passed:
        return ("the report's values fail the call at every commit that runs it: the call is no fact about "
                "what production did before the regression")
    if repro.made_up or repro.injected:
        return "the repro's values were made up or injected, not production's"
    return "the repro's call could not be written as a test"


def keep_regression_test(root: Path, test: RegressionTest, repro: Repro, fixed: list[str], test_command: str,
                         run_suite: Callable[[], TestCounts], before: TestCounts,
                         after: TestCounts) -> tuple[TestCounts | None, str]:
    """Write `test` into the worktree and keep it when it is a regression test (module docstring); (the suite's
    counts with it, "") when kept, else (None, why) with the file removed again."""
    from agents.testrun import holds

    target = root / test.path
    if target.exists():
        return None, f"{test.path} exists already"
    call = parse_call(repro.args[2]) if len(repro.args) == 3 else None
    if call is not None and (outside := _outside_paths(root, [call["args"], call["kwargs"]])):
        return None, (f"its arguments name files outside the repository ({outside[0]}): it would pass only on "
                      "this machine")
    made = [d for d in reversed(target.parents) if not d.exists() and root in d.parents]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(test.text, encoding="utf-8")
    keep = False
    try:
        with_test = run_suite()
        if not holds(before, with_test) or (after.ok and not with_test.ok):
            return None, "the suite does not pass with it"
        if with_test.passed <= after.passed:
            return None, "the repository's test command does not run it"
        command = TestCommand(test_command)
        runner_id = (f"{test.path}::SwarmRegressionTest" if command.runner == "pytest"
                     else f"{test.test_id}.SwarmRegressionTest")
        alone = Repro("test", test_args(command, runner_id, root), runner_id, shape=repro.shape,
                      timeout_s=repro.timeout_s)
        fixed_texts = {p: (root / p).read_bytes() for p in fixed if (root / p).is_file()}
        try:
            for p in fixed:
                _restore_head(root, p)
            unfixed = run_repro(root, alone)
        finally:
            for p, data in fixed_texts.items():
                (root / p).write_bytes(data)
        if unfixed != "bad":
            return None, "without the fix it does not raise the reported error"
        keep = True
        return with_test, ""
    finally:
        if not keep:
            target.unlink(missing_ok=True)
            for d in reversed(made):  # the folders it needed, innermost first
                if d.exists() and not any(d.iterdir()):
                    d.rmdir()


def _restore_head(root: Path, path: str) -> None:
    text = file_at(str(root), "HEAD", path)
    if text is not None:
        (root / path).write_text(text, encoding="utf-8")
    else:  # a file the fix added
        (root / path).unlink(missing_ok=True)
