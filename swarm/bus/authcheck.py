"""`swarm nats auth check`: connect as each role and prove its grants hold and everything else is refused.

    report = await check_namespace(settings, streams_cfg)       # SWARM_NATS_AUTH, NATS_URL, NATS_NAMESPACE
    report["ok"], report["roles"]["reporter"]["failures"]

Every role is probed with every subject any role of the namespace is granted, plus another namespace's
subjects and the full wildcard: a probe the role's allow-list covers must be accepted, any other must be
refused by the server (a permissions violation). Probes cannot change anything: a publish carries
`Nats-Expected-Stream` naming no stream (JetStream refuses to store it), a JetStream API request has a
malformed body and an API level no server has (refused before it acts), an ack names no delivery. A
subscription probe is undone as soon as the server has answered. Core subscribers of a probed subject
(`swarm errors tail`, the health monitor) do see the probe and ignore it as invalid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from swarm.bus.connect import Bus, Refusals
from swarm.bus.names import HDR_EXPECTED_STREAM, HDR_REQUIRED_API_LEVEL, Names, kv_subjects
from swarm.bus.permissions import allows, role_grants
from swarm.bus.provision import StreamsConfig
from swarm.bus.settings import Settings
from swarm.errors import ConfigError, SwarmError

__all__ = ["Probe", "probes_for", "check_role", "check_namespace", "PROBE_TOKEN"]

PROBE_TOKEN = "swarm-auth-check"
_PROBE_HEADERS = {HDR_EXPECTED_STREAM: PROBE_TOKEN.upper(), HDR_REQUIRED_API_LEVEL: "999"}
_PROBE_BODY = b"{"  # not JSON: a JetStream API handler refuses it before acting


@dataclass
class Probe:
    action: Literal["publish", "subscribe"]
    subject: str
    expected: bool  # True: the role's grants cover it
    why: str
    held: bool | None = None  # True: the server accepted it

    @property
    def ok(self) -> bool:
        return self.held == self.expected


def _concrete(pattern: str) -> str:
    return ".".join(PROBE_TOKEN if t in ("*", ">") else t for t in pattern.split("."))


def probes_for(names: Names, cfg: StreamsConfig, role: str, roles: list[str], other: str) -> list[Probe]:
    """The probes of `role`: every grant of every role of the namespace, another namespace, everything."""
    own = role_grants(names, cfg, role)
    seen: set[tuple[str, str]] = set()
    out: list[Probe] = []

    def add(action: Literal["publish", "subscribe"], subject: str, why: str) -> None:
        if (action, subject) in seen:
            return
        seen.add((action, subject))
        patterns = own.publish if action == "publish" else own.subscribe
        out.append(Probe(action, subject, allows(patterns, subject), why))

    for r in [role, *(x for x in roles if x != role)]:
        g = role_grants(names, cfg, r)
        for subject in g.publish:
            add("publish", _concrete(subject), f"granted to {r}")
        for subject in g.subscribe:
            add("subscribe", subject, f"granted to {r}")
    add("publish", names.result("fixed", PROBE_TOKEN), "a fixed Result (forged, unless the orchestrator's)")
    foreign = Names(other)
    foreign_kv = _concrete(kv_subjects(foreign.peer_bucket))
    for subject in [foreign.errors(), foreign.result("fixed", PROBE_TOKEN), foreign_kv]:
        add("publish", subject, f"namespace {other}")
    add("subscribe", foreign.all, f"namespace {other}")
    add("subscribe", ">", "every subject of the account")
    return out


async def check_role(settings: Settings, role: str, probes: list[Probe]) -> dict[str, Any]:
    """Connect as `role`, run its probes; a summary with every probe that did not behave as granted."""
    try:
        bus = await Bus.connect(settings, role=role, refusals=Refusals(role, quiet=True))
    except SwarmError as exc:
        return {"role": role, "connected": False, "error": str(exc), "held": 0, "refused": 0,
                "failures": [], "probes": []}
    try:
        for p in probes:
            if p.action == "publish":
                await bus.nc.publish(p.subject, _PROBE_BODY, headers=_PROBE_HEADERS)
        subs = [await bus.nc.subscribe(p.subject) for p in probes if p.action == "subscribe"]
        await bus.roundtrip()  # every permissions violation is in
        for sub in subs:
            await sub.unsubscribe()
        await bus.roundtrip()
    finally:
        await bus.close()
    for p in probes:
        p.held = not bus.refusals.refused("publish" if p.action == "publish" else "subscription", p.subject)
    return {
        "role": role,
        "connected": True,
        "held": sum(1 for p in probes if p.expected and p.ok),
        "expected_held": sum(1 for p in probes if p.expected),
        "refused": sum(1 for p in probes if not p.expected and p.ok),
        "expected_refused": sum(1 for p in probes if not p.expected),
        "failures": [asdict(p) for p in probes if not p.ok],
        "probes": [asdict(p) for p in probes],
    }


async def check_namespace(settings: Settings, cfg: StreamsConfig, roles: list[str] | None = None) -> dict[str, Any]:
    """Probe every role of the settings' namespace (the roles the auth directory has users for)."""
    if settings.swarm_nats_auth is None:
        raise ConfigError("SWARM_NATS_AUTH is not set: point it at the directory of `swarm nats auth generate`")
    from swarm.bus.auth import AuthDir

    auth = AuthDir(settings.swarm_nats_auth)
    names = Names(settings.nats_namespace)
    known = auth.manifest["namespaces"].get(names.ns)
    if known is None:
        auth.credentials(names.ns, "operator")  # raises the clear 'no account' error
    all_roles = list(known["users"])
    chosen = roles or all_roles
    unknown = [r for r in chosen if r not in all_roles]
    if unknown:
        raise ConfigError(f"no user for role(s) {', '.join(unknown)} in namespace {names.ns!r}")
    other = next((ns for ns in auth.manifest["namespaces"] if ns != names.ns), PROBE_TOKEN)
    results = [await check_role(settings, r, probes_for(names, cfg, r, all_roles, other)) for r in chosen]
    ok = all(r["connected"] and not r["failures"] for r in results)
    # a server started without accounts takes any credentials and refuses nothing: say that, once
    connected = [r for r in results if r["connected"] and r["expected_refused"]]
    enforced = not connected or any(r["refused"] for r in connected)
    return {"namespace": names.ns, "server": settings.nats_url, "ok": ok, "enforced": enforced,
            "roles": {r["role"]: r for r in results}}
