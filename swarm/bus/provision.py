"""Provision a namespace from configs/streams.yaml: streams, consumers, KV buckets.

    plan = await provision(bus.js, Names("payments"), load_streams_config(path))   # creates missing
    plan = await provision(js, names, cfg, apply=True)                             # also fixes drift

Idempotent: a second run reports every item as `ok` and changes nothing. Drift (a server value
that differs from the file) is listed and only changed with `apply=True`; fields the server
cannot change in place (retention, storage) are reported as `conflict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from pydantic import Field, ValidationError

from swarm.bus.names import Names
from swarm.errors import ConfigError, explain
from swarm.files import FileModel, read_yaml

__all__ = [
    "StreamsConfig",
    "StreamSpec",
    "ConsumerSpec",
    "KVSpec",
    "PlanItem",
    "load_streams_config",
    "provision",
    "stream_config",
    "consumer_config",
]

Action = Literal["create", "ok", "drift", "update", "conflict"]


class ConsumerSpec(FileModel):
    ack_policy: Literal["explicit", "all", "none"] = "explicit"
    max_deliver: int = 3
    ack_wait_s: float = 600
    max_ack_pending: int = 1000


class StreamSpec(FileModel):
    name: str
    subjects: list[str]
    retention: Literal["limits", "workqueue", "interest"] = "limits"
    max_age_s: float = 0
    duplicate_window_s: float = 120
    max_msgs_per_subject: int = -1  # -1: unlimited; 1 keeps only the latest message of each subject
    storage: Literal["file", "memory"] | None = None
    replicas: int | None = None
    consumers: list[str] = Field(default_factory=list)


class KVSpec(FileModel):
    name: str
    history: int = Field(default=16, ge=1, le=64)
    storage: Literal["file", "memory"] | None = None
    replicas: int | None = None


class Defaults(FileModel):
    storage: Literal["file", "memory"] = "file"
    replicas: int = 1


class StreamsConfig(FileModel):
    consumers: dict[str, ConsumerSpec] = Field(default_factory=dict)
    streams: list[StreamSpec]
    kv: list[KVSpec] = Field(default_factory=list)
    defaults: Defaults = Field(default_factory=Defaults)


def load_streams_config(path: str | Path) -> StreamsConfig:
    path = Path(path)
    try:
        cfg = StreamsConfig.model_validate(read_yaml(path, "streams config"))
    except ValidationError as exc:
        raise ConfigError(f"invalid streams config {path}: {explain(exc, 'top level')}") from None
    for stream in cfg.streams:
        for name in stream.consumers:
            if name not in cfg.consumers:
                raise ConfigError(f"stream {stream.name} names unknown consumer {name!r} in {path}")
    return cfg


@dataclass
class PlanItem:
    kind: Literal["stream", "consumer", "kv"]
    name: str
    action: Action
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, server, file)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "diffs": [{"field": f, "server": s, "file": c} for f, s, c in self.diffs],
        }


def stream_config(spec: StreamSpec, names: Names, cfg: StreamsConfig) -> js_api.StreamConfig:
    return js_api.StreamConfig(
        name=names.stream(spec.name),
        subjects=[names.subject_template(s) for s in spec.subjects],
        retention=js_api.RetentionPolicy(spec.retention),
        max_age=spec.max_age_s or None,
        duplicate_window=spec.duplicate_window_s,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        storage=js_api.StorageType(spec.storage or cfg.defaults.storage),
        num_replicas=spec.replicas or cfg.defaults.replicas,
    )


def consumer_config(name: str, spec: ConsumerSpec, filter_subject: str | None) -> js_api.ConsumerConfig:
    return js_api.ConsumerConfig(
        durable_name=name,
        ack_policy=js_api.AckPolicy(spec.ack_policy),
        max_deliver=spec.max_deliver,
        ack_wait=spec.ack_wait_s,
        max_ack_pending=spec.max_ack_pending,
        deliver_policy=js_api.DeliverPolicy.ALL,
        filter_subject=filter_subject,
    )


_STREAM_FIELDS = (
    "subjects",
    "retention",
    "max_age",
    "duplicate_window",
    "max_msgs_per_subject",
    "storage",
    "num_replicas",
)
_IMMUTABLE = {"retention", "storage"}
_CONSUMER_FIELDS = ("ack_policy", "max_deliver", "ack_wait", "max_ack_pending", "filter_subject")


def _norm(value: Any) -> Any:
    if hasattr(value, "value"):
        return value.value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _diff(server: Any, wanted: Any, fields: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    out = []
    for name in fields:
        have, want = _norm(getattr(server, name)), _norm(getattr(wanted, name))
        if name == "max_age":
            have, want = have or 0, want or 0
        if have != want:
            out.append((name, have, want))
    return out


async def _stream(js: JetStreamContext, wanted: js_api.StreamConfig, apply: bool) -> PlanItem:
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        await js.add_stream(wanted)
        return PlanItem("stream", wanted.name, "create")
    diffs = _diff(info.config, wanted, _STREAM_FIELDS)
    if not diffs:
        return PlanItem("stream", wanted.name, "ok")
    if any(f in _IMMUTABLE for f, _, _ in diffs):
        return PlanItem("stream", wanted.name, "conflict", diffs)
    if not apply:
        return PlanItem("stream", wanted.name, "drift", diffs)
    await js.update_stream(wanted)
    return PlanItem("stream", wanted.name, "update", diffs)


async def _consumer(js: JetStreamContext, stream: str, wanted: js_api.ConsumerConfig, apply: bool) -> PlanItem:
    label = f"{stream}/{wanted.durable_name}"
    try:
        info = await js.consumer_info(stream, wanted.durable_name)
    except NotFoundError:
        await js.add_consumer(stream, wanted)
        return PlanItem("consumer", label, "create")
    diffs = _diff(info.config, wanted, _CONSUMER_FIELDS)
    if not diffs:
        return PlanItem("consumer", label, "ok")
    if not apply:
        return PlanItem("consumer", label, "drift", diffs)
    await js.add_consumer(stream, wanted)  # create-or-update for an existing durable
    return PlanItem("consumer", label, "update", diffs)


async def _kv(js: JetStreamContext, names: Names, spec: KVSpec, cfg: StreamsConfig, apply: bool) -> PlanItem:
    bucket = names.stream(spec.name)
    wanted = js_api.KeyValueConfig(
        bucket=bucket,
        history=spec.history,
        storage=js_api.StorageType(spec.storage or cfg.defaults.storage),
        replicas=spec.replicas or cfg.defaults.replicas,
    )
    try:
        info = await js.stream_info(f"KV_{bucket}")
    except NotFoundError:
        await js.create_key_value(wanted)
        return PlanItem("kv", bucket, "create")
    diffs = []
    server = info.config
    if (server.max_msgs_per_subject or 0) != spec.history:
        diffs.append(("history", server.max_msgs_per_subject, spec.history))
    if _norm(server.storage) != _norm(wanted.storage):
        diffs.append(("storage", _norm(server.storage), _norm(wanted.storage)))
    if (server.num_replicas or 1) != wanted.replicas:
        diffs.append(("num_replicas", server.num_replicas, wanted.replicas))
    if not diffs:
        return PlanItem("kv", bucket, "ok")
    if any(f == "storage" for f, _, _ in diffs):
        return PlanItem("kv", bucket, "conflict", diffs)
    if not apply:
        return PlanItem("kv", bucket, "drift", diffs)
    server.max_msgs_per_subject = spec.history
    server.num_replicas = wanted.replicas
    await js.update_stream(server)
    return PlanItem("kv", bucket, "update", diffs)


async def provision(js: JetStreamContext, names: Names, cfg: StreamsConfig, apply: bool = False) -> list[PlanItem]:
    """Create what is missing; report drift; with apply=True also update drifted items."""
    items: list[PlanItem] = []
    for spec in cfg.streams:
        wanted = stream_config(spec, names, cfg)
        items.append(await _stream(js, wanted, apply))
        for consumer in spec.consumers:
            filter_subject = wanted.subjects[0] if len(wanted.subjects) == 1 else None
            ccfg = consumer_config(consumer, cfg.consumers[consumer], filter_subject)
            items.append(await _consumer(js, wanted.name, ccfg, apply))
    for kv in cfg.kv:
        items.append(await _kv(js, names, kv, cfg, apply))
    return items
