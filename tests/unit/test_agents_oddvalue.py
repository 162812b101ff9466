"""A data value written unlike its siblings: found from the failing test's recorded arguments, on real git repos."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from agents.oddvalue import conformed, odd_value_candidates
from agents.repro import Repro

TIDES = '''
    from datetime import date

    HIGH_WATER = {
        "brest": ["2025-03-01", "2025-03-02", "2025-03-03"],
        "cherbourg": ["2025-03-01", "2025-03/02", "2025-03-04"],
        "dieppe": ["2025-03-02", "2025-03-05"],
    }


    def days(port):
        return [date.fromisoformat(text) for text in HIGH_WATER[port]]


    def span(port):
        first, last = HIGH_WATER[port][0], HIGH_WATER[port][-1]
        return _day_number(last) - _day_number(first)


    def _day_number(text):
        year, month, day = text.split("-")
        return int(day)
'''
TEST = '''
    from harbour.tides import HIGH_WATER, days, span


    def test_brest():
        assert len(days("brest")) == 3


    def test_cherbourg():
        assert days("cherbourg")[1].day == 2


    def test_dieppe_span():
        HIGH_WATER["dieppe"][-1] = "2025-03/05"
        assert span("dieppe") == 3
'''


def _repo(tmp_path: Path) -> Path:
    for rel, text in {"harbour/__init__.py": "", "harbour/tides.py": TIDES, "tests/test_tides.py": TEST}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


def test_the_odd_value_on_the_crash_path_takes_its_siblings_separators(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_tides.py::test_cherbourg"]
    assert subprocess.run(args, cwd=root, capture_output=True).returncode == 1
    message = "ValueError: Invalid isoformat string: '2025-03/02'"
    cands = odd_value_candidates(root, Repro("test", args, "tests/test_tides.py::test_cherbourg"), message)
    assert [c.description for c in cands] == ["harbour/tides.py: '2025-03/02' written as its siblings write it: "
                                              "'2025-03-02'"]
    (root / "harbour" / "tides.py").write_text(cands[0].texts["harbour/tides.py"])
    assert subprocess.run(args, cwd=root, capture_output=True).returncode == 0
    assert (root / "harbour" / "tides.py").read_text().count('"2025-03-02"') == 3  # nothing else rewritten


def test_a_value_the_message_does_not_quote_is_read_from_the_arguments_on_the_crash_path(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_tides.py::test_dieppe_span"]
    message = "ValueError: not enough values to unpack (expected 3, got 2)"
    cands = odd_value_candidates(root, Repro("test", args, "tests/test_tides.py::test_dieppe_span"), message)
    assert [c.description for c in cands] == []  # the test wrote the odd value itself: no file holds it
    (root / "tests" / "test_tides.py").write_text((root / "tests" / "test_tides.py").read_text().replace(
        '    HIGH_WATER["dieppe"][-1] = "2025-03/05"\n', ""))
    tides = root / "harbour" / "tides.py"
    tides.write_text(tides.read_text().replace('"2025-03-05"', '"2025-03/05"'))
    cands = odd_value_candidates(root, Repro("test", args, "tests/test_tides.py::test_dieppe_span"), message)
    assert [c.description for c in cands] == ["harbour/tides.py: '2025-03/05' written as its siblings write it: "
                                              "'2025-03-05'"]


def test_only_separators_change_and_only_for_a_minority() -> None:
    assert conformed("10.00-13.00", '"09:00-19:00" "10:00-20:00" "10.00-13.00"') == "10:00-13:00"
    assert conformed("10.00-13.00", '"09:00-19:00" "10.00-13.00" "11.00-12.00"') is None  # not the odd one out
    assert conformed("10.00-13.00", '"09:00-19:00" "10.00-13.00"') is None  # one sibling is not a convention
    assert conformed("ab-12", '"cd_12" "ef_34" "ab-12"') is None  # `_` is a word character: not a separator here
    assert conformed("1200", '"1,200" "3,400" "1200"') is None  # a different skeleton: not a sibling
    assert conformed("plain words", '"plain words" "other words"') is None  # no separator to conform
