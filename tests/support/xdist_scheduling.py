"""`--dist loadfile` that survives a crashed worker: the crashed test fails once and the run goes on.

pytest-timeout's thread method ends the worker of a test that outlives `timeout` (300 s), and xdist
replaces the worker. xdist 3.8's file scheduler then does two things that turn one hung test into a
run that never ends:

1. It puts the crashed file back in the queue with the crashed test still marked pending, so the
   replacement runs that test again, hangs again, and so on up to `--max-worker-restart` (8 workers
   for `-n 2`: 40 minutes of the same hang).
2. It hands a node one file at a time. A worker only runs a test once it knows the next one (or is
   told to shut down), so a replacement whose first file has a single pending test waits for more
   work while the controller waits for that test: both sides idle, for ever.

Here the crashed test is marked done (xdist reports it failed, naming the worker that crashed), and a
node is given files until it holds more than two pending tests (as xdist does), or is told to shut
down when the queue is empty.
`tests/conftest.py` installs it through xdist's own hook; this module is also a plugin (`-p`), which
is how `tests/unit/test_xdist_scheduling.py` runs it on a suite with a crashing test.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

__all__ = ["CrashOnceFileScheduling", "pytest_xdist_make_scheduler"]


class CrashOnceFileScheduling(LoadFileScheduling):  # type: ignore[misc]
    """LoadFileScheduling, less the re-run of a crashed test and the one-file hand-out."""

    def remove_node(self, node: Any) -> str | None:
        workload: dict[str, dict[str, bool]] = self.assigned_work.pop(node)
        crashitem = next((nodeid for unit in workload.values() for nodeid, done in unit.items() if not done), None)
        if crashitem is None:
            return None
        for unit in workload.values():
            if crashitem in unit:
                unit[crashitem] = True  # failed by the caller; a second run would only crash the next worker
        self.workqueue.update({scope: unit for scope, unit in workload.items() if not all(unit.values())})
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down or node not in self.registered_collections:
            return  # a replacement still collecting gets its work once it has (`schedule`)
        while self.workqueue and self._pending_of(self.assigned_work[node]) <= 2:  # as xdist: more than two
            self._assign_work_unit(node)
        if not self.workqueue:
            node.shutdown()  # the worker runs what it holds, then finishes


@pytest.hookimpl(optionalhook=True)  # a run without xdist (`-p no:xdist`) has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None
    return CrashOnceFileScheduling(config, log)
