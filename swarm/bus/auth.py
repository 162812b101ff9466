"""A shared nats-server that tenants cannot cross: one account per namespace, one NKey user per role.

    cfg = load_auth_config("configs/auth.yaml")
    out = generate(cfg, Path(".swarm/auth"), load_streams_config("configs/streams.yaml"), tls=True)
    out.server_config          # nats-server -c .swarm/auth/nats-server.conf
    creds = AuthDir(Path(".swarm/auth")).credentials("payments", "reporter")
    creds.seed, creds.public_key, creds.ca                          # what a reporter connects with

The directory written by `generate` (point `SWARM_NATS_AUTH` at it and every swarm process connects
with its role's seed):

    nats-server.conf         accounts { PAYMENTS { jetstream, users [ {nkey, permissions} ... ] } }, tls
    auth.json                namespaces -> account and role -> public key; the CA when TLS is on
    <ns>/<role>.nk           the user's NKey seed (mode 0600)
    tls/ca.pem ...           private CA and server certificate (with --tls)

Accounts isolate namespaces (subjects and JetStream are per account); inside an account each role's
user has allow-lists for publish and subscribe from `swarm.bus.permissions`. Seeds are kept across
runs of `generate` (clients keep working); the server configuration is rewritten every time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys
from pydantic import BaseModel, Field, ValidationError, field_validator

from swarm.bus.names import Names
from swarm.bus.permissions import ROLES, role_grants
from swarm.bus.provision import StreamsConfig
from swarm.bus.settings import validate_namespace
from swarm.bus.tls import write_tls
from swarm.errors import ConfigError, explain
from swarm.files import read_yaml

__all__ = ["AuthConfig", "TlsConfig", "load_auth_config", "generate", "Generated", "AuthDir", "Credentials"]

SERVER_CONFIG = "nats-server.conf"
MANIFEST = "auth.json"


class TlsConfig(BaseModel):
    enabled: bool = False
    hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost"], min_length=1)
    valid_days: int = Field(default=365, ge=1)


class AuthConfig(BaseModel):
    namespaces: list[str] = Field(min_length=1)
    roles: list[str] = Field(default_factory=lambda: list(ROLES))
    tls: TlsConfig = Field(default_factory=TlsConfig)

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(validate_namespace(v) for v in value))

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}: expected some of {', '.join(ROLES)}")
        return list(dict.fromkeys(value))


def load_auth_config(path: str | Path) -> AuthConfig:
    path = Path(path)
    try:
        return AuthConfig.model_validate(read_yaml(path, "auth config"))
    except ValidationError as exc:
        raise ConfigError(f"invalid auth config {path}: {explain(exc, 'top level')}") from None


@dataclass(frozen=True)
class Generated:
    directory: Path
    server_config: Path
    namespaces: dict[str, dict[str, str]]  # namespace -> role -> public key
    ca: Path | None

    def as_dict(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "server_config": str(self.server_config),
                "namespaces": self.namespaces, "ca": str(self.ca) if self.ca else None}


def _seed(path: Path) -> tuple[str, str]:
    """(seed, public key) of the user seed at `path`, created when missing."""
    if not path.exists():
        seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(seed + b"\n")
    seed_bytes = path.read_bytes().strip()
    try:
        public = nkeys.from_seed(bytearray(seed_bytes)).public_key.decode()
    except Exception as exc:  # nkeys raises its own errors for a damaged seed
        raise ConfigError(f"{path} is not an NKey user seed ({exc}); delete it and generate again") from exc
    return seed_bytes.decode(), public


def _conf_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _generated_namespaces(directory: Path) -> list[str]:
    """The namespaces of an earlier `generate` into `directory` (its manifest), if any."""
    try:
        return list(json.loads((directory / MANIFEST).read_text()).get("namespaces", {}))
    except (OSError, ValueError, AttributeError):
        return []


def generate(cfg: AuthConfig, directory: Path, streams: StreamsConfig, tls: bool | None = None) -> Generated:
    """Write the server configuration, the manifest and missing seeds (and TLS material when asked)."""
    directory = directory.resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write the auth directory {directory}: {exc.strerror or exc}") from exc
    # a namespace generated earlier keeps its account: regenerating never locks a running tenant out
    namespaces = list(dict.fromkeys([*cfg.namespaces, *_generated_namespaces(directory)]))
    lines = ["# written by `swarm nats auth generate` from configs/auth.yaml: edit that file, not this one",
             "accounts {"]
    users: dict[str, dict[str, str]] = {}
    for ns in namespaces:
        names = Names(ns)
        lines += [f"  {json.dumps(names.NS)}: {{", "    jetstream: enabled", "    users: ["]
        users[ns] = {}
        for role in cfg.roles:
            _, public = _seed(directory / ns / f"{role}.nk")
            users[ns][role] = public
            g = role_grants(names, streams, role)
            lines.append(f"      # {role}")
            lines.append(f"      {{nkey: {json.dumps(public)}, permissions: {{"
                         f"publish: {{allow: {_conf_list(g.publish)}}}, "
                         f"subscribe: {{allow: {_conf_list(g.subscribe)}}}"
                         f"{', allow_responses: true' if g.respond else ''}}}}}")
        lines += ["    ]", "  }"]
    lines.append("}")
    ca = None
    if cfg.tls.enabled if tls is None else tls:
        paths = write_tls(directory / "tls", cfg.tls.hosts, cfg.tls.valid_days)
        ca = paths.ca
        lines += ["tls {", f"  cert_file: {json.dumps(str(paths.cert))}", f"  key_file: {json.dumps(str(paths.key))}",
                  "  timeout: 5", "}"]
    server_config = directory / SERVER_CONFIG
    server_config.write_text("\n".join(lines) + "\n")
    manifest = {"namespaces": {ns: {"account": Names(ns).NS, "users": users[ns]} for ns in namespaces},
                "ca": str(ca) if ca else None}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return Generated(directory, server_config, users, ca)


@dataclass(frozen=True)
class Credentials:
    namespace: str
    role: str
    seed: Path
    public_key: str
    ca: Path | None

    @property
    def user(self) -> str:
        """How errors name this user: role, namespace and the start of its public key."""
        return f"{self.role}@{self.namespace} ({self.public_key[:12]}…)"


class AuthDir:
    """The credentials `generate` wrote, as a client finds them (`SWARM_NATS_AUTH`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            self.manifest = json.loads((self.directory / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"SWARM_NATS_AUTH={self.directory}: no readable {MANIFEST} ({exc}); "
                "run `swarm nats auth generate` to create it"
            ) from exc

    def credentials(self, namespace: str, role: str) -> Credentials:
        known = self.manifest["namespaces"].get(namespace)
        if known is None:
            raise ConfigError(
                f"namespace {namespace!r} has no account in {self.directory / MANIFEST} "
                f"(accounts: {', '.join(self.manifest['namespaces'])}): add it to configs/auth.yaml, "
                "run `swarm nats auth generate` and restart the server"
            )
        if role not in known["users"]:
            raise ConfigError(f"role {role!r} has no user in namespace {namespace!r} "
                              f"(roles: {', '.join(known['users'])}); see configs/auth.yaml")
        ca = self.manifest.get("ca")
        return Credentials(namespace, role, self.directory / namespace / f"{role}.nk", known["users"][role],
                           Path(ca) if ca else None)
