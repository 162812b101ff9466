"""What each role may publish and subscribe to in one namespace: least privilege, derived from the wire names.

    grants = role_grants(Names("payments"), load_streams_config(path), "reporter")
    grants.publish      # ('payments.errors', 'payments.errors.staging', 'payments.errors.production')
    grants.subscribe    # ('_INBOX.reporter.>',)
    allows(grants.publish, "payments.results.fixed.inv-1")    # False

Every subject comes from `swarm.bus.names` (data subjects, KV buckets, JetStream API and protocol
subjects) and every stream or consumer from the streams configuration, so a renamed stream changes the
grants with it. JetStream API subjects are granted per named stream and consumer, never `$JS.API.>`.
What each role does on the wire (and so what it is granted):

| role         | who                                   | may                                                        |
|--------------|---------------------------------------|------------------------------------------------------------|
| reporter     | applications, `swarm errors report`   | publish its error subjects                                 |
| intake       | intake actors                         | consume the error streams and advisories, the signature    |
|              |                                       | index, dead letters, security rejections, rejected Results |
| orchestrator | orchestrator actors                   | PEER bucket, investigation status, Results, comms          |
| agent        | research, implement, review actors    | PEER bucket, the messages of runs                          |
| monitor      | the driver: health monitor, healer,   | heartbeats, injuries, audits, stream and consumer info,    |
|              | autoscaler, collector, PR follower    | PEER restore, notices, settling proposed fixes (index)     |
| operator     | people: `swarm state/status/streams`, | read all of the namespace, PEER state, purge error streams, |
|              | `swarm fixes release`                 | audit their decisions                                      |
| comms        | `swarm comms ingest/serve/backfill`   | the comms-ingest consumer, agent messages, Results (read)  |
| admin        | `swarm streams provision`             | create, update, delete the configured streams and buckets  |

Every swarm process role (intake, orchestrator, agent, monitor) may publish all guaranteed bloodstream
kinds (audit, injury, brain_dead, their dead letters): the bloodstream's on-disk outbox is shared by the
processes of a namespace and any of them may replay a row another wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from swarm.bus.names import (
    ADVISORY_CONSUMER,
    ENVS,
    ERROR_CONSUMER,
    JetStreamApi,
    Names,
    inbox_prefix,
    kv_stream,
    kv_subjects,
    obj_stream,
    obj_subjects,
)
from swarm.bus.provision import StreamsConfig
from swarm.errors import ConfigError

__all__ = ["ROLES", "Grants", "role_grants", "auth_role", "allows", "covers", "stream_of"]

ROLES: tuple[str, ...] = ("reporter", "intake", "orchestrator", "agent", "monitor", "operator", "comms", "admin")
_ACTOR_ROLE = {"intake": "intake", "orchestrator": "orchestrator", "driver": "monitor"}


def auth_role(runtime_role: str) -> str:
    """The auth role a runtime role connects as: research, implement and review are `agent`s."""
    return runtime_role if runtime_role in ROLES else _ACTOR_ROLE.get(runtime_role, "agent")


@dataclass(frozen=True)
class Grants:
    role: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    respond: bool = False  # may reply to the requests it receives (`allow_responses`), whoever asked

    def as_dict(self) -> dict[str, list[str] | bool]:
        return {"publish": list(self.publish), "subscribe": list(self.subscribe), "respond": self.respond}


def covers(pattern: str, subject: str) -> bool:
    """True when every subject `subject` matches (it may hold wildcards) is matched by `pattern`."""
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or s[i] == ">" or (token != "*" and (s[i] == "*" or token != s[i])):
            return False
    return len(p) == len(s)


def allows(patterns: tuple[str, ...] | list[str], subject: str) -> bool:
    return any(covers(p, subject) for p in patterns)


def stream_of(names: Names, cfg: StreamsConfig, subject: str) -> str:
    """The configured stream that stores `subject` (ConfigError when none does)."""
    for spec in cfg.streams:
        if any(covers(names.subject_template(s), subject) for s in spec.subjects):
            return names.stream(spec.name)
    raise ConfigError(f"no stream of the streams configuration stores {subject!r}")


@dataclass
class _Builder:
    names: Names
    cfg: StreamsConfig
    role: str
    pub: list[str] = field(default_factory=list)
    sub: list[str] = field(default_factory=list)
    respond: bool = False  # may reply to requests it receives (nats-server `allow_responses`)

    def publish(self, *subjects: str) -> None:
        self.pub.extend(s for s in subjects if s not in self.pub)

    def subscribe(self, *subjects: str) -> None:
        self.sub.extend(s for s in subjects if s not in self.sub)

    def read_stream(self, stream: str) -> None:
        """Info, gets and server-named (ordered) consumers of one stream."""
        api = JetStreamApi
        self.publish(api.stream("INFO", stream), api.stream("MSG.GET", stream), *api.direct_get(stream),
                     api.ephemeral_consumer(stream), api.consumer("INFO", stream, "*"), api.STREAM_NAMES,
                     api.flow_control(stream))

    def pull(self, stream: str, consumer: str) -> None:
        """Fetch from one durable pull consumer and settle its messages."""
        api = JetStreamApi
        self.publish(api.consumer("INFO", stream, consumer), api.consumer("MSG.NEXT", stream, consumer),
                     api.ack(stream, consumer))

    def kv(self, bucket: str, write: bool) -> None:
        self.read_stream(kv_stream(bucket))
        if write:
            self.publish(kv_subjects(bucket))

    def bloodstream(self) -> None:
        n = self.names
        self.publish(n.heartbeats_all, n.events_all(), n.audit, n.injury, n.brain_dead, n.dead("bloodstream"))

    def streams(self) -> list[str]:
        return [self.names.stream(s.name) for s in self.cfg.streams]

    def buckets(self) -> list[str]:
        return [self.names.stream(kv.name) for kv in self.cfg.kv]

    def consumers(self) -> list[tuple[str, str]]:
        return [(self.names.stream(s.name), c) for s in self.cfg.streams for c in s.consumers]


def _reporter(b: _Builder) -> None:
    b.publish(*b.names.errors_all)


def _intake(b: _Builder) -> None:
    n, api = b.names, JetStreamApi
    for env in ENVS:
        stream = n.error_stream(env)
        b.pull(stream, ERROR_CONSUMER)
        # a report named by a MAX_DELIVERIES advisory is read, dead-lettered and deleted
        b.publish(api.stream("MSG.GET", stream), api.stream("MSG.DELETE", stream))
    # operator-submitted investigations are consumed like an error stream
    b.pull(n.tasks_stream, ERROR_CONSUMER)
    b.publish(api.stream("MSG.GET", n.tasks_stream), api.stream("MSG.DELETE", n.tasks_stream), n.task_investigation)
    b.pull(n.advisories_stream, ADVISORY_CONSUMER)
    b.kv(n.signature_bucket, write=True)
    b.kv(n.deploy_bucket, write=False)  # a deploy marker reopens a closed signature
    # `intake.dead_letter_objects`: the whole original of a cut dead letter, in a bucket intake creates
    objects = obj_stream(n.dead_letter_objects)
    b.read_stream(objects)
    b.publish(api.stream("CREATE", objects), api.stream("PURGE", objects), obj_subjects(n.dead_letter_objects))
    # a drain hands a report back by re-publishing it on its own error subject
    b.publish(*n.errors_all, n.dead("errors"), n.security_rejected, n.results_with("rejected"),
              n.investigation_status_all, n.comms_general_all)
    b.bloodstream()


def _orchestrator(b: _Builder) -> None:
    n = b.names
    b.kv(n.peer_bucket, write=True)
    b.publish(n.investigation_status_all, n.results_all, n.comms_runs_all, n.comms_general_all)
    b.bloodstream()


def _agent(b: _Builder) -> None:
    b.kv(b.names.peer_bucket, write=True)
    # its run's messages, and swarm-wide notices: a brain that died in an agent says so on the general channel
    b.publish(b.names.comms_runs_all, b.names.comms_general_all)
    b.bloodstream()


def _monitor(b: _Builder) -> None:
    n, api = b.names, JetStreamApi
    b.subscribe(n.heartbeats_all)
    b.read_stream(stream_of(n, b.cfg, n.heartbeat_of("probe")))
    b.publish(api.STREAM_LIST, api.STREAM_NAMES)
    for stream, consumer in b.consumers():
        b.publish(api.consumer("INFO", stream, consumer))
    for stream in b.streams() + [kv_stream(bucket) for bucket in b.buckets()]:
        b.publish(api.stream("INFO", stream), *api.consumer_list(stream))
    b.kv(n.signature_bucket, write=True)  # the pull-request follower settles proposed fixes (merged -> fixed)
    b.kv(n.peer_bucket, write=True)  # the healer restores a corrupted PEER state
    b.publish(n.comms_general_all)
    # the control service (nats micro) runs in the driver: it answers its endpoints and discovery
    b.subscribe(n.control_all, n.control_discovery_all)
    b.respond = True
    b.bloodstream()


def _operator(b: _Builder) -> None:
    n, api = b.names, JetStreamApi
    b.subscribe(n.all)
    b.publish(api.STREAM_LIST, api.STREAM_NAMES, api.INFO)
    for stream in b.streams():
        b.read_stream(stream)
        b.publish(*api.consumer_list(stream))
    for stream, consumer in b.consumers():
        b.publish(api.consumer("INFO", stream, consumer))
    for bucket in b.buckets():
        b.kv(bucket, write=bucket == n.peer_bucket)  # PEER state: create, update, restore
        b.publish(*api.consumer_list(kv_stream(bucket)))
    for env in ENVS:
        b.publish(api.stream("PURGE", n.error_stream(env)))
    # asks the running swarm: submitted investigations, control requests, deploy markers, an index reset; a
    # person's decision (a release of a rejected error) is audited
    b.publish(n.task_investigation, n.control_all, n.control_discovery_all, n.audit)
    b.kv(n.deploy_bucket, write=True)
    b.kv(n.signature_bucket, write=True)


def _comms(b: _Builder) -> None:
    n = b.names
    b.pull(n.comms_stream, n.comms_consumer)
    b.read_stream(n.comms_stream)
    b.read_stream(stream_of(n, b.cfg, n.result("fixed", "probe")))  # a run's page shows its Result
    b.publish(n.comms_all, n.dead("comms"))


def _admin(b: _Builder) -> None:
    api = JetStreamApi
    b.publish(api.INFO, api.STREAM_LIST, api.STREAM_NAMES)
    for stream in b.streams() + [kv_stream(bucket) for bucket in b.buckets()]:
        b.publish(*(api.stream(op, stream) for op in ("CREATE", "UPDATE", "DELETE", "INFO", "PURGE")))
        b.publish(*api.consumer_list(stream))
    for stream, consumer in b.consumers():
        b.publish(*api.consumer_create(stream, consumer), api.consumer("INFO", stream, consumer),
                  api.consumer("DELETE", stream, consumer))


_ROLE_GRANTS = {"reporter": _reporter, "intake": _intake, "orchestrator": _orchestrator, "agent": _agent,
                "monitor": _monitor, "operator": _operator, "comms": _comms, "admin": _admin}


def role_grants(names: Names, cfg: StreamsConfig, role: str) -> Grants:
    """The publish and subscribe allow-lists of `role` in the namespace of `names`."""
    if role not in _ROLE_GRANTS:
        raise ConfigError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    b = _Builder(names, cfg, role)
    _ROLE_GRANTS[role](b)
    b.subscribe(f"{inbox_prefix(role)}.>")  # replies to its own requests, deliveries of its own consumers
    return Grants(role, tuple(b.pub), tuple(b.sub), b.respond)
