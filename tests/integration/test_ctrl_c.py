"""Ctrl-C, one rule for every command (README, "The CLI"): a command that follows something until stopped
(`errors tail`, `events tail`, `state watch`) ends on it with exit 0, as it ends on `--count`; a command with
work left (`control ping --wait`, `investigate`) is interrupted: exit 130. At any moment, also while the command
still imports its area (Ray takes seconds), one line and never a traceback."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import SWARM

pytestmark = pytest.mark.timeout(180)

# the console script's `from swarm.cli import main` interrupted before swarm.cli set its handler: the script's
# frame, then only frames of swarm/cli.py above the line that sets it and of the modules those lines import
_BEFORE_OUR_CODE = re.compile(r'Traceback \(most recent call last\):\n  File "[^"\n]*[/\\]swarm", line \d+, in '
                              r'<module>\n    from swarm\.cli import main\n(?:    \^+\n)?(?P<rest>(?:.*\n)*?)'
                              r'KeyboardInterrupt\n?')
_CLI = Path(__file__).resolve().parents[2] / "swarm" / "cli.py"
_HANDLER_LINE = next(i for i, line in enumerate(_CLI.read_text(encoding="utf-8").splitlines(), 1)
                     if "SWARM_SIGINT_SET_HERE" in line)


def _before_our_code(err: str) -> bool:
    """The signal landed before swarm.cli could handle it: no frame of swarm's past the handler's line."""
    m = _BEFORE_OUR_CODE.fullmatch(err)
    if m is None:
        return False
    frames = re.findall(r'  File "([^"\n]*)", line (\d+), in ', m["rest"])
    return all(not re.search(r"[/\\](swarm|agents)[/\\]", path) or
               (path.replace("\\", "/").endswith("swarm/cli.py") and int(line) <= _HANDLER_LINE)
               for path, line in frames)

FOLLOWERS = {
    "errors-tail": ["errors", "tail", "--env", "production"],
    "events-tail": ["events", "tail"],
    "state-watch": ["state", "watch"],
}


@pytest.mark.parametrize("command", FOLLOWERS.values(), ids=FOLLOWERS.keys())
def test_a_follower_stopped_by_ctrl_c_exits_0(cli_env, bus, command: list[str]) -> None:
    proc = subprocess.Popen([SWARM, *command], env=os.environ | cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        said, deadline = "", time.monotonic() + 60
        while "Ctrl-C" not in said:  # it says it follows once its subscription or watch is set up
            ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"{command} never said it follows (Ctrl-C to stop): {said}"
            line = proc.stderr.readline()
            assert line, f"{command} ended before it followed anything: {said}"
            said += line
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, said + err
    assert "Traceback" not in err and "error" not in err.lower(), err


@pytest.mark.parametrize("after_s", [0.05, 0.4, 1.5, 4.0])
def test_a_command_with_work_left_interrupted_at_any_moment_exits_130_in_one_line(cli_env, bus,
                                                                                   after_s: float) -> None:
    """No swarm answers this namespace's pings: the command waits, and is interrupted while Python starts, while
    it imports its area, while it connects or while it waits, depending on the moment (the input here). A signal
    that lands inside CPython's own start-up, before any program's code runs ("Fatal Python error:
    init_import_site", exit 1: no program can handle it; seen on a fresh clone's first run), or inside the import
    machinery while the console script pip wrote looks up `swarm.cli` (its own line the only frame: not one line
    of swarm had run; seen once in CI), is sent again."""
    for _ in range(3):
        proc = subprocess.Popen([SWARM, "control", "ping", "--wait", "30"], env=os.environ | cli_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(after_s)
            assert proc.poll() is None, proc.communicate()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        if "Fatal Python error: init_import_site" not in err and not _before_our_code(err):
            break
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2, err
