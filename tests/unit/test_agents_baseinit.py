"""A subclass `__init__` that skips its base's: the repair adds the `super().__init__` call, on real git repos."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from agents.baseinit import base_init_candidates


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


BASE = """
    class Meter:
        def __init__(self, unit, *, scale=1):
            self.unit = unit
            self.readings = []

        def record(self, value):
            self.readings.append(value)
            return len(self.readings)


    class Plain(Meter):
        pass
"""
GAUGE = """
    from lab.meters import Meter


    class Gauge(Meter):
        '''A meter with a ceiling.'''

        def __init__(self, unit, ceiling):
            \"\"\"`ceiling`: the largest value.\"\"\"
            self.ceiling = ceiling

        def record(self, value):
            return super().record(min(value, self.ceiling))
"""
CALL = "from lab.gauge import Gauge\nprint(Gauge('kPa', 10).record(12), Gauge('kPa', 10).unit)\n"


def test_the_subclass_init_runs_its_base_init_with_the_parameters_it_shares(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"lab/__init__.py": "", "lab/meters.py": BASE, "lab/gauge.py": GAUGE})
    crash = subprocess.run([sys.executable, "-c", CALL], cwd=root, capture_output=True, text=True)
    assert "'Gauge' object has no attribute 'readings'" in crash.stderr
    (cand,) = base_init_candidates(root, "AttributeError: 'Gauge' object has no attribute 'readings'")
    new = cand.texts["lab/gauge.py"]
    assert '"""`ceiling`: the largest value."""\n        super().__init__(unit)\n        self.ceiling' in new
    (root / "lab" / "gauge.py").write_text(new)
    fixed = subprocess.run([sys.executable, "-c", CALL], cwd=root, capture_output=True, text=True)
    assert fixed.stdout.split() == ["1", "kPa"], fixed.stderr


def test_no_candidate_without_a_base_that_sets_it_or_a_value_for_a_required_parameter(tmp_path: Path) -> None:
    needs_name = GAUGE.replace("def __init__(self, unit, ceiling)", "def __init__(self, ceiling)")
    root = _repo(tmp_path, {"lab/__init__.py": "", "lab/meters.py": BASE, "lab/gauge.py": needs_name})
    assert base_init_candidates(root, "'Gauge' object has no attribute 'readings'") == []  # `unit`: unknown
    assert base_init_candidates(root, "'Gauge' object has no attribute 'colour'") == []  # no base sets it
    calls = GAUGE.replace('"""`ceiling`: the largest value."""', "Meter.__init__(self, unit)")
    (root / "lab" / "gauge.py").write_text(textwrap.dedent(calls).lstrip())
    assert base_init_candidates(root, "'Gauge' object has no attribute 'readings'") == []  # it already does
