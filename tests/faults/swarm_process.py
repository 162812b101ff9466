"""A `swarm run` of its own: the real CLI in a subprocess, with the Ray it starts itself.

    with SwarmProcess(settings, cfg, tmp_path, "--until-empty") as proc:
        proc.actor_pids("IntakeActor")      # the Ray workers it started, by actor class
        proc.kill(signal.SIGKILL)            # the driver only; `group=True`: its Ray and actors too
    proc.returncode, proc.stdout, proc.stderr
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from swarm.bus.settings import Settings
from swarm.config import SwarmConfig

ROOT = Path(__file__).resolve().parents[2]


class SwarmProcess:
    def __init__(self, settings: Settings, cfg: SwarmConfig, tmp_path: Path, *args: str) -> None:
        cfg_file = tmp_path / f"swarm-{time.monotonic_ns()}.yaml"
        cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")},
            "NATS_URL": settings.nats_url or "",
            "NATS_NAMESPACE": settings.nats_namespace,
            "SWARM_STREAMS_CONFIG": str(settings.swarm_streams_config),
            "PYTHONPATH": str(ROOT),
        }
        self.cmd = [sys.executable, "-m", "swarm.runtime", "--config", str(cfg_file), "--json", *args]
        self.cwd, self.out_path, self.err_path = tmp_path, tmp_path / "swarm.out", tmp_path / "swarm.err"
        self.proc: subprocess.Popen[bytes] | None = None
        self.group: list[psutil.Process] = []

    def start(self) -> SwarmProcess:
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, start_new_session=True,
                                     stdout=self.out_path.open("wb"), stderr=self.err_path.open("wb"))
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def descendants(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            self.group = list({p.pid: p for p in [*self.group, *psutil.Process(self.pid).children(recursive=True)]}
                              .values())
        return [p for p in self.group if p.is_running()]

    def actor_pids(self, actor_class: str) -> list[int]:
        """Ray workers hosting `actor_class` (Ray titles them `ray::<Class>...`)."""
        out = []
        for p in self.descendants():
            with contextlib.suppress(psutil.Error):
                if any(actor_class in part for part in p.cmdline()[:1]) or actor_class in p.name():
                    out.append(p.pid)
        return out

    def kill(self, sig: int, group: bool = False) -> None:
        """`sig` to the driver, or (group) to the driver and every process it started (its Ray)."""
        targets = [self.pid] + ([p.pid for p in self.descendants()] if group else [])
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def cleanup(self) -> None:
        """Nothing of this swarm outlives the test: SIGCONT (if stopped), then SIGKILL to all of it."""
        procs = self.descendants()
        self.kill(signal.SIGCONT, group=True)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()

    def __enter__(self) -> SwarmProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


def tail(proc: SwarmProcess, n: int = 3000) -> str:
    """The end of the run's stderr, after the opening of its last traceback (whose first frames name our
    code: the end of a long one shows only the library's)."""
    err = proc.stderr
    at = err.rfind("Traceback")
    opening = err[at: at + n] + "\n[...]\n" if 0 <= at < len(err) - n else ""
    return opening + err[-n:]


