"""A test that outlives its timeout fails once, its stacks printed first, and the run ends: `make test`'s
scheduler and stack dump (tests/support/), on a small suite.

The suite runs the way `make test` runs (`-n 2 --dist loadfile`, pytest-timeout's thread method). Its
hanging test sits between two others in one file, so after the crash the replacement worker's first
(and only) work is a single test: the case where xdist's own file scheduler waits for ever.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HANGING_FILE = """
import time
from pathlib import Path

import pytest

RAN = Path(__file__).parent / "ran.txt"


def _ran(name):
    with RAN.open("a") as f:
        f.write(name + "\\n")


def test_first():
    _ran("first")


@pytest.mark.timeout(2)
def test_hangs():
    _ran("hangs")
    time.sleep(120)


def test_last():
    _ran("last")
"""

QUIET_FILE = """
def test_{name}_one():
    pass


def test_{name}_two():
    pass
"""


def test_a_hung_test_fails_once_and_the_rest_of_the_suite_still_runs(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(HANGING_FILE)
    for name in ("alpha", "beta", "gamma"):
        (tmp_path / f"test_{name}.py").write_text(QUIET_FILE.format(name=name))
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout_method = thread\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}  # xdist must load
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider",
         "-p", "tests.support.xdist_scheduling", "-p", "tests.support.timeout_stacks",
         "-W", "ignore::DeprecationWarning", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=150,  # xdist's own scheduler never returns here: this bound is the failure, not a speed check
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed, 8 passed" in out, out
    assert "crashed while running" in out and "test_hangs" in out, out
    # its stacks reached the console before the timeout ended its worker: where it hung, by file and line
    assert "+++ test_hangs.py::test_hangs is about to time out" in done.stderr, done.stderr
    line = HANGING_FILE.split("\n").index("    time.sleep(120)") + 1
    assert f'File "{tmp_path / "test_hangs.py"}", line {line} in test_hangs' in done.stderr, done.stderr
    ran = sorted((tmp_path / "ran.txt").read_text().split())
    assert ran == ["first", "hangs", "last"], f"the hung test must run once and the test after it still run: {ran}"


AWAITING_FILE = """
import asyncio

import pytest


async def never_set(event):
    await event.wait()


@pytest.mark.timeout(2)
async def test_awaits_forever():
    await never_set(asyncio.Event())
"""


def test_a_hung_async_test_names_the_await_it_is_stuck_in(tmp_path: Path) -> None:
    # its main thread sits in the event loop's select: only the tasks' stacks say which await hangs
    (tmp_path / "test_awaits.py").write_text(AWAITING_FILE)
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout_method = thread\nasyncio_mode = auto\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.timeout_stacks",
         "-W", "ignore::DeprecationWarning", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert "+++ test_awaits.py::test_awaits_forever is about to time out" in done.stderr, done.stderr
    line = AWAITING_FILE.split("\n").index("    await event.wait()") + 1
    assert "+++ event loop" in done.stderr, done.stderr
    assert f'File "{tmp_path / "test_awaits.py"}", line {line}, in never_set' in done.stderr, done.stderr
