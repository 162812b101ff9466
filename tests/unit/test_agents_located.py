"""Which functions a report names and which a change edits, on a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.located import off_the_report
from swarm.models import ErrorReport

CODE = ("LIMIT = 1\n\n\ndef outer(a):\n    def inner(b):\n        return b + LIMIT\n    return inner(a)\n\n\n"
        "def other():\n    return 2\n")


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "m.py").write_text(CODE)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "m"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    return root


def test_a_change_counts_for_the_function_the_report_names_and_the_ones_around_it(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    at_inner = ErrorReport(error="TypeError: x", context={"file": "pkg/m.py", "line": 6})  # in inner, in outer
    files = {"pkg/m.py"}

    def off(new: str, report: ErrorReport = at_inner, frames: list | None = None) -> str:
        return off_the_report(root, report, frames or [], {"pkg/m.py": new}, files)

    assert off(CODE.replace("b + LIMIT", "b - LIMIT")) == ""  # the named function itself
    assert off(CODE.replace("return inner(a)", "return inner(a or 0)")) == ""  # the one around it
    assert off(CODE.replace("LIMIT = 1", "LIMIT = 2")) == ""  # module level: the file's own
    assert off(CODE.replace("return 2", "return 3")) == "other() of pkg/m.py"
    by_frame = ErrorReport(error="TypeError: x")
    assert off(CODE.replace("return 2", "return 3"), by_frame, [("pkg/m.py", 11, "other")]) == ""
    by_function = ErrorReport(error="TypeError: x", context={"file": "pkg/m.py", "function": "pkg.m.other"})
    assert off(CODE.replace("b + LIMIT", "b - LIMIT"), by_function) == "inner() of pkg/m.py, outer() of pkg/m.py"
    only_file = ErrorReport(error="TypeError: x", context={"file": "pkg/m.py"})  # no function named: the file
    assert off(CODE.replace("return 2", "return 3"), only_file) == ""
