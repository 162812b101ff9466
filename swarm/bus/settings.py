"""Settings read from the environment and `.env`: the one typed settings object of swarm.

    >>> s = Settings(nats_namespace="payments")
    >>> s.nats_namespace
    'payments'

`NATS_URL` unset means "start an embedded nats-server" for commands that can (demo, run,
investigate); commands that only talk to a server fail with a clear message instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from swarm.errors import ConfigError, InvalidNamespace

__all__ = ["Settings", "NAMESPACE_RE", "validate_namespace", "DEFAULT_CONFIG_DIR", "default_config"]

NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def default_config(name: str) -> Path:
    """`configs/<name>` of the working directory when it has one (a deployment keeps its own files, as it
    keeps its `.env`), else the swarm checkout's; absolute, so an actor or a job reads the same file."""
    local = Path.cwd() / "configs" / name
    return local if local.is_file() else DEFAULT_CONFIG_DIR / name


MAX_NAMESPACE = 64


def validate_namespace(value: str) -> str:
    """Return the namespace in lower case (`Payments` and `payments` are one namespace), or raise
    InvalidNamespace (a ValueError) naming the bad value."""
    if not isinstance(value, str) or not NAMESPACE_RE.fullmatch(value):
        raise InvalidNamespace(
            f"invalid namespace {value!r}: use only letters, digits, '_' and '-' "
            "(it becomes a NATS subject token and part of stream names)"
        )
    if len(value) > MAX_NAMESPACE:  # JetStream refused the longest stream names half-way through provisioning
        raise InvalidNamespace(f"invalid namespace {value[:24]!r}…: {len(value)} characters, {MAX_NAMESPACE} at most "
                               "(it becomes part of stream and bucket names)")
    return value.lower()


class Settings(BaseSettings):
    """Connection and config-location settings (environment variables in upper case)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    nats_url: str | None = Field(default=None, description="NATS server URL(s), comma separated")
    nats_namespace: str = Field(default="default", description="namespace of subjects and streams")
    nats_creds: Path | None = None
    nats_user: str | None = None
    nats_password: str | None = Field(default=None, repr=False)  # secrets stay out of reprs and logs
    nats_token: str | None = Field(default=None, repr=False)
    nats_nkey_seed: str | None = Field(default=None, repr=False,
                                       description="path of an NKey seed file, or the seed itself")
    nats_tls_ca: Path | None = None
    nats_tls_cert: Path | None = None
    nats_tls_key: Path | None = None
    nats_connect_timeout_s: float = 2.0
    swarm_nats_auth: Path | None = Field(
        default=None, description="directory of `swarm nats auth generate`: each process connects as its role"
    )
    nats_role: str | None = Field(default=None, description="role of a command that names none (default operator)")
    swarm_config: Path = Field(default_factory=lambda: default_config("swarm.yaml"))
    swarm_streams_config: Path = Field(default_factory=lambda: default_config("streams.yaml"))
    swarm_auth_config: Path = Field(default_factory=lambda: default_config("auth.yaml"))
    swarm_home: Path = Path(".swarm")
    anthropic_api_key: str | None = Field(
        default=None, repr=False, description="Claude for the agents (else the offline brain); see export_brain_key"
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except UnicodeDecodeError as exc:  # python-dotenv reads the file as UTF-8 and raises mid-read
            env_file = values.get("_env_file", self.model_config.get("env_file"))
            where = Path(str(env_file)).resolve() if env_file else "the env file"
            bad = exc.object[exc.start] if isinstance(exc.object, bytes) else 0
            raise ConfigError(f"{where} is not UTF-8 text (byte {exc.start} is 0x{bad:02x}): save it as UTF-8, or "
                              "set the variables in the environment instead") from None

    @field_validator("swarm_nats_auth", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # not `.`: the current directory

    @field_validator("nats_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return validate_namespace(value)

    def export_brain_key(self) -> None:
        """Put `anthropic_api_key` where the agents' brain and the anthropic SDK look: the process environment.

        The key may come from `.env` (the environment never held it) or, in a Ray actor, from the driver's
        settings handed down in its spec (a node's environment need not hold it). A key already in the
        environment is kept."""
        if self.anthropic_api_key and not os.environ.get("ANTHROPIC_API_KEY"):
            os.environ["ANTHROPIC_API_KEY"] = self.anthropic_api_key
