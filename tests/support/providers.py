"""Loopback GitHub and GitLab REST servers that validate every request against the providers' published
API descriptions (the operations swarm uses, vendored in tests/data/provider_api.json with their source).

    with ProviderServer("github") as gh:           # gh.url is the api_url; gh.token the token to send
        ...                                         # swarm opens a pull request against it
    gh.violations                                   # [] when every request matched the description
    gh.requests                                     # (operation id, path parameters, body) of each request

A request is refused (HTTP 422, and recorded in `violations`) when its method and path match no
described operation, a path parameter or the JSON body does not validate against the description's
schema, or the token is missing. The descriptions do not forbid unknown body fields (the real APIs
ignore them); this server does, so a misspelt field fails the test instead of being silently dropped.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema

DESCRIPTIONS = json.loads((Path(__file__).resolve().parents[1] / "data" / "provider_api.json").read_text())


def strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that lists its properties."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def _route(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


class ProviderServer:
    def __init__(self, provider: str, token: str = "test-token") -> None:
        self.provider, self.token = provider, token
        self.operations = DESCRIPTIONS[provider]["operations"]
        self.routes = [(op_id, op["method"], _route(op["path"])) for op_id, op in self.operations.items()]
        self.violations: list[str] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.numbers = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ProviderServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # validation ------------------------------------------------------------------------
    def check(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
              ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(operation id, path parameters, body) of a valid request; ValueError naming what is wrong."""
        path = raw_path.split("?", 1)[0]
        found = next(((op_id, m) for op_id, op_method, pattern in self.routes
                      if op_method == method and (m := pattern.match(path))), None)
        if found is None:
            raise ValueError(f"{method} {path}: no such operation in the {self.provider} description")
        op_id, match = found
        op = self.operations[op_id]
        params = {k: unquote(v) for k, v in match.groupdict().items()}
        for param in op["parameters"]:
            if param["in"] != "path":
                continue
            schema = param.get("schema") or {"type": param.get("type", "string")}
            value: Any = params[param["name"]]
            if schema.get("type") == "integer" and value.isdigit():  # a URL carries text: read it as the type
                value = int(value)
            try:
                jsonschema.validate(value, schema)
            except jsonschema.ValidationError as exc:
                raise ValueError(f"{op_id}: path parameter {param['name']}: {exc.message}") from exc
        self._check_auth(op_id, headers)
        if not headers.get("content-type", "").startswith("application/json"):
            raise ValueError(f"{op_id}: content-type {headers.get('content-type')!r}, expected application/json")
        try:
            body = json.loads(raw_body or b"null")
        except ValueError as exc:
            raise ValueError(f"{op_id}: body is not JSON: {exc}") from exc
        errors = sorted(jsonschema.Draft7Validator(strict(op["requestBody"]["schema"])).iter_errors(body), key=str)
        if errors:
            where = lambda e: "/".join(map(str, e.absolute_path)) or "body"  # noqa: E731
            raise ValueError(f"{op_id}: " + "; ".join(f"{where(e)}: {e.message}" for e in errors))
        return op_id, params, body

    def _check_auth(self, op_id: str, headers: dict[str, str]) -> None:
        if self.provider == "github":
            if headers.get("authorization") != f"Bearer {self.token}":
                raise ValueError(f"{op_id}: missing or wrong Authorization bearer token")
            if headers.get("accept") != "application/vnd.github+json":
                raise ValueError(f"{op_id}: Accept must be application/vnd.github+json")
        elif headers.get("private-token") != self.token:
            raise ValueError(f"{op_id}: missing or wrong PRIVATE-TOKEN")

    # answers (the fields swarm reads, as the real APIs return them) -----------------------
    def answer(self, op_id: str, params: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.requests.append((op_id, params, body))
            if op_id == "pulls/create":
                self.numbers += 1
                n = self.numbers
                return 201, {"number": n, "state": "open", "title": body["title"],
                             "html_url": f"https://github.com/{params['owner']}/{params['repo']}/pull/{n}",
                             "head": {"ref": body["head"]}, "base": {"ref": body["base"]}}
            if op_id == "issues/add-labels":
                return 200, [{"name": name} for name in body["labels"]]
            self.numbers += 1
            n = self.numbers
            return 201, {"iid": n, "id": 1000 + n, "title": body["title"], "state": "opened",
                         "source_branch": body["source_branch"], "target_branch": body["target_branch"],
                         "labels": body.get("labels", []),
                         "web_url": f"https://gitlab.com/{params['id']}/-/merge_requests/{n}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    op_id, params, body = server.check(self.command, self.path, headers, raw)
                except ValueError as exc:
                    with server._lock:
                        server.violations.append(str(exc))
                    self._send(422, {"message": "Validation Failed", "errors": [str(exc)]})
                    return
                self._send(*server.answer(op_id, params, body))

            do_GET = do_PUT = do_PATCH = do_DELETE = do_POST  # noqa: N815 - unknown operations are violations

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
