"""A built repro calls the application's code with a report's production values: it must not reach the network
(a review's investigation POSTed the same order to a carrier's API 22 times). A real HTTP server on loopback
counts what reaches it; the repository's own tests still run with the network."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from agents import workspace
from agents.repro import Repro, run_repro_traced
from agents.workspace import repro_env, run_heavy


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_built_repro_cannot_reach_the_network_and_the_tests_can(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/book"
    try:
        (tmp_path / "shop").mkdir()
        (tmp_path / "shop" / "__init__.py").write_text("")
        (tmp_path / "shop" / "carrier.py").write_text(
            "import urllib.request\n\n\n"
            "def book(order_id, url):\n"
            "    return urllib.request.urlopen(urllib.request.Request(url, data=order_id.encode(), method='POST'))\n")
        code = f"from shop.carrier import book; book('order-77', {url!r})"
        shape = {"exc_type": "urllib.error.HTTPError", "message": "HTTP Error <n>: Service Unavailable",
                 "path": "shop/carrier.py", "function": "book"}
        repro = Repro("built", [sys.executable, "-c", code], "shop/carrier.py:book", shape=shape, timeout_s=60)
        run_repro_traced(tmp_path, repro)
        guarded = run_heavy(repro.args, tmp_path, timeout_s=60, env=repro_env())
        assert _Counting.hits == [], "a repro run reached the network"
        assert "ConnectionRefusedError" in guarded.output and "no network in a repro run" in guarded.output
        # the same call as the repository's tests run it: the network is there (the guard is what refused)
        plain = run_heavy(repro.args, tmp_path, timeout_s=60, env=workspace.test_env())
        assert _Counting.hits == ["/book"] and "HTTP Error 503" in plain.output, plain.output
        # an environment's own sitecustomize still loads under the guard
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "sitecustomize.py").write_text("import builtins\nbuiltins.SITE_LOADED = True\n")
        env = repro_env()
        env["PYTHONPATH"] += f":{tmp_path / 'site'}"
        loaded = run_heavy([sys.executable, "-c", "print(SITE_LOADED)"], tmp_path, timeout_s=60, env=env)
        assert loaded.output.strip() == "True", loaded.output
    finally:
        server.shutdown()
