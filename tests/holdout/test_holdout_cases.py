"""The held-out fix SET is valid: every case builds, fails at HEAD as reported, and is solvable.

It never runs `swarm investigate` (that is `python -m tests.holdout.fixes.run`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from swarm.models import ErrorReport
from tests.holdout.fixes.cases import CASES
from tests.holdout.fixes.gitrepo import Case, apply_edits, git, run_tests

pytestmark = [pytest.mark.holdout, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("holdout")
    return {spec.name: spec.build(root / spec.name) for spec in CASES}


def _checkout(case: Case, ref: str, where: Path) -> Path:
    git(case.repo, "worktree", "add", "-q", "--detach", str(where), ref)
    return where


def test_the_set_has_24_cases_8_per_tier() -> None:
    assert len(CASES) == 24
    assert len({spec.name for spec in CASES}) == 24
    for tier in ("easy", "medium", "hard"):
        assert sum(spec.tier == tier for spec in CASES) == 8


def test_builds_are_deterministic(tmp_path: Path, built: dict[str, Case]) -> None:
    again = CASES[0].build(tmp_path / "again")
    first = built[CASES[0].name]
    assert (again.suspect, again.head) == (first.suspect, first.head)


@pytest.mark.parametrize("name", [spec.name for spec in CASES])
def test_case_is_valid(name: str, built: dict[str, Case], tmp_path: Path) -> None:
    case = built[name]
    spec = next(s for s in CASES if s.name == name)

    # the ground truth exists, sits in a real history of 3-8+ commits, and the report is a valid ErrorReport
    assert git(case.repo, "cat-file", "-t", case.suspect) == "commit"
    assert 4 <= len(case.commits) <= 9
    report = ErrorReport.model_validate_json(case.report_path.read_text())
    assert report.context.file and (case.repo / report.context.file).is_file()
    source = (case.repo / report.context.file).read_text().splitlines()
    assert report.context.line and report.context.line <= len(source)
    assert not (case.repo / "report.json").exists()
    assert git(case.repo, "status", "--porcelain") == ""

    # HEAD: the repo's own tests fail, with the reported exception type
    head = run_tests(case.repo, case.test_command)
    assert head.returncode != 0, head.stdout
    exc_type = report.error.split(":", 1)[0]
    assert exc_type in head.stdout + head.stderr

    # the regressing commit's parent: its own tests pass and the reported error does not occur
    parent = _checkout(case, f"{case.suspect}^", tmp_path / "parent")
    before = run_tests(parent, case.test_command)
    assert before.returncode == 0, before.stdout + before.stderr
    repro = subprocess.run([sys.executable, "-c", case.repro], cwd=parent, capture_output=True, text=True, check=False)
    assert report.error not in repro.stderr

    # solvable: the reference fix at HEAD passes HEAD's tests and keeps every must_keep snippet
    fixed = _checkout(case, case.head, tmp_path / "fixed")
    apply_edits(fixed, spec.fix)
    after = run_tests(fixed, case.test_command)
    assert after.returncode == 0, after.stdout + after.stderr
    for rel, snippet in case.must_keep:
        assert snippet in (fixed / rel).read_text()
    assert not any(rel.startswith("tests/") for rel, _, _ in spec.fix)
    for where in (parent, fixed):
        git(case.repo, "worktree", "remove", "--force", str(where))
        shutil.rmtree(where, ignore_errors=True)


def test_package_size_is_small(built: dict[str, Case]) -> None:
    for name, case in built.items():
        files = [p for p in case.repo.rglob("*.py") if ".git" not in p.parts and "tests" not in p.parts]
        modules = [p for p in files if p.name != "__init__.py"]
        lines = sum(len(p.read_text().splitlines()) for p in files)
        assert 2 <= len(modules) <= 5, name
        assert 10 <= lines <= 200, (name, lines)
        assert re.search(r"test", " ".join(p.name for p in case.repo.joinpath("tests").iterdir())), name
