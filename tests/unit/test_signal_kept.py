"""`swarm run` traps SIGTERM to drain; ray.init (inside SwarmRuntime.start) installs its own handler that exits
at once. A SIGTERM during the rest of start-up (intake already fetching) must still drain: the handler the
process installed before ray.init is back after it. A process that installed none keeps Ray's."""

from __future__ import annotations

import signal
from typing import Any

from swarm.runtime.raycluster import signal_handlers_kept


def _exit_at_once(signum: int, frame: Any) -> None:  # what ray.init installs, in spirit
    raise SystemExit(signum)


def _drain(signum: int, frame: Any) -> None:
    pass


def test_a_trapped_sigterm_stays_trapped_through_ray_init_and_an_untrapped_one_is_left_alone() -> None:
    before = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _drain)
        with signal_handlers_kept():
            signal.signal(signal.SIGTERM, _exit_at_once)
        assert signal.getsignal(signal.SIGTERM) is _drain

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with signal_handlers_kept():
            signal.signal(signal.SIGTERM, _exit_at_once)
        assert signal.getsignal(signal.SIGTERM) is _exit_at_once
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_local_rays_processes_start_in_a_session_of_their_own_and_a_ray_without_the_hook_still_starts(
    monkeypatch, caplog
) -> None:
    """What keeps a SIGTERM to `swarm run`'s process group off the local Ray (the fault suite runs the whole
    story): a process Ray spawns within the block leads a session of its own; outside it, Ray's own way."""
    import subprocess

    from ray._private import services

    from swarm.runtime.raycluster import ray_processes_in_own_session

    def session_of_child() -> tuple[int, int]:
        child = services.ConsolePopen(["sh", "-c", "ps -o sid= -p $$"], stdout=subprocess.PIPE, text=True)
        return int(child.communicate()[0]), child.pid

    with ray_processes_in_own_session():
        sid, pid = session_of_child()
    assert sid == pid
    sid, pid = session_of_child()
    assert sid != pid and services.ConsolePopen.__name__ == "ConsolePopen"  # put back as it was
    monkeypatch.delattr(services, "ConsolePopen")
    with ray_processes_in_own_session():
        pass
    assert "starts its processes another way" in caplog.text
