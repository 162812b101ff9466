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


_PLAN = '''def even(total, teams):
    base, extra = divmod(total, len(teams))
    return {t: base + (1 if i < extra else 0) for i, t in enumerate(teams)}


def plan(total, teams):
    return {t: f"{c // 100}.{c % 100:02d}" for t, c in even(total, teams).items()}
'''
_BY_HEADS = _PLAN.replace('''def plan(total, teams):
    return {t: f"{c // 100}.{c % 100:02d}" for t, c in even(total, teams).items()}''',
                          '''def plan(total, teams, heads=None):
    parts = {t: total * n / sum(heads.values()) for t, n in heads.items()} if heads else even(total, teams)
    return {t: f"{c // 100}.{c % 100:02d}" for t, c in parts.items()}''')


def test_a_patched_call_that_returns_the_same_without_the_suspect_s_new_parameter_ignores_it(tmp_path: Path) -> None:
    """Review 24 (splitbill): production asked for weighted shares (`heads=`, the suspect's new parameter) and the
    claimed patch split evenly whatever the weights. The parameters the suspect added are read off its change;
    a patch after which production's call returns the same without one of them ignores it."""
    from agents.valueoracle import ignored_keywords, new_parameters

    repo = _Repo(tmp_path / "repo", 6)
    good = repo.commit("plans", {"budget/__init__.py": "", "budget/plan.py": _PLAN})
    bad = repo.commit("plans by headcount", {"budget/plan.py": _BY_HEADS})
    repro = Repro("built", [sys.executable, "-c", "import importlib, json; m = importlib.import_module('budget.plan'); "
                            "m.plan(*json.loads('[10000, [\"ops\", \"dev\"]]'), "
                            "**json.loads('{\"heads\": {\"ops\": 3, \"dev\": 1}}'))"], target="budget/plan.py:plan")
    assert new_parameters(repo.path, repro, bad, good) == ["heads"]
    evenly = _BY_HEADS.replace("for t, c in parts.items()", "for t, c in even(total, parts).items()")
    (repo.path / "budget/plan.py").write_text(evenly)  # the claimed patch: 50.00 each, heads or not
    assert ignored_keywords(repo.path, repro, ["heads"]) == ["heads"]
    (repo.path / "budget/plan.py").write_text(_BY_HEADS.replace("total * n / sum", "total * n // sum"))
    assert ignored_keywords(repo.path, repro, ["heads"]) == []  # 75.00 / 25.00 with heads, 50.00 each without
    assert ignored_keywords(repo.path, repro, ["other"]) == []  # a keyword the call does not pass
