"""The regression test a fix carries asserts what production's call returned before the regression, floats
too: a distance, a price, a ratio are compared rounded to 9 places (a sum's last bits differ between equally
right programs), so the test fails on the regressing code that returns a wrong number, not only on a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.testing.regressions import RegressionCase, _Repo
from tests.integration.test_fix_engine import _investigate
from tests.integration.test_fix_engine_dropped import _reported, _shown

_UNITS_OLD = '''RATES = {"mile": 1.609344, "km": 1.0}


def to_km(value, unit):
    return value * RATES[unit]
'''
_UNITS_NEW = '''RATES = {"mi": 1.609344, "km": 1.0, "nmi": 1.852}


def to_km(value, unit):
    return value * RATES[unit]
'''
_TRIPS = '''from geo.units import to_km


def trip_km(legs):
    return sum(to_km(value, unit) for value, unit in legs)
'''


async def test_a_float_result_is_asserted_rounded_in_the_regression_test(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 61)
    files = {"geo/__init__.py": "", "geo/units.py": _UNITS_OLD, "geo/trips.py": _TRIPS, "tests/__init__.py": "",
             "tests/test_units.py": "from geo.units import to_km\n\n\ndef test_km():\n    assert to_km(2, 'km') == 2\n"}
    repo.commit("geo: distances", files)
    repo.commit("geo: trips", {"README.md": "geo\n"})
    bad = repo.commit("geo: nautical miles, short unit names", {
        "geo/units.py": _UNITS_NEW,
        "tests/test_nautical.py": "from geo.units import to_km\n\n\ndef test_nmi():\n"
                                  "    assert to_km(1, 'nmi') == 1.852\n"})
    report = _reported(repo, "from geo.trips import trip_km", "trip_km([(3, 'mile'), (2.5, 'km'), (0.1, 'km')])",
                       "geo")
    assert "KeyError: 'mile'" in report.error
    result = await _investigate(RegressionCase(repo.path, "renamed", 61, bad, report), tmp_path)
    express, impl = result["express"], result["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == bad, (express, impl)
    written = _shown(repo, express["branch"], impl["regression_test"])
    # the crash frame's call, as production made it, and what it returned before the regression
    assert f"self.assertEqual(_rounded(to_km(3, 'mile')), _rounded({3 * 1.609344!r}))" in written, written
    # the written test passes on the fix branch, and fails on code that returns another number
    where = tmp_path / "check"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(where), express["branch"]], cwd=repo.path,
                   check=True)
    module = impl["regression_test"][:-3].replace("/", ".")
    run = subprocess.run([sys.executable, "-m", "unittest", module], cwd=where, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    units = where / "geo/units.py"
    units.write_text(units.read_text().replace("1.609344", "1.6"))
    run = subprocess.run([sys.executable, "-m", "unittest", module], cwd=where, capture_output=True, text=True)
    assert run.returncode == 1 and "AssertionError" in run.stderr, run.stderr
