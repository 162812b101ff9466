"""The blind fix SET is valid: every case builds, fails at HEAD as reported, and is solvable.

It never runs `swarm investigate` (that is `python -m tests.holdout.fixes_blind.run`) and does not import
swarm: it only builds the repositories and runs their own tests. The three test runs of each case (HEAD,
the regressing commit's parent, HEAD + reference fix) run concurrently, with pytest's plugin autoloading
off (the case repositories use no plugin), to keep the whole check near 30 s on a 2-core machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.holdout.fixes.gitrepo import Case, Spec, apply_edits, git
from tests.holdout.fixes.gitrepo import test_env as _env
from tests.holdout.fixes_blind.cases import CASES, SETS

pytestmark = [pytest.mark.holdout, pytest.mark.timeout(180)]

REPORT_KEYS = {"schema_version", "error", "stack", "timestamp", "environment", "service", "context"}


def _pytest(where: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = {**_env(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(command + " -p no:cacheprovider", shell=True, cwd=where, capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def _check(spec: Spec, root: Path) -> dict[str, object]:
    case = spec.build(root / spec.name)
    out: dict[str, object] = {"case": case, "clean": git(case.repo, "status", "--porcelain") == ""}
    parent, fixed = root / f"{spec.name}-parent", root / f"{spec.name}-fixed"
    git(case.repo, "worktree", "add", "-q", "--detach", str(parent), f"{case.suspect}^")
    git(case.repo, "worktree", "add", "-q", "--detach", str(fixed), case.head)
    apply_edits(fixed, spec.fix)
    out["kept"] = [snippet in (fixed / rel).read_text() for rel, snippet in case.must_keep]
    with ThreadPoolExecutor(max_workers=3) as pool:
        head = pool.submit(_pytest, case.repo, case.test_command)
        before = pool.submit(_pytest, parent, case.test_command)
        after = pool.submit(_pytest, fixed, case.test_command)
        repro = pool.submit(subprocess.run, [sys.executable, "-c", case.repro], cwd=parent, capture_output=True,
                            text=True, env=_env(), timeout=60, check=False)
        out.update(head=head.result(), before=before.result(), after=after.result(), repro=repro.result())
    return out


@pytest.fixture(scope="module")
def checked() -> Iterator[dict[str, dict[str, object]]]:
    root = Path(tempfile.mkdtemp(prefix="blind-fixes-"))
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda spec: _check(spec, root), CASES))
        yield {spec.name: r for spec, r in zip(CASES, results, strict=True)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_set_has_two_splits_of_ten_and_review_5s_eight() -> None:
    assert sorted(SETS) == ["dev", "heldout", "review5"]
    assert [len(SETS["dev"]), len(SETS["heldout"]), len(SETS["review5"])] == [10, 10, 8]
    assert len({spec.name for spec in CASES}) == 20 and not {s.name for s in CASES} & {s.name for s in SETS["review5"]}
    assert all(spec.tier == name for name, specs in SETS.items() for spec in specs)


def test_no_case_reuses_a_name_of_the_first_set() -> None:
    from tests.holdout.fixes.cases import CASES as FIRST

    assert not {s.name for s in CASES} & {s.name for s in FIRST}


def test_builds_are_deterministic(tmp_path: Path, checked: dict[str, dict[str, object]]) -> None:
    again = CASES[0].build(tmp_path / "again")
    first: Case = checked[CASES[0].name]["case"]  # type: ignore[assignment]
    assert (again.suspect, again.head) == (first.suspect, first.head)


@pytest.mark.parametrize("name", [spec.name for spec in CASES])
def test_case_is_valid(name: str, checked: dict[str, dict[str, object]]) -> None:
    r = checked[name]
    case: Case = r["case"]  # type: ignore[assignment]
    spec = next(s for s in CASES if s.name == name)

    # a real history of 5-10 commits; the ground truth is one of them (never the first); a well-formed report
    assert 5 <= len(case.commits) <= 10 and 1 <= spec.suspect < len(case.commits)
    assert git(case.repo, "cat-file", "-t", case.suspect) == "commit"
    assert set(case.report) >= REPORT_KEYS and "Traceback (most recent call last)" in case.report["stack"]
    ctx = case.report["context"]
    source = (case.repo / ctx["file"]).read_text().splitlines()
    assert 1 <= ctx["line"] <= len(source)
    assert not (case.repo / "report.json").exists() and r["clean"]

    # HEAD: the repository's own tests fail, with the reported exception type
    head: subprocess.CompletedProcess[str] = r["head"]  # type: ignore[assignment]
    assert head.returncode != 0, head.stdout
    assert case.report["error"].split(":", 1)[0] in head.stdout + head.stderr

    # the regressing commit's parent: its tests pass and the production path does not raise the reported error
    before: subprocess.CompletedProcess[str] = r["before"]  # type: ignore[assignment]
    assert before.returncode == 0, before.stdout + before.stderr
    assert case.report["error"] not in r["repro"].stderr  # type: ignore[union-attr]

    # solvable: the reference fix at HEAD passes HEAD's tests and keeps every must_keep snippet; it edits no test
    after: subprocess.CompletedProcess[str] = r["after"]  # type: ignore[assignment]
    assert after.returncode == 0, after.stdout + after.stderr
    assert all(r["kept"]), case.must_keep  # type: ignore[arg-type]
    assert case.must_keep and not any(rel.startswith("tests/") for rel, _, _ in spec.fix)


def test_package_sizes(checked: dict[str, dict[str, object]]) -> None:
    sizes = []
    for name, r in checked.items():
        case: Case = r["case"]  # type: ignore[assignment]
        files = [p for p in case.repo.rglob("*.py") if ".git" not in p.parts and "tests" not in p.parts]
        modules = [p for p in files if p.name != "__init__.py"]
        lines = sum(len(p.read_text().splitlines()) for p in files)
        assert 2 <= len(modules) <= 5, name
        assert 10 <= lines <= 200, (name, lines)
        assert re.search(r"test", " ".join(p.name for p in case.repo.joinpath("tests").iterdir())), name
        sizes.append(lines)
    assert max(sizes) >= 60  # not only toy packages
