"""A loopback HTTP server that speaks the Anthropic Messages API, so the real `anthropic` client runs in tests.

    def policy(request: dict) -> dict | tuple[int, dict]:
        return message([tool_use("read_file", {"path": "app.py"})], stop_reason="tool_use")

    with MessagesAPI(policy) as api:            # api.url -> "http://127.0.0.1:PORT"
        os.environ["ANTHROPIC_BASE_URL"] = api.url
        ...
        api.requests                            # every request body the client sent, in order

A policy returns a response body (HTTP 200) or (status, body) for an error, e.g. `overloaded()`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MessagesAPI", "message", "tool_use", "text", "api_error", "overloaded", "Policy"]

Policy = Callable[[dict[str, Any]], "dict[str, Any] | tuple[int, dict[str, Any]]"]


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> dict[str, Any]:  # noqa: A002
    return {"type": "tool_use", "id": id or f"toolu_{uuid.uuid4().hex[:20]}", "name": name, "input": input}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def message(content: list[dict[str, Any]], *, stop_reason: str | None = None, model: str = "claude-sonnet-5",
            input_tokens: int = 1000, output_tokens: int = 200) -> dict[str, Any]:
    stop = stop_reason or ("tool_use" if any(c["type"] == "tool_use" for c in content) else "end_turn")
    return {
        "id": f"msg_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def api_error(status: int, kind: str, msg: str) -> tuple[int, dict[str, Any]]:
    return status, {"type": "error", "error": {"type": kind, "message": msg}}


def overloaded() -> tuple[int, dict[str, Any]]:
    return api_error(529, "overloaded_error", "Overloaded")


class MessagesAPI:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                if not self.path.rstrip("/").endswith("/v1/messages"):
                    return self._send(404, {"type": "error", "error": {"type": "not_found_error",
                                                                       "message": self.path}})
                with api._lock:
                    api.requests.append(body)
                    api.headers.append({k.lower(): v for k, v in self.headers.items()})
                try:
                    out = api.policy(body)
                except Exception as exc:  # a broken policy shows up as a 500 the client can report
                    out = api_error(500, "api_error", f"policy failed: {exc!r}")
                status, payload = out if isinstance(out, tuple) else (200, out)
                self._send(status, payload)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("request-id", f"req_{uuid.uuid4().hex[:12]}")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="messages-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MessagesAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MessagesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
