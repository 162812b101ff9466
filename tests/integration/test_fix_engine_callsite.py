"""A caller that rebinds its parameter before the call that fails is still reported with what production passed
(read back from production's call expression), so the repro is the caller's call and the fix can be the
caller's. A real repository with a feature commit that regressed, reported by the real reporter from a
production script, investigated end to end with the offline brain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.testing.regressions import RegressionCase, _Repo
from swarm.models import ErrorReport
from tests.integration.test_fix_engine import _investigate
from tests.integration.test_fix_engine_dropped import _shown

PYTEST = "python -m pytest -q -p no:cacheprovider"

_LEVELS_OLD = '''def bounded(value, lo, hi):
    if lo > hi:
        raise ValueError(f"empty range: {lo} > {hi}")
    return max(lo, min(hi, value))


def gain_for(track_db, master_db, ceiling):
    """The gain a track plays at, in dB: its level plus the master's, never over the ceiling (at most 0)."""
    ceiling = min(ceiling, 0)
    return bounded(track_db + master_db, -60, ceiling)
'''
# the range now comes first (a new caller passes it that way); gain_for keeps the old order
_LEVELS_NEW = _LEVELS_OLD.replace("def bounded(value, lo, hi):", "def bounded(lo, hi, value):") + '''

def pan(position):
    """A pan position from -100 (left) to 100 (right)."""
    return bounded(-100, 100, position)
'''

_PRODUCTION = '''import json
import sys

sys.path.insert(0, {repo!r})
from mixer.levels import gain_for  # noqa: E402
from swarm.reporting.reporter import report_from_exception  # noqa: E402

SESSION = {{"master_db": -6, "tracks": [{{"name": "vox", "db": -4, "ceiling": 3}}]}}


def render(session):
    return [gain_for(t["db"], session["master_db"], t["ceiling"]) for t in session["tracks"]]


try:
    render(SESSION)
except ValueError:
    print(report_from_exception(sys.exc_info(), service="mixer", root={repo!r}).model_dump_json())
'''


async def test_a_caller_that_rebinds_its_parameter_is_reproduced_with_what_production_passed_and_fixed(
        tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 81)
    repo.commit("mixer: levels", {
        "mixer/__init__.py": "", "mixer/levels.py": _LEVELS_OLD, "tests/__init__.py": "",
        "tests/test_levels.py": "from mixer.levels import gain_for\n\n\ndef test_gain():\n"
                                "    assert gain_for(-10, -6, 0) == -16\n"})
    bad = repo.commit("mixer: pan", {
        "mixer/levels.py": _LEVELS_NEW,
        "tests/test_pan.py": "from mixer.levels import pan\n\n\ndef test_pan():\n"
                             "    assert pan(150) == 100 and pan(-20) == -20\n"})
    repo.commit("docs", {"README.md": "mixer\n"})
    script = tmp_path / "production.py"  # outside the repository, as an application's job is
    script.write_text(_PRODUCTION.format(repo=str(repo.path)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    report = ErrorReport.model_validate_json(out.stdout)
    assert "empty range" in report.error
    # gain_for rebinds `ceiling`; what production passed (3) is read back from its call expression
    assert [(c.get("function"), c.get("args")) for c in report.context.model_extra["calls"]] == [
        ("gain_for", [-4, -6, 3])], report.context
    result = await _investigate(RegressionCase(repo.path, "caller-rebinds", 81, bad, report, test_command=PYTEST),
                                tmp_path)
    express, impl = result["express"], result["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == bad, "\n".join(impl["search"]["log"])
    fixed = _shown(repo, express["branch"], "mixer/levels.py")
    assert "bounded(-60, ceiling, track_db + master_db)" in fixed, fixed
    assert "def bounded(lo, hi, value)" in fixed and "bounded(-100, 100, position)" in fixed  # the feature stays
