"""A test run read: its counts, the tests it names as failing, and whether it adds failures to a baseline's.

    counts = parse_test_counts(run_heavy(args, root, timeout_s=600))     # TestCounts, `failing` named
    new_failures(before, counts)    # []: none new; ["tests/t.py::test_x"]: these; None: cannot tell
    holds(before, counts)           # green, or red only where `before` (the suite at HEAD) was red too

A repository's suite may be red before any change: a test of another regression, one that needs a service
the sandbox does not have. A fix is then judged as benchmark harnesses judge one (SWE-bench's PASS_TO_PASS):
no test that passed before may fail after. Only runs whose failures are named (pytest's summary, unittest's
FAIL / ERROR lines) can be compared; a run that names none (a timeout, another runner) holds only when green.
"""

from __future__ import annotations

import re

from agents.workspace import CommandResult
from swarm.models import TestCounts

__all__ = ["MAX_NAMED", "failing_tests", "holds", "new_failures", "parse_test_counts"]

MAX_NAMED = 200  # a longer list is cut, and a cut list cannot be compared
_PYTEST = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in", re.M)
_UNITTEST_FAILED = re.compile(r"^FAILED \(([^)]*)\)", re.M)
# pytest's short summary (`FAILED tests/t.py::test_x - ...`, `ERROR tests/t.py`), unittest's `FAIL: test_x (t.T.test_x)`
_FAILED_TEST = re.compile(r"^(?:(?:FAILED|ERROR) ([^\s(]\S*)|(?:FAIL|ERROR): (\S+ \([^)\s]+\)))", re.M)


def failing_tests(output: str) -> list[str]:
    """The failing tests a run's output names, in order, once each (at most MAX_NAMED)."""
    return list(dict.fromkeys(a or b for a, b in _FAILED_TEST.findall(output)))[:MAX_NAMED]


def parse_test_counts(result: CommandResult, tail_chars: int = 2000) -> TestCounts:
    """Counts from pytest's or unittest's summary; `ok` is the exit status (a timeout is never ok)."""
    out = result.output
    passed = failed = errors = 0
    ran = _UNITTEST_RAN.findall(out)
    if ran:
        total = int(ran[-1])
        for part in (_UNITTEST_FAILED.findall(out) or [""])[-1].split(","):
            key, _, num = part.strip().partition("=")
            if key == "failures":
                failed = int(num)
            elif key == "errors":
                errors = int(num)
            elif key in ("skipped", "expected failures"):
                total -= int(num)
        passed = max(total - failed - errors, 0)
    else:
        summary = [line for line in out.splitlines() if _PYTEST.search(line)]
        for num, word in _PYTEST.findall(summary[-1] if summary else ""):
            if word == "passed":
                passed = int(num)
            elif word == "failed":
                failed = int(num)
            elif word.startswith("error"):
                errors = int(num)
    return TestCounts(passed=passed, failed=failed, errors=errors, ok=result.ok, output_tail=out[-tail_chars:],
                      failing=[] if result.ok else failing_tests(out))


def new_failures(before: TestCounts | None, after: TestCounts) -> list[str] | None:
    """The tests failing in `after` that did not fail in `before`; None when that cannot be told."""
    if after.ok:
        return []
    if before is None or before.ok or not before.failing or not after.failing or (
            max(len(before.failing), len(after.failing)) >= MAX_NAMED):
        return None
    was = set(before.failing)
    return [t for t in after.failing if t not in was]


def holds(before: TestCounts | None, after: TestCounts) -> bool:
    """`after` is green, or fails only tests that failed in `before`, with no fewer passing."""
    if after.ok:
        return True
    return new_failures(before, after) == [] and before is not None and after.passed >= before.passed
