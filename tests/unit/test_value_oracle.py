"""`agents.valueoracle`: production's call's value at the last good commit, compared with the patched code's."""

from __future__ import annotations

import sys
from pathlib import Path

from agents.repro import Repro
from agents.testing.regressions import _Repo
from agents.valueoracle import ValueOracle, valued_args


def _built(code: str) -> Repro:
    return Repro("built", [sys.executable, "-c", code], target="f")


def test_the_value_before_is_read_from_the_good_commit_and_compared_canonically(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 5)
    body = ("class Box:\n    def __init__(self, n):\n        self.n = n\n\n\n"
            "def f(xs):\n    return {'tags': set(xs), 'box': Box(len(xs)), 'mean': sum(xs) / 3}\n")
    good = repo.commit("f", {"m.py": body})
    repo.commit("f returns one more", {"m.py": body.replace("sum(xs) / 3", "sum(xs) / 3 + 1")})
    repro = _built("import importlib; m = importlib.import_module('m'); m.f([3, 1, 2])")
    oracle = ValueOracle.before(repo.path, repro, good)
    assert oracle is not None and oracle.shown == "{'box': Box{'n': 3}, 'mean': 2.0, 'tags': set(1, 2, 3)}", oracle
    assert oracle.agrees(repo.path) is False  # HEAD's mean is one more
    (repo.path / "m.py").write_text(body)  # a set is compared sorted, an object by its fields, not its address
    assert oracle.agrees(repo.path) is True
    (repo.path / "m.py").write_text(body.replace("return", "raise ValueError('no')\n    return"))
    assert oracle.agrees(repo.path) is None  # no value: the repro says what that means


def test_no_oracle_for_a_value_that_changes_between_runs_a_module_run_or_made_up_values(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 6)
    good = repo.commit("f", {"m.py": "import uuid\n\n\ndef f():\n    return uuid.uuid4().hex\n"})
    repo.commit("docs", {"README.md": "m\n"})
    assert ValueOracle.before(repo.path, _built("import m; m.f()"), good) is None
    assert valued_args(_built("import runpy; runpy.run_module('m', run_name='__main__')")) is None
    made_up = _built("import m; m.f()")
    made_up.made_up = True
    assert ValueOracle.before(repo.path, made_up, good) is None
