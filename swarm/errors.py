"""The one error tree of swarm. Each error says how the message that caused it is settled.

    SwarmError                              base; .settlement says what to do with the message
    ├── ConfigError                         bad settings or config file        -> not a message error: exit 1
    │   └── PermissionDenied                the server refused this role a publish (its grants)
    ├── JobError                            the Ray Jobs API refused / timed out -> not a message error: exit 1
    │   └── JobAlreadyRunning               `swarm submit` while the namespace's job is alive
    ├── NatsUnavailable                     nothing answers at NATS_URL        -> retry after 5 s
    ├── InvalidInput                        malformed report / bad CLI input   -> terminate + dead-letter
    │   ├── InvalidNamespace                a namespace that cannot be a subject token
    │   └── ControlRefused                  the control service said no (CLI)  -> the command fails
    ├── Rejected                            prompt-injection filter said no    -> terminate + security.rejected
    ├── FilterFailed                        the filter raised on a report      -> terminate + dead-letter (no retry)
    ├── StateError                          PEER state problems
    │   ├── StateNotFound                   key missing                        -> terminate + dead-letter
    │   ├── StateExists                     create of an existing key          -> terminate (already there)
    │   ├── StateCorrupted                  stored value invalid (key, rev)    -> dead-letter, operator restores
    │   ├── OwnershipViolation              role wrote outside its phase       -> terminate + dead-letter
    │   └── ConflictRetriesExhausted        CAS lost too many times            -> retry after 1 s
    ├── TransientError                      anything worth retrying            -> nak with backoff
    │   ├── OverBudget                      swarm-wide budget exhausted        -> wait (in-progress), never dropped
    │   └── SwarmUnavailable                the swarm's own fault: NATS down, an actor dead or restarting
    │                                                                          -> requeue: nak, delay doubling up to the
    │                                                                             ack wait; never dead-lettered
    ├── AgentFailed                         an agent raised in a phase         -> failed Result, then ack
    │   └── BudgetExhausted                 one investigation spent its budget -> failed Result, then ack
    └── DeliveryFailed                      push or pull request refused       -> the Result says so, then ack

`swarm.runtime.settle` is the one place that reads `settlement` and `retry_delay_s` to ack, nak, term,
dead-letter or reject a report; intake only raises. `retry_delay_s` None means the configured
`intake.nak_delay_s`; a retry backs off exponentially with the delivery count, and the last allowed
delivery is dead-lettered instead. REQUEUE (SwarmUnavailable) doubles its delay per attempt (counted across
re-published copies) up to the consumer's ack wait, and on the last delivery a re-published copy takes
the report's place: a report is never dead-lettered for the swarm's own faults. Library exceptions
(nats-py, ray, git) are mapped into this tree at the boundary that calls them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "explain",
    "Settlement",
    "SwarmError",
    "ConfigError",
    "PermissionDenied",
    "JobError",
    "JobAlreadyRunning",
    "NatsUnavailable",
    "InvalidInput",
    "InvalidNamespace",
    "Rejected",
    "FilterFailed",
    "StateError",
    "StateNotFound",
    "StateExists",
    "StateCorrupted",
    "OwnershipViolation",
    "ConflictRetriesExhausted",
    "TransientError",
    "OverBudget",
    "SwarmUnavailable",
    "AgentFailed",
    "BudgetExhausted",
    "ControlRefused",
    "DeliveryFailed",
]


class Settlement(StrEnum):
    ACK = "ack"
    RETRY = "retry"  # nak with delay
    WAIT = "wait"  # keep the message (in-progress acks) and try again in place after the delay
    TERMINATE = "terminate"
    DEAD_LETTER = "dead_letter"  # terminate and publish a DeadLetter with the reason
    REJECT = "reject"  # terminate and publish a SecurityRejection
    REQUEUE = "requeue"  # nak, the delay doubling up to the ack wait; the last delivery is re-published, not lost
    EXIT = "exit"


class SwarmError(Exception):
    settlement: Settlement = Settlement.DEAD_LETTER
    retry_delay_s: float | None = None  # RETRY: first delay; None: the configured intake.nak_delay_s


class ConfigError(SwarmError):
    settlement = Settlement.EXIT


class PermissionDenied(ConfigError):
    """The server refused a publish: the connection's role has no grant for the subject."""
class JobError(SwarmError):
    """The Ray Jobs API refused a call, or a job did not reach the state asked for in time."""

    settlement = Settlement.EXIT


class JobAlreadyRunning(JobError):
    """A swarm job of this namespace is alive: stop it first."""


class NatsUnavailable(SwarmError):
    settlement = Settlement.RETRY
    retry_delay_s = 5.0


class InvalidInput(SwarmError, ValueError):
    settlement = Settlement.DEAD_LETTER


class InvalidNamespace(InvalidInput):
    pass


class Rejected(SwarmError):
    """The injection filter said no. With its verdict (and the report and investigation id) the
    rejection is published; without, the report is only terminated (a signature rejected before)."""

    settlement = Settlement.REJECT

    def __init__(self, reason: str, verdict: object = None, report: object = None,
                 investigation_id: str | None = None) -> None:
        super().__init__(reason)
        self.verdict, self.report, self.investigation_id = verdict, report, investigation_id


class FilterFailed(SwarmError):
    """The injection filter raised on a report. The same text fails the same way on every delivery, so
    this is no transient fault: the report is dead-lettered at once with the reason."""

    settlement = Settlement.DEAD_LETTER


class StateError(SwarmError):
    settlement = Settlement.DEAD_LETTER


class StateNotFound(StateError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "state not found"


class StateExists(StateError):
    settlement = Settlement.TERMINATE


class StateCorrupted(StateError):
    def __init__(self, key: str, revision: int | None, reason: str) -> None:
        self.key, self.revision, self.reason = key, revision, reason
        super().__init__(f"corrupted PEER state at key {key!r} revision {revision}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, int | None, str]]:  # picklable across Ray
        return (type(self), (self.key, self.revision, self.reason))


class OwnershipViolation(StateError):
    settlement = Settlement.DEAD_LETTER


class ConflictRetriesExhausted(StateError):
    settlement = Settlement.RETRY
    retry_delay_s = 1.0


class TransientError(SwarmError):
    settlement = Settlement.RETRY


class OverBudget(TransientError):
    """The swarm-wide budget admits no more investigations now: the report waits `retry_delay_s`
    (budget.retry_delay_s) with in-progress acks, then asks again; it is never dropped."""

    settlement = Settlement.WAIT

    def __init__(self, reason: str, retry_delay_s: float | None = None) -> None:
        super().__init__(reason)
        if retry_delay_s is not None:
            self.retry_delay_s = retry_delay_s


class SwarmUnavailable(TransientError):
    """Not the report's fault: NATS unreachable, an actor dead, not found or restarting. Retried with a
    backoff that grows to the ack wait's scale; never dead-lettered (the last delivery is re-published)."""

    settlement = Settlement.REQUEUE


class AgentFailed(SwarmError):
    settlement = Settlement.ACK  # the failure is published as a failed Result first


class BudgetExhausted(AgentFailed):
    """One investigation spent its own budget (brain.budget_usd_per_investigation): a failed Result."""


class ControlRefused(InvalidInput):
    """The running swarm's control service answered a request with an error (`swarm control ...`)."""


class DeliveryFailed(SwarmError):
    """The fix branch could not be pushed or its pull request not opened (the provider refused): the
    Result says so (the fix stays on its branch)."""

    settlement = Settlement.ACK


def explain(exc: ValidationError, top: str = "payload", upper: bool = False) -> str:
    """A pydantic error on one line, each field named by its path: `context.a.1: Input should be ...`
    (`top` names a failure of the whole value; `upper` spells paths as environment variables). The
    boundary's mapping for payloads, settings and config files."""
    out = []
    for error in exc.errors():
        path = ".".join(map(str, error["loc"])) or top
        out.append(f"{path.upper() if upper else path}: {_message(error)}")
    return "; ".join(out)


def _message(error: Any) -> str:
    # a validator's own ValueError reads as written, without pydantic's "Value error, " in front
    if error.get("type") == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return str(error["msg"])
