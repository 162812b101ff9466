"""What a local Ray session leaves running after `ray.shutdown()` is stopped when the command that started it ends
(review 15, problem 8: a runtime-env agent outlived a clean SIGTERM drain, orphaned)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

from swarm.runtime.raycluster import reap_session


def test_the_processes_of_an_ended_session_are_stopped_and_one_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    session = str(tmp_path / "session_2026-12-05_21-00-00_000000_1")
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", f"--session-dir={session}"])
    ignore = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
              "time.sleep(120)")
    stubborn = subprocess.Popen([sys.executable, "-c", ignore, f"--logs-dir={session}/logs"], stdout=subprocess.PIPE,
                                text=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "--session-dir=/tmp/another"])
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"  # its handler is set
        deadline = time.monotonic() + 10
        while not all(session in " ".join(psutil.Process(p.pid).cmdline()) for p in (polite, stubborn)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stopped = reap_session(session, grace_s=1.0)
        assert sorted(stopped) == sorted([polite.pid, stubborn.pid])
        polite.wait(timeout=10)  # ended by the SIGTERM
        assert stubborn.wait(timeout=10) == -9  # it ignored SIGTERM: killed
        assert other.poll() is None  # another session's process is not touched
        assert reap_session(session) == []
    finally:
        for p in (polite, stubborn, other):
            p.kill()
            p.wait()
