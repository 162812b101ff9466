"""The factor a commit rescaled a function's result by is read from the numbers it replaced in that function."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.rescale import returned_scales

BEFORE = '''
def hours(minutes):
    return minutes / 60


def area(side):
    return side ** 2 / 100


def cents(amount):
    return round(100 * amount)
'''

AFTER = '''
def hours(minutes):
    return minutes / 3600


def area(side):
    return side ** 3 / 100


def cents(amount):
    return round(1000 * amount)
'''


def _commit(root: Path, text: str, message: str) -> str:
    (root / "calc.py").write_text(text)
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x",
           "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=root, check=True, env=env)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_a_replaced_divisor_or_factor_is_a_rescale_and_a_changed_power_is_not(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    parent = _commit(tmp_path, BEFORE, "first")
    sha = _commit(tmp_path, AFTER, "second")
    # hours: 60 -> 3600, a 60th of what it was; cents: a number on the left of `*`, 10 times; area: `** 2` -> `** 3`
    # changes no unit (read as text, `** 2` looked like a multiplication by 2)
    assert returned_scales(tmp_path, sha, parent) == {"hours": 60 / 3600, "cents": 10.0}
