"""The control plane of a running swarm: a nats micro service, request-reply on `{ns}.svc.<endpoint>`.

    control = await ControlService(runtime).start()    # in the driver (SwarmRuntime.start)
    reply = await control_request(bus, "pause")        # any NATS client: `nats req {ns}.svc.pause ''`
    services = await ping(bus)                         # `$SRV.PING.swarm-control`: who answers

Endpoints (JSON bodies, JSON replies; a failure is a micro error reply with code and description):

- `status`: paused or not, intake counters, what waits in the error streams, pool sizes, the budget;
- `pause` / `resume`: intake stops fetching (in-flight investigations continue; nothing is lost:
  reports wait in their streams) / fetches again;
- `cancel` `{"investigation_id": ID, "reason": "..."}`: the investigation stops at its next step and
  ends with a `failed` Result saying it was cancelled; when no orchestrator runs it, an error reply (400)
  says whether the id is unknown, already finished, or open but between attempts;
- `approve` / `reject` `{"investigation_id": ID, "by": "alice", "reason": "..."}`: the decision on a fix
  that awaits approval (swarm.delivery.approval); the waiting orchestrator audits it and goes on;
- `budget`: the swarm-wide budget (admissions, spend over the last hour).

The service is discoverable with `$SRV.PING` / `$SRV.INFO` (its metadata names the namespace).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import nats.errors
from nats import micro
from nats.micro.request import Request
from nats.micro.service import Service

from swarm.bus.connect import Bus
from swarm.delivery.approval import decide, latest_key
from swarm.errors import ControlRefused, InvalidInput, NatsUnavailable, StateNotFound
from swarm.runtime.lease import TERMINAL
from swarm.state import PeerStateStore

if TYPE_CHECKING:
    from swarm.runtime.app import SwarmRuntime

__all__ = ["ControlService", "PauseSwitch", "control_request", "ping"]

log = logging.getLogger("swarm.runtime.control")
VERSION = "1.0.0"
ROLE_CANCEL_WAIT_S = 10.0  # how long a cancel waits on each research / implement / review actor
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class PauseSwitch:
    """Where an intake actor's fetch loops park while the control plane has paused intake."""

    def __init__(self) -> None:
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.parked = 0  # fetch loops waiting out a pause

    @property
    def paused(self) -> bool:
        return not self.resumed.is_set()

    async def park(self) -> None:
        if self.resumed.is_set():
            return
        self.parked += 1
        try:
            await self.resumed.wait()
        finally:
            self.parked -= 1

    async def pause(self, loops: int, timeout_s: float) -> int:
        """Pause; return once `loops` fetch loops are parked (a fetch in flight finishes first), so nothing
        published after the pause is taken until `resume` (or after `timeout_s`, however many parked)."""
        self.resumed.clear()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.parked < loops and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        return self.parked

    def resume(self) -> None:
        self.resumed.set()


class ControlService:
    def __init__(self, runtime: SwarmRuntime) -> None:
        self.runtime = runtime
        self.service: Service | None = None
        self.paused = False

    async def start(self) -> ControlService:
        bus = self.runtime.bus
        assert bus is not None
        names = bus.names
        self.service = await micro.add_service(
            bus.nc, name=names.control_service, version=VERSION,
            description=f"control of the swarm of namespace {names.ns}", metadata={"namespace": names.ns},
        )
        handlers: dict[str, Handler] = {
            "status": self.status, "pause": self.pause, "resume": self.resume,
            "cancel": self.cancel, "budget": self.budget, "approve": self.approve, "reject": self.reject,
        }
        for endpoint, handler in handlers.items():
            await self.service.add_endpoint(name=endpoint, subject=names.control(endpoint), handler=_json(handler))
        return self

    async def stop(self) -> None:
        if self.service is not None:
            try:
                await self.service.stop()
            except Exception as exc:  # noqa: BLE001 - the connection may be gone at shutdown
                log.debug("control service stop: %r", exc)

    # endpoints ---------------------------------------------------------------------------
    async def status(self, _: dict[str, Any]) -> dict[str, Any]:
        runtime = self.runtime
        assert runtime.bus is not None
        counters, pending, budget = await asyncio.gather(runtime.counters(), runtime.pending(),
                                                         runtime.budget_status())
        return {"namespace": runtime.bus.names.ns, "paused": self.paused, "counters": counters,
                "pending": pending, "pools": runtime.sizes(), "budget": budget}

    async def pause(self, _: dict[str, Any]) -> dict[str, Any]:
        """Returns once every intake actor stopped fetching (a fetch in flight has finished)."""
        await asyncio.gather(*(a.pause.remote() for a in self.runtime.intake))
        self.paused = True
        return {"paused": True, "intake_actors": len(self.runtime.intake)}

    async def resume(self, _: dict[str, Any]) -> dict[str, Any]:
        await asyncio.gather(*(a.resume.remote() for a in self.runtime.intake))
        self.paused = False
        return {"paused": False, "intake_actors": len(self.runtime.intake)}

    async def cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        inv = body.get("investigation_id")
        if not isinstance(inv, str) or not inv:
            raise InvalidInput("cancel needs {\"investigation_id\": \"inv-...\"}")
        reason = str(body.get("reason") or "cancelled by an operator")
        found = False
        for role, pool in self.runtime.pools.items():
            # the orchestrators say whether it runs; a role actor's cancel only hurries its phase along (the
            # investigation stops at its next step anyway), so it is not waited on for long
            wait_s = None if role == "orchestrator" else ROLE_CANCEL_WAIT_S
            calls = [asyncio.wait_for(a.cancel.remote(inv, reason), wait_s) for a in pool.actors.values()]
            got = await asyncio.gather(*calls, return_exceptions=True)
            found = found or (role == "orchestrator" and any(g is True for g in got))
        if not found:  # nothing was cancelled: say why, from the investigation's PEER state
            raise InvalidInput(await self._not_running(inv))
        return {"investigation_id": inv, "cancelled": True, "reason": reason}

    async def _not_running(self, inv: str) -> str:
        """Why no orchestrator runs `inv`: unknown, already finished, or open but between attempts."""
        assert self.runtime.bus is not None
        store = PeerStateStore(self.runtime.bus)
        try:
            state, _ = await store.read(await latest_key(store, self.runtime.bus.names, inv))
        except StateNotFound:
            return (f"{inv!r} is not a known open investigation in namespace {self.runtime.bus.names.ns!r} "
                    "(no PEER state: an unknown id, or one not started yet): nothing to cancel")
        status = state.metadata.status
        if status in TERMINAL:
            return f"investigation {inv!r} already finished ({status.value}): nothing to cancel"
        return (f"investigation {inv!r} is open ({status.value}) but no orchestrator is running it now "
                "(it waits for its report's redelivery): nothing to cancel")

    async def approve(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._decide(body, approved=True)

    async def reject(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._decide(body, approved=False)

    async def _decide(self, body: dict[str, Any], approved: bool) -> dict[str, Any]:
        inv, by = body.get("investigation_id"), body.get("by")
        if not isinstance(inv, str) or not inv:
            raise InvalidInput("approve/reject need {\"investigation_id\": \"inv-...\", \"by\": \"who\"}")
        if not isinstance(by, str) or not by:
            raise InvalidInput("approve/reject need `by`: who decides (it is audited)")
        assert self.runtime.bus is not None
        try:
            return await decide(PeerStateStore(self.runtime.bus), self.runtime.bus.names, inv, approved=approved,
                                by=by, reason=str(body.get("reason") or ""))
        except StateNotFound as exc:
            raise InvalidInput(str(exc)) from exc

    async def budget(self, _: dict[str, Any]) -> dict[str, Any]:
        return await self.runtime.budget_status()


def _json(handler: Handler) -> Callable[[Request], Awaitable[None]]:
    async def serve(req: Request) -> None:
        try:
            body = json.loads(req.data) if req.data else {}
            if not isinstance(body, dict):
                raise InvalidInput("the request body must be a JSON object")
            reply = await handler(body)
        except json.JSONDecodeError as exc:
            await req.respond_error("400", f"invalid JSON body: {exc}")
        except InvalidInput as exc:
            await req.respond_error("400", str(exc))
        except Exception as exc:  # noqa: BLE001 - the caller gets the reason instead of a timeout
            log.warning("control %s failed: %r", req.subject, exc)
            await req.respond_error("500", f"{type(exc).__name__}: {exc}")
        else:
            await req.respond(json.dumps(reply, default=str).encode())

    return serve


async def control_request(bus: Bus, endpoint: str, body: dict[str, Any] | None = None,
                          timeout_s: float = 30.0) -> dict[str, Any]:
    """Ask the running swarm of this namespace; ControlRefused when it answers with an error."""
    subject = bus.names.control(endpoint)
    try:
        msg = await bus.nc.request(subject, json.dumps(body or {}).encode(), timeout=timeout_s)
    except nats.errors.NoRespondersError as exc:
        raise NatsUnavailable(f"no swarm answers on {subject}: is `swarm run` running in namespace "
                              f"{bus.names.ns!r}?") from exc
    except TimeoutError as exc:
        raise NatsUnavailable(f"the swarm did not answer on {subject} within {timeout_s}s") from exc
    headers = msg.headers or {}
    if "Nats-Service-Error-Code" in headers:
        raise ControlRefused(f"{endpoint}: {headers.get('Nats-Service-Error')} "
                           f"(code {headers['Nats-Service-Error-Code']})")
    return dict(json.loads(msg.data))


async def ping(bus: Bus, wait_s: float = 0.5, all_namespaces: bool = False) -> list[dict[str, Any]]:
    """`$SRV.PING.<control service>`: every control service that answers within `wait_s` (this
    namespace's only, unless `all_namespaces`), with its INFO (endpoints and their subjects)."""
    nc, names = bus.nc, bus.names
    inbox = nc.new_inbox()
    replies: list[dict[str, Any]] = []
    sub = await nc.subscribe(inbox)
    try:
        await nc.publish(names.control_ping, b"", reply=inbox)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            if not msg.data:  # a status reply (e.g. 503 no responders), not a service's answer
                continue
            try:
                replies.append(json.loads(msg.data))
            except ValueError:
                continue  # not a micro PING answer
    finally:
        await sub.unsubscribe()
    found = [r for r in replies if all_namespaces or (r.get("metadata") or {}).get("namespace") == names.ns]
    for service in found:
        info = await nc.request(names.control_info(service["id"]), b"", timeout=5)
        service["endpoints"] = json.loads(info.data).get("endpoints", [])
    return found

