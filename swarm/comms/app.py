"""The comms ASGI app (Starlette): JSON API, Server-Sent Events and the pages.

    app = create_app(settings, database_url)           # uvicorn swarm.comms.app:... or `swarm comms serve`
    GET /api/agents/runs?limit=50                       # recent runs with status
    GET /api/agents/runs/{run}/messages?after=0&limit=100   # paged by id; `next` is the id to continue after
    GET /api/agents/events?runId=inv-1 | ?channel=general  # SSE; resumes after Last-Event-ID (or ?lastEventId=)
    GET /agents  /agents/general  /agents/{run}         # pages (see pages.py)

With `ingest=True` the app also runs the Postgres ingest in the background (one process for a laptop).
Bad input (a run id that is not one subject token, a non-numeric Last-Event-ID, a limit out of range)
gets 400 with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from swarm.bus.connect import Bus
from swarm.bus.names import Names
from swarm.bus.settings import Settings
from swarm.errors import ConfigError, InvalidInput

from . import pages
from .db import PG_ERRORS, CommsStore
from .events import event_json, message_feed, parse_last_id, sse_frame
from .ingest import CommsIngest
from .render import message_html

__all__ = ["create_app", "KEEPALIVE_S"]

KEEPALIVE_S = 15.0
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'"


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit() or not lo <= int(raw) <= hi:
        raise InvalidInput(f"query parameter {name} must be an integer from {lo} to {hi}, got {raw[:40]!r}")
    return int(raw)


def _run_id(names: Names, value: str) -> str:
    try:
        names.comms_run_all(value)  # validates: one NATS subject token
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return value


class _State:
    def __init__(self, settings: Settings, url: str, ingest: bool) -> None:
        self.settings, self.url, self.ingest_enabled = settings, url, ingest
        self.names = Names(settings.nats_namespace)
        self.store = CommsStore(url, self.names.ns)
        self.bus: Bus | None = None
        self.ingest: CommsIngest | None = None


def create_app(settings: Settings, database_url: str, ingest: bool = False) -> Starlette:
    """The app for one namespace; NATS is connected (and the ingest started) by the lifespan."""
    state = _State(settings, database_url, ingest)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.bus = await Bus.connect(settings, role="comms")
        stop = asyncio.Event()
        task = None
        if state.ingest_enabled:
            state.ingest = CommsIngest(state.bus, database_url)
            task = asyncio.create_task(state.ingest.run(stop), name="comms-ingest")
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await state.bus.close()

    async def guarded(request: Request, handler: Any) -> Response:
        try:
            return await handler(request)
        except InvalidInput as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except (*PG_ERRORS, ConfigError) as exc:
            return JSONResponse({"error": f"storage unavailable: {exc}"}, status_code=503)

    def route(path: str, handler: Any) -> Route:
        async def endpoint(request: Request) -> Response:
            response = await guarded(request, handler)
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            return response

        return Route(path, endpoint, methods=["GET"])

    async def runs(request: Request) -> Response:
        limit = _int(request, "limit", 50, 1, 1000)
        return JSONResponse({"namespace": state.names.ns, "runs": await state.store.runs(limit)})

    async def messages(request: Request) -> Response:
        run = _run_id(state.names, request.path_params["run"])
        after = _int(request, "after", 0, 0, 2**62)
        limit = _int(request, "limit", 100, 1, 1000)
        rows = await state.store.messages(run, after=after, limit=limit)
        nxt = rows[-1]["id"] if len(rows) == limit else None
        return JSONResponse({"run_id": run, "messages": rows, "next": nxt})

    async def events(request: Request) -> Response:
        params = request.query_params
        run = params.get("runId")
        channel = params.get("channel")
        if (run is None) == (channel is None) or (channel is not None and channel != "general"):
            raise InvalidInput("give exactly one of runId=<run id> or channel=general")
        if run is not None:
            run = _run_id(state.names, run)
        last = parse_last_id(request.headers.get("last-event-id") or params.get("lastEventId"))
        assert state.bus is not None
        feed = message_feed(state.bus, state.store, run_id=run, last_id=last)

        async def body() -> AsyncIterator[bytes]:
            yield b"retry: 1000\n\n"
            nxt = asyncio.ensure_future(anext(feed))
            try:
                while True:
                    done, _ = await asyncio.wait({nxt}, timeout=KEEPALIVE_S)
                    if not done:
                        yield b": keepalive\n\n"
                        continue
                    record = nxt.result()
                    yield sse_frame(record["id"], event_json(record | {"html": message_html(record)}))
                    nxt = asyncio.ensure_future(anext(feed))
            finally:
                nxt.cancel()
                with contextlib.suppress(BaseException):
                    await nxt
                await feed.aclose()

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    async def runs_page(request: Request) -> Response:
        return HTMLResponse(pages.runs_page(state.names.ns, await state.store.runs(200)))

    async def general_page(request: Request) -> Response:
        rows = await state.store.messages(None, after=0, limit=1000)
        return HTMLResponse(pages.channel_page(state.names.ns, None, rows, None))

    async def run_page(request: Request) -> Response:
        run = _run_id(state.names, request.path_params["run"])
        rows = await state.store.messages(run, after=0, limit=1000)
        assert state.bus is not None
        return HTMLResponse(pages.channel_page(state.names.ns, run, rows, await pages.fetch_result(state.bus, run)))

    async def script(request: Request) -> Response:
        return Response(pages.SCRIPT, media_type="text/javascript")

    async def style(request: Request) -> Response:
        return Response(pages.STYLE, media_type="text/css")

    async def health(request: Request) -> Response:
        ingest = state.ingest.counters.as_dict() | {"postgres_up": state.ingest.postgres_up} if state.ingest else None
        return JSONResponse({"namespace": state.names.ns, "ingest": ingest})

    routes = [
        route("/api/agents/runs", runs),
        route("/api/agents/runs/{run}/messages", messages),
        route("/api/agents/events", events),
        route("/api/agents/health", health),
        route("/agents", runs_page),
        route("/agents/static/comms.js", script),
        route("/agents/static/comms.css", style),
        route("/agents/general", general_page),
        route("/agents/{run}", run_page),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.comms = state
    return app
