"""Every wire name of swarm: subjects, streams, consumers, the KV bucket, header keys.

Nothing else in swarm spells a subject or stream name as a loose string. JetStream's own names (its
API subjects, the streams behind KV and object buckets) are spelled in `swarm.bus.jetstream_names` and
re-exported here: import every wire name from this module.

    >>> n = Names("payments")
    >>> n.errors("staging"), n.stream("STAGING_ERRORS"), n.peer_bucket
    ('payments.errors.staging', 'PAYMENTS_STAGING_ERRORS', 'PAYMENTS_PEER_STATE')
    >>> n.result("fixed", "inv-1")
    'payments.results.fixed.inv-1'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from swarm.bus.jetstream_names import JetStreamApi, kv_stream, kv_subjects, obj_stream, obj_subjects, restore_case
from swarm.bus.settings import validate_namespace

__all__ = [
    "Names",
    "Env",
    "ENVS",
    "ERROR_STREAM_BY_ENV",
    "ERROR_CONSUMER",
    "ADVISORY_CONSUMER",
    "COMMS_CONSUMER",
    "HDR_MSG_ID",
    "HDR_TRACEPARENT",
    "HDR_TRACESTATE",
    "HDR_REASON",
    "HDR_SIGNATURE",
    "SERVICE_NAME",
    "CONTROL_ENDPOINTS",
    "HDR_EXPECTED_STREAM",
    "HDR_REQUIRED_API_LEVEL",
    "JetStreamApi",
    "inbox_prefix",
    "kv_stream",
    "kv_subjects",
    "obj_stream",
    "restore_case",
    "obj_subjects",
]

Env = Literal["default", "staging", "production"]
ENVS: tuple[str, ...] = ("default", "staging", "production")
ERROR_STREAM_BY_ENV: dict[str, str] = {
    "default": "ERROR_REPORTS",
    "staging": "STAGING_ERRORS",
    "production": "PRODUCTION_ERRORS",
}
ERROR_CONSUMER = "error-fixer"
ADVISORY_CONSUMER = "dead-letterer"
COMMS_CONSUMER = "comms-ingest"

HDR_MSG_ID = "Nats-Msg-Id"
HDR_TRACEPARENT = "traceparent"
HDR_TRACESTATE = "tracestate"
HDR_REASON = "Swarm-Reason"
HDR_SIGNATURE = "Swarm-Signature"
HDR_EXPECTED_STREAM = "Nats-Expected-Stream"  # a publish whose stream does not match is refused, never stored
HDR_REQUIRED_API_LEVEL = "Nats-Required-Api-Level"  # a JetStream API request above the server's level is refused


def inbox_prefix(role: str) -> str:
    """Reply inboxes of a role's connections (`_INBOX.<role>.<nuid>...`): a role subscribes to its own only."""
    return f"_INBOX.{_token(role, 'role')}"


SERVICE_NAME = "swarm-control"  # the nats micro service of a running swarm (`$SRV.PING.swarm-control`)
CONTROL_ENDPOINTS: tuple[str, ...] = ("status", "pause", "resume", "cancel", "approve", "reject", "budget")
HDR_REQUEUES = "Swarm-Requeues"  # deliveries a re-published report already used up on the swarm's own faults


def _token(value: str, what: str) -> str:
    if not value or any(c in value for c in " .*>\t\r\n"):
        raise ValueError(f"invalid {what} {value!r}: must be one NATS subject token")
    return value


@dataclass(frozen=True)
class Names:
    """Wire names for one namespace: `ns` (lower case) for subjects, `NS` for streams."""

    ns: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "ns", validate_namespace(self.ns))

    @property
    def NS(self) -> str:  # noqa: N802 - mirrors DESIGN.md's notation
        return self.ns.upper()

    # streams and consumers --------------------------------------------------------------
    def stream(self, name: str) -> str:
        return f"{self.NS}_{name.upper()}"

    def error_stream(self, env: str) -> str:
        return self.stream(ERROR_STREAM_BY_ENV[self.env(env)])

    @property
    def error_consumer(self) -> str:
        return ERROR_CONSUMER

    @property
    def advisories_stream(self) -> str:
        """Stored MAX_DELIVERIES advisories of the error consumers (see configs/streams.yaml)."""
        return self.stream("ADVISORIES")

    @property
    def peer_bucket(self) -> str:
        return self.stream("PEER_STATE")

    def subject_template(self, template: str) -> str:
        """Expand a `{ns}` template from configs/streams.yaml."""
        return template.format(ns=self.ns, NS=self.NS)

    # subjects ---------------------------------------------------------------------------
    @staticmethod
    def env(env: str) -> str:
        if env not in ERROR_STREAM_BY_ENV:
            raise ValueError(f"unknown environment {env!r}: expected one of {', '.join(ENVS)}")
        return env

    def errors(self, env: str = "default") -> str:
        env = self.env(env)
        return f"{self.ns}.errors" if env == "default" else f"{self.ns}.errors.{env}"

    @property
    def errors_all(self) -> list[str]:
        return [self.errors(e) for e in ENVS]

    def msg_id(self, env: str, signature: str, release: str | None = None) -> str:
        """One Msg-Id per error (and release): JetStream's duplicate window never drops the first
        occurrence of an old error in a new release."""
        base = f"{self.ns}-{self.env(env)}-{signature}"
        return f"{base}-{release}" if release else base

    def investigation_status(self, investigation_id: str) -> str:
        return f"{self.ns}.investigation.status.{_token(investigation_id, 'investigation id')}"

    @property
    def investigation_all(self) -> str:
        return f"{self.ns}.investigation.>"

    def task(self, kind: str) -> str:
        return f"{self.ns}.tasks.{_token(kind, 'task kind')}"

    @property
    def task_investigation(self) -> str:
        """Operator-submitted investigations (`swarm investigate --submit`), consumed like error reports."""
        return self.task("investigation")

    @property
    def tasks_stream(self) -> str:
        return self.stream("TASKS")

    @staticmethod
    def task_msg_id(task_id: str) -> str:
        return f"task-{task_id}"

    # control plane (nats micro) ----------------------------------------------------------
    @property
    def control_service(self) -> str:
        return SERVICE_NAME

    def control(self, endpoint: str) -> str:
        """`{ns}.svc.<endpoint>`: request-reply endpoints of the running swarm's control service."""
        if endpoint not in CONTROL_ENDPOINTS:
            raise ValueError(f"unknown control endpoint {endpoint!r}: expected one of {', '.join(CONTROL_ENDPOINTS)}")
        return f"{self.ns}.svc.{endpoint}"

    @property
    def control_all(self) -> str:
        return f"{self.ns}.svc.>"

    @property
    def control_ping(self) -> str:
        """nats micro discovery: every running control service answers (its metadata names the namespace)."""
        return f"$SRV.PING.{self.control_service}"

    def control_info(self, service_id: str) -> str:
        return f"$SRV.INFO.{self.control_service}.{_token(service_id, 'service id')}"

    @property
    def control_discovery_all(self) -> str:
        """The `$SRV.>` subjects a control service answers (PING, INFO, STATS)."""
        return "$SRV.>"

    # errors that come back ---------------------------------------------------------------
    @property
    def deploy_bucket(self) -> str:
        """KV bucket: service -> its last deploy marker (`swarm deploy mark`, or CI)."""
        return self.stream("DEPLOYS")

    @staticmethod
    def deploy_key(service: str, environment: str | None = None) -> str:
        """The KV key of a service's last deploy marker in one environment, or in all of them:
        `<service>.<environment>` / `<service>.all`. A service name a key token cannot hold as it is
        (dots, spaces, slashes…, or longer than 128 characters: a subject over the server's control line limit
        is never answered) is keyed by its digest, `h_<sha256[:24]>`, so two names never share a key."""
        token = service if re.fullmatch(r"[-_=a-zA-Z0-9]{1,128}", service) else \
            "h_" + hashlib.sha256(service.encode()).hexdigest()[:24]
        return f"{token}.{environment or 'all'}"

    def result(self, outcome: str, investigation_id: str) -> str:
        return f"{self.ns}.results.{_token(outcome, 'outcome')}.{_token(investigation_id, 'investigation id')}"

    def result_of(self, investigation_id: str) -> str:
        """Filter for the Result of one investigation, whatever its outcome."""
        return f"{self.ns}.results.*.{_token(investigation_id, 'investigation id')}"

    def results_with(self, outcome: str) -> str:
        """Filter for every Result of one outcome (`{ns}.results.rejected.*`)."""
        return f"{self.ns}.results.{_token(outcome, 'outcome')}.*"

    @property
    def investigation_status_all(self) -> str:
        return f"{self.ns}.investigation.status.*"

    @property
    def all(self) -> str:
        """Every subject of the namespace."""
        return f"{self.ns}.>"

    @property
    def results_all(self) -> str:
        return f"{self.ns}.results.>"

    def dead(self, kind: str) -> str:
        return f"{self.ns}.dead.{_token(kind, 'dead-letter kind')}"

    @property
    def dead_all(self) -> str:
        return f"{self.ns}.dead.>"

    @staticmethod
    def dead_letter_msg_id(stream: str, sequence: int) -> str:
        """One DeadLetter per stored report, however often it is dead-lettered."""
        return f"dl-{stream}-{int(sequence)}"

    @staticmethod
    def rejection_msg_id(investigation_id: str) -> str:
        return f"rej-{investigation_id}"

    @property
    def dead_letter_objects(self) -> str:
        """Object store bucket: the whole original of a dead letter too large to embed (when enabled)."""
        return self.stream("DEAD_LETTER_PAYLOADS")

    @staticmethod
    def dead_letter_object(stream: str, seq: int) -> str:
        return f"{stream}-{seq}"

    @property
    def signature_bucket(self) -> str:
        """KV bucket: signature -> investigation (intake grouping)."""
        return self.stream("SIGNATURES")

    @property
    def security_rejected(self) -> str:
        return f"{self.ns}.security.rejected"

    # bloodstream
    @property
    def heartbeat(self) -> str:
        return f"{self.ns}.hive.heartbeat"

    @property
    def audit(self) -> str:
        return f"{self.ns}.hive.audit"

    @property
    def injury(self) -> str:
        return f"{self.ns}.hive.injury"

    def event(self, event_type: str, version: int = 1) -> str:
        return f"{self.ns}.hive.events.v{version}.{_token(event_type, 'event type')}"

    def events_all(self, version: int | None = None) -> str:
        return f"{self.ns}.hive.events.{'*' if version is None else f'v{version}'}.>"

    @property
    def brain_dead(self) -> str:
        return f"{self.ns}.core.brain_dead"

    @property
    def hive_all(self) -> str:
        return f"{self.ns}.hive.>"

    def heartbeat_of(self, service: str) -> str:
        """Per-service heartbeat subject; the HEARTBEATS stream keeps the last one of each service.

        Characters a subject token cannot hold are replaced by '_' (the payload keeps the real name).
        """
        token = re.sub(r"[\s.*>]", "_", service) or "_"
        return f"{self.ns}.hive.heartbeat.{token}"

    @property
    def heartbeats_all(self) -> str:
        return f"{self.ns}.hive.heartbeat.>"

    @property
    def core_all(self) -> str:
        return f"{self.ns}.core.>"

    @property
    def bloodstream_stream(self) -> str:
        return self.stream("BLOODSTREAM")

    @property
    def heartbeat_stream(self) -> str:
        return self.stream("HEARTBEATS")

    # agent comms
    def comms_run(self, run_id: str, kind: str) -> str:
        return f"{self.ns}.workflow.run.{_token(run_id, 'run id')}.{_token(kind, 'message kind')}"

    def comms_general(self, kind: str) -> str:
        return f"{self.ns}.workflow.general.{_token(kind, 'message kind')}"

    @property
    def comms_all(self) -> str:
        return f"{self.ns}.workflow.>"

    def comms_run_all(self, run_id: str) -> str:
        """Filter for every message of one run (workflow)."""
        return f"{self.ns}.workflow.run.{_token(run_id, 'run id')}.*"

    @property
    def comms_runs_all(self) -> str:
        """Filter for every run's messages (not the general channel)."""
        return f"{self.ns}.workflow.run.*.*"

    @property
    def comms_general_all(self) -> str:
        return f"{self.ns}.workflow.general.*"

    @property
    def comms_stream(self) -> str:
        return self.stream("AGENT_COMMS")

    @property
    def comms_consumer(self) -> str:
        """The durable pull consumer that ingests agent messages into Postgres."""
        return COMMS_CONSUMER

    @staticmethod
    def comms_msg_id(message_id: str) -> str:
        """Msg-Id of an agent message: a backfilled copy of a message already stored is dropped."""
        return f"am-{message_id}"

    def parse_comms(self, subject: str) -> tuple[str | None, str]:
        """(run id or None for the general channel, kind) of a comms subject; ValueError otherwise."""
        parts = subject.split(".")
        if parts[:2] == [self.ns, "workflow"]:
            if len(parts) == 5 and parts[2] == "run":
                return parts[3], parts[4]
            if len(parts) == 4 and parts[2] == "general":
                return None, parts[3]
        raise ValueError(f"not an agent comms subject of namespace {self.ns!r}: {subject!r}")

    # KV keys
    @staticmethod
    def peer_key(kind: str, investigation_id: str, cycle: int) -> str:
        return f"peer.{_token(kind, 'kind')}.{_token(investigation_id, 'investigation id')}.cycle.{int(cycle)}"
