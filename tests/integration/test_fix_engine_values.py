"""The fix engine where a production crash needs no particular arguments and a commit wrote a bad value.

Real git histories and real test runs, as in `test_fix_engine.py`. The repository keeps its package in a
subdirectory (`cd pkg && python -m pytest -q`), and no test reaches the crash: production tracebacks give
no argument values, so the repro calls the crash function with probe values, kept only when the call
raises the report's own error there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.findrepro import find_repro
from agents.probe import import_roots, probe_call
from agents.repair import RepairBudget, repair, sites_for
from agents.repro import run_repro
from agents.testing.regressions import _Repo
from swarm.models import ErrorReport

_COMMAND = "cd pkg && python -m pytest -q"
_SERVER = ("from cfgsvc.loader import load\n\n\ndef pool_size(cfg):\n    return cfg['workers'] * 2\n\n\n"
           "def deadline(now, overrides=None):\n    cfg = load(overrides)\n    return now + cfg['timeout']\n")
_LOADER = ("from cfgsvc.defaults import DEFAULTS\n\n\ndef load(overrides=None):\n    cfg = dict(DEFAULTS)\n"
           "    cfg.update(overrides or {})\n    return cfg\n")
_TESTS = ("from cfgsvc.loader import load\nfrom cfgsvc.server import pool_size\n\n\n"
          "def test_pool_size():\n    assert pool_size(load()) == 8\n\n\n"
          "def test_log_level():\n    assert load().get('log_level', 'debug') == 'debug'\n")
_STACK = ('Traceback (most recent call last):\n  File "/srv/app/pkg/cfgsvc/server.py", line 10, in deadline\n'
          "    return now + cfg['timeout']\n")


def _cfgsvc(tmp_path: Path) -> tuple[_Repo, str, str]:
    """A config service whose third commit adds a log level and writes the timeout default as text."""
    repo = _Repo(tmp_path / "repo", 31)
    defaults = "DEFAULTS = {{\n    'port': 8080,\n    'workers': 4,\n    'timeout': {timeout},\n{extra}}}\n"
    files = {"pkg/conftest.py": "", "pkg/cfgsvc/__init__.py": "", "pkg/cfgsvc/loader.py": _LOADER,
             "pkg/cfgsvc/server.py": _SERVER, "pkg/tests/test_server.py": _TESTS,
             "pkg/cfgsvc/defaults.py": defaults.format(timeout="30", extra="")}
    repo.commit("config service", files)
    good = repo.commit("readme", {**files, "README.md": "# cfgsvc\n"})
    files["pkg/cfgsvc/defaults.py"] = defaults.format(timeout="'30'", extra="    'log_level': 'debug',\n")
    regression = repo.commit("config: log level; timeout as in the env file", files)
    repo.commit("banner", {**files, "pkg/cfgsvc/banner.py": "def banner(cfg):\n    return f\"on {cfg['port']}\"\n"})
    return repo, regression, good


def _deadline_report(message: str) -> ErrorReport:
    """As production sends it: the service's own paths, no argument values."""
    return ErrorReport(error=f"TypeError: {message}", stack=_STACK + f"TypeError: {message}\n", service="cfgsvc",
                       context={"file": "pkg/cfgsvc/server.py", "line": 10, "function": "deadline"})


def test_a_package_in_a_subdirectory_is_imported_from_the_top_of_its_package_chain(tmp_path: Path) -> None:
    repo, _, _ = _cfgsvc(tmp_path)
    assert import_roots(repo.path, "pkg/cfgsvc/server.py") == [("pkg", "cfgsvc.server"), (".", "pkg.cfgsvc.server")]
    assert import_roots(repo.path, "pkg/cfgsvc/__init__.py")[0] == ("pkg", "cfgsvc")
    assert import_roots(repo.path, "README.md") == []


def test_a_crash_function_with_required_arguments_is_reproduced_with_probe_values(tmp_path: Path) -> None:
    """`deadline(now, ...)` needs an argument the report does not give; 0.0 for `now` raises the reported
    TypeError inside it, so that call is the repro (it was 'no function on the stack could be called')."""
    repo, _, _ = _cfgsvc(tmp_path)
    report = _deadline_report("unsupported operand type(s) for +: 'float' and 'str'")
    repro = find_repro(repo.path, report, _COMMAND)
    assert repro.kind == "built" and "probe values" in repro.detail, repro.detail
    assert run_repro(repo.path, repro) == "bad"


def test_an_error_the_probe_values_cause_themselves_is_not_taken_for_the_reported_one(tmp_path: Path) -> None:
    """None for `now` raises a TypeError in the same function, but not the reported one ('NoneType' and
    'str'): no repro rather than a repro of something else."""
    repo, _, _ = _cfgsvc(tmp_path)
    report = _deadline_report("unsupported operand type(s) for +: 'datetime.datetime' and 'str'")
    repro = find_repro(repo.path, report, _COMMAND)
    assert repro.kind == "none", repro.detail


def test_a_value_the_suspect_wrote_over_is_put_back_rather_than_guarded_at_the_crash(tmp_path: Path) -> None:
    """`float(cfg['timeout'])` at the crash line passes the tests too, but the default stays text for every
    other reader; the bisected commit's own one-token change, `'30'` back to `30`, is the root cause, and
    the log level that commit added stays."""
    repo, regression, good = _cfgsvc(tmp_path)
    report = _deadline_report("unsupported operand type(s) for +: 'float' and 'str'")
    repro = find_repro(repo.path, report, _COMMAND)
    trace = repro.head_trace()
    assert trace is not None
    sites = sites_for(repo.path, [(f.path, f.line, f.function) for f in trace.frames], regression)
    result = repair(repo.path, repro=repro, test_command=_COMMAND, suspects=[(regression, good)], sites=sites,
                    shape=repro.error_shape(), message=report.error, budget=RepairBudget())
    assert result.candidate is not None and result.candidate.unit == "token", result.attempts
    assert any("preferred to" in a for a in result.attempts), result.attempts
    defaults = (repo.path / "pkg/cfgsvc/defaults.py").read_text()
    assert "'timeout': 30," in defaults and "'log_level': 'debug'" in defaults
    assert "now + cfg['timeout']" in (repo.path / "pkg/cfgsvc/server.py").read_text()


def test_a_probe_value_that_trips_the_functions_own_check_is_not_the_reported_value(tmp_path: Path) -> None:
    """Production passed 5000.0 (milliseconds where seconds were meant); 0.0 raises the same check with
    `got 0.0`: a repro of the probe, not of the error, which would blame the commit that wrote the check."""
    (tmp_path / "gw").mkdir()
    (tmp_path / "gw" / "__init__.py").write_text("")
    (tmp_path / "gw" / "client.py").write_text(
        "def check_timeout(seconds):\n    if not 0 < seconds <= 120:\n"
        "        raise ValueError(f'timeout must be in (0, 120] seconds, got {seconds}')\n    return seconds\n")
    # the crash line is the function's own `raise` naming its input: the message's 5000.0 is not given back
    found = probe_call(tmp_path, "gw/client.py", "check_timeout", "ValueError",
                       "timeout must be in (0, 120] seconds, got 5000.0", literals=False)
    assert found is None
    found = probe_call(tmp_path, "gw/client.py", "check_timeout", "ValueError",
                       "timeout must be in (0, 120] seconds, got 0.0", literals=False)
    assert found is not None and "check_timeout, seconds=0.0)" in found, found


def test_a_module_level_caller_of_the_crashing_method_is_probed(tmp_path: Path) -> None:
    """The crash is in a method (`Histogram.observe`, no instance to call it on); the module-level function
    that reaches it, `record(started_at)`, raises the reported IndexError there with a probe value: a
    request that took long lands past the last bucket, which a commit dropped."""
    repo = _Repo(tmp_path / "repo", 43)
    hist = ("class Histogram:\n    def __init__(self, bounds):\n        self.bounds = bounds\n"
            "        self.counts = [0] * {size}\n\n    def observe(self, ms):\n"
            "        i = next((k for k, b in enumerate(self.bounds) if ms <= b), len(self.bounds))\n"
            "        self.counts[i] += 1\n")
    record = ("import time\n\nfrom lat.hist import Histogram\n\n_HIST = Histogram([10, 100, 1000])\n\n\n"
              "def record(started_at, finished_at=None):\n    finished_at = time.monotonic() if finished_at is None "
              "else finished_at\n    _HIST.observe((finished_at - started_at) * 1000.0)\n    return _HIST\n")
    tests = ("from lat.hist import Histogram\n\n\ndef test_buckets():\n    h = Histogram([10, 100])\n"
             "    for ms in (1, 2, 50):\n        h.observe(ms)\n    assert h.counts[:2] == [2, 1]\n")
    repo.commit("lat: histogram", {"lat/__init__.py": "", "lat/hist.py": hist.format(size="(len(bounds) + 1)"),
                                   "lat/record.py": record, "tests/test_hist.py": tests})
    repo.commit("hist: one count per bound", {"lat/hist.py": hist.format(size="len(bounds)")})
    stack = ('Traceback (most recent call last):\n  File "/srv/app/wsgi.py", line 9, in wrapped\n    record(started)\n'
             '  File "/srv/app/lat/record.py", line 11, in record\n'
             "    _HIST.observe((finished_at - started_at) * 1000.0)\n"
             '  File "/srv/app/lat/hist.py", line 8, in observe\n    self.counts[i] += 1\n'
             "IndexError: list index out of range\n")
    report = ErrorReport(error="IndexError: list index out of range", stack=stack, service="lat",
                         context={"file": "lat/hist.py", "line": 8, "function": "observe"})
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "built" and repro.target == "lat/record.py:record" and "probe values" in repro.detail
    assert run_repro(repo.path, repro) == "bad"
    # `except IndexError: pass` at the crash passes too, but hides the error: every repair is tried first,
    # and the size the suspect cut, set in `__init__` (the attribute the crash line reads), comes back
    trace = repro.head_trace()
    assert trace is not None
    head = repo.commit("readme", {"README.md": "# lat\n"})
    suspect = subprocess.run(["git", "rev-parse", f"{head}~1"], cwd=repo.path, capture_output=True, text=True,
                             check=True).stdout.strip()
    sites = sites_for(repo.path, [(f.path, f.line, f.function) for f in trace.frames], suspect)
    result = repair(repo.path, repro=repro, test_command="python -m pytest -q tests", suspects=[(suspect, None)],
                    sites=sites, shape=repro.error_shape(), message=report.error, budget=RepairBudget())
    assert result.candidate is not None and result.candidate.unit != "template:swallow", result.attempts
    assert "self.counts = [0] * (len(bounds) + 1)" in (repo.path / "lat/hist.py").read_text(), result.attempts
