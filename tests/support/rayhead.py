"""A real Ray head for cluster tests, apart from the session's local Ray: `ray start --head` on free ports,
its own temp dir and token, stopped by the process ids it started (never `ray stop`, which would stop
every Ray on the machine).

    head = RayHead(num_cpus=4).start()
    head.dashboard     # http://127.0.0.1:<port>, for `ray job submit --address` / `swarm submit --address`
    head.env()         # the environment a client of this head needs (token auth on, this head's token)
    head.stop()
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

BIN = Path(sys.executable).parent


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class RayHead:
    def __init__(self, num_cpus: float = 4, extra_args: list[str] | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.num_cpus, self.extra_args, self.extra_env = num_cpus, extra_args or [], extra_env or {}
        self.tmp = Path(tempfile.mkdtemp(prefix="rh-", dir="/tmp"))  # short: Ray's socket paths are length-limited
        self.token_path = self.tmp / "auth_token"
        self.token_path.write_text(secrets.token_hex(32))
        (self.port, self.dash_port, self.client_port, self.agent_port, self.agent_grpc, self.metrics_port,
         self.renv_port, self.nm_port, self.om_port) = free_ports(9)
        self.dashboard = f"http://127.0.0.1:{self.dash_port}"
        self.gcs = f"127.0.0.1:{self.port}"

    @staticmethod
    def client_env() -> dict[str, str]:
        """This environment without any Ray address or auth setting, this interpreter's tools first on PATH."""
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        return env

    def env(self, token_mode: bool = True) -> dict[str, str]:
        """A client's environment: this head's token; RAY_AUTH_MODE=token as the README says for `ray job`."""
        env = self.client_env()
        env["RAY_AUTH_TOKEN_PATH"] = str(self.token_path)
        if token_mode:
            env["RAY_AUTH_MODE"] = "token"
        return env

    def start(self, timeout_s: float = 120) -> RayHead:
        args = [
            str(BIN / "ray"), "start", "--head", f"--num-cpus={self.num_cpus}", "--node-ip-address=127.0.0.1",
            f"--port={self.port}", f"--dashboard-port={self.dash_port}", "--dashboard-host=127.0.0.1",
            f"--ray-client-server-port={self.client_port}", f"--dashboard-agent-listen-port={self.agent_port}",
            f"--dashboard-agent-grpc-port={self.agent_grpc}", f"--metrics-export-port={self.metrics_port}",
            f"--runtime-env-agent-port={self.renv_port}", f"--node-manager-port={self.nm_port}",
            f"--object-manager-port={self.om_port}", f"--temp-dir={self.tmp}", "--include-dashboard=true",
            "--disable-usage-stats", *self.extra_args,
        ]
        # like a cluster's head: not in this checkout, no PYTHONPATH to it (a test's local Ray sets one): the code a
        # client's job or Ray Client driver uses reaches the workers only if the client ships it
        env = self.env() | {"RAY_USAGE_STATS_ENABLED": "0"} | self.extra_env
        env.pop("PYTHONPATH", None)
        for attempt in (1, 2):
            proc = subprocess.run(args, env=env, cwd=self.tmp, capture_output=True, text=True, timeout=timeout_s)
            if proc.returncode == 0:
                break
            self._end_processes()  # its directory (token, configs) stays for the second start
            # Ray's own start-up deadline (its GCS not answering within ~30 s on a busy machine) is Ray's, not
            # the test's: one more start, from clean; any other failure, or a second one, fails the test
            if attempt == 2 or "timed out during startup" not in proc.stdout + proc.stderr:
                self.stop()
                raise RuntimeError(f"ray start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        self.wait_dashboard(timeout_s)
        return self

    def request(self, path: str) -> Any:
        req = urllib.request.Request(self.dashboard + path,
                                     headers={"Authorization": f"Bearer {self.token_path.read_text()}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read() or b"null")

    def wait_dashboard(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.request("/api/version")
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the Ray dashboard at {self.dashboard} did not answer: {exc}") from exc
                time.sleep(0.5)

    def processes(self) -> list[psutil.Process]:
        """The processes of this head: every Ray process whose command line names its temp dir or GCS port,
        and their children."""
        mine = []
        marks = (str(self.tmp), f":{self.port}", f"--gcs-address={self.gcs}", f"--gcs_server_port={self.port}")
        for proc in psutil.process_iter(["pid", "cmdline"]):
            with contextlib.suppress(psutil.Error):
                cmd = " ".join(proc.info["cmdline"] or [])
                if proc.pid != os.getpid() and any(m in cmd for m in marks):
                    mine.append(proc)
        kids = []
        for proc in mine:
            with contextlib.suppress(psutil.Error):
                kids += proc.children(recursive=True)
        return list({p.pid: p for p in mine + kids}.values())

    def stop(self) -> None:
        self._end_processes()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _end_processes(self) -> None:
        procs = self.processes()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)
