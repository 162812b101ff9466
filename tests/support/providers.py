"""Loopback GitHub and GitLab REST servers that validate every request against the providers' published
API descriptions (the operations swarm uses, vendored in tests/data/provider_api.json with their source).

    with ProviderServer("github") as gh:           # gh.url is the api_url; gh.token the token to send
        ...                                         # swarm opens a pull request against it
        gh.settle(1, merged=True)                   # a reviewer merges it (or closes it: merged=False)
    gh.violations                                   # [] when every request matched the description
    gh.requests                                     # (operation id, path and query parameters, body) of each

A request is refused (HTTP 422, and recorded in `violations`) when its method and path match no
described operation, a path or query parameter is not described or does not validate against its
schema, the JSON body does not validate against the description's schema, or the token is missing.
The server keeps the pull requests it opened: listing filters them as the real APIs do (GitHub
`head=owner:branch`, `base`, `state`; GitLab `source_branch`, `target_branch`, `state`).
The descriptions do not forbid unknown body fields (the real APIs
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
from urllib.parse import parse_qsl, unquote

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


def _typed(value: str, schema: dict[str, Any]) -> Any:
    """A URL carries text: read it as the parameter's type (left as text when it is not one)."""
    kind = schema.get("type")
    if kind == "integer" and value.lstrip("-").isdigit():
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


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
        self.pulls: dict[int, dict[str, Any]] = {}  # number -> head, base, state ("open" | "closed"), merged
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
              ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(operation id, path and query parameters, body) of a valid request; ValueError naming what is
        wrong."""
        path, _, raw_query = raw_path.partition("?")
        found = next(((op_id, m) for op_id, op_method, pattern in self.routes
                      if op_method == method and (m := pattern.match(path))), None)
        if found is None:
            raise ValueError(f"{method} {path}: no such operation in the {self.provider} description")
        op_id, match = found
        op = self.operations[op_id]
        params: dict[str, Any] = {k: unquote(v) for k, v in match.groupdict().items()}
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        described = {p["name"]: p for p in op["parameters"]}
        for name in query:
            if name not in described or described[name]["in"] != "query":
                raise ValueError(f"{op_id}: query parameter {name!r} is not in the description")
        for param in op["parameters"]:
            where = param["in"]
            if where not in ("path", "query") or (where == "query" and param["name"] not in query):
                if where == "query" and param.get("required"):
                    raise ValueError(f"{op_id}: query parameter {param['name']} is required")
                continue
            value = (params if where == "path" else query)[param["name"]]
            schema = param.get("schema") or {k: param[k] for k in ("type", "enum", "items") if k in param}
            try:
                jsonschema.validate(_typed(value, schema), schema)
            except jsonschema.ValidationError as exc:
                raise ValueError(f"{op_id}: {where} parameter {param['name']}: {exc.message}") from exc
        params |= {k: v for k, v in query.items()}
        self._check_auth(op_id, headers)
        if method == "GET":
            if raw_body:
                raise ValueError(f"{op_id}: a GET with a body")
            return op_id, params, {}
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
    def settle(self, number: int, merged: bool) -> None:
        """A reviewer merges the pull request (or closes it without merging)."""
        with self._lock:
            self.pulls[number].update(state="closed", merged=merged)

    def answer(self, op_id: str, params: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.requests.append((op_id, params, body))
            if op_id in ("pulls/create", "postApiV4ProjectsIdMergeRequests"):
                self.numbers += 1
                head, base = (body["head"], body["base"]) if self.provider == "github" else (
                    body["source_branch"], body["target_branch"])
                self.pulls[self.numbers] = {"head": head, "base": base, "state": "open", "merged": False,
                                            "title": body["title"], "where": params.get("id") or
                                            f"{params['owner']}/{params['repo']}"}
                return 201, self._pull(self.numbers)
            if op_id == "issues/add-labels":
                return 200, [{"name": name} for name in body["labels"]]
            if op_id in ("pulls/get", "getApiV4ProjectsIdMergeRequestsMergeRequestIid"):
                n = int(params.get("pull_number") or params["merge_request_iid"])
                return (200, self._pull(n)) if n in self.pulls else (404, {"message": "Not Found"})
            return 200, [self._pull(n) for n in self.pulls if self._listed(n, params)]

    def _listed(self, n: int, query: dict[str, Any]) -> bool:
        pull = self.pulls[n]
        if self.provider == "github":
            state = query.get("state", "open")
            owner = str(pull["where"]).split("/")[0]
            return (state == "all" or state == pull["state"]) and (
                "head" not in query or query["head"] == f"{owner}:{pull['head']}") and (
                "base" not in query or query["base"] == pull["base"])
        state = query.get("state", "all")
        mine = "merged" if pull["merged"] else "opened" if pull["state"] == "open" else "closed"
        return (state == "all" or state == mine) and query.get("source_branch", pull["head"]) == pull["head"] and (
            query.get("target_branch", pull["base"]) == pull["base"])

    def _pull(self, n: int) -> dict[str, Any]:
        """A pull / merge request as the real APIs return it (the fields swarm reads)."""
        pull = self.pulls[n]
        merged_at = "2026-11-30T12:00:00Z" if pull["merged"] else None
        if self.provider == "github":
            return {"number": n, "state": pull["state"], "merged": pull["merged"], "merged_at": merged_at,
                    "title": pull["title"], "html_url": f"https://github.com/{pull['where']}/pull/{n}",
                    "head": {"ref": pull["head"]}, "base": {"ref": pull["base"]}}
        state = "merged" if pull["merged"] else "opened" if pull["state"] == "open" else "closed"
        return {"iid": n, "id": 1000 + n, "title": pull["title"], "state": state, "merged_at": merged_at,
                "source_branch": pull["head"], "target_branch": pull["base"],
                "web_url": f"https://gitlab.com/{pull['where']}/-/merge_requests/{n}"}

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
