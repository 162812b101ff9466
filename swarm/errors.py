"""The one error tree of swarm. Each error says how the message that caused it is settled.

    SwarmError                              base; .settlement says what to do with the message
    ├── ConfigError                         bad settings or config file        -> not a message error: exit 1
    ├── NatsUnavailable                     nothing answers at NATS_URL        -> retry with delay
    ├── InvalidInput                        malformed report / bad CLI input   -> terminate + dead-letter
    │   └── InvalidNamespace
    ├── Rejected                            prompt-injection filter said no    -> terminate + security.rejected
    ├── StateError                          PEER state problems
    │   ├── StateNotFound                   key missing                        -> terminate + dead-letter
    │   ├── StateExists                     create of an existing key          -> terminate (already there)
    │   ├── StateCorrupted                  stored value invalid (key, rev)    -> dead-letter, operator restores
    │   ├── OwnershipViolation              role wrote outside its phase       -> terminate + dead-letter
    │   └── ConflictRetriesExhausted        CAS lost too many times            -> retry with delay
    ├── TransientError                      anything worth retrying            -> nak with delay
    │   └── OverBudget                      swarm-wide budget exhausted        -> nak with delay
    └── AgentFailed                         an agent raised in a phase         -> failed Result, then ack

Library exceptions (nats-py, ray, git) are mapped into this tree at the boundary that calls them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Settlement",
    "SwarmError",
    "ConfigError",
    "NatsUnavailable",
    "InvalidInput",
    "InvalidNamespace",
    "Rejected",
    "StateError",
    "StateNotFound",
    "StateExists",
    "StateCorrupted",
    "OwnershipViolation",
    "ConflictRetriesExhausted",
    "TransientError",
    "OverBudget",
    "AgentFailed",
]


class Settlement(StrEnum):
    ACK = "ack"
    RETRY = "retry"  # nak with delay
    TERMINATE = "terminate"
    DEAD_LETTER = "dead_letter"  # terminate and publish a DeadLetter with the reason
    REJECT = "reject"  # terminate and publish a SecurityRejection
    EXIT = "exit"


class SwarmError(Exception):
    settlement: Settlement = Settlement.DEAD_LETTER
    retry_delay_s: float = 0.0


class ConfigError(SwarmError):
    settlement = Settlement.EXIT


class NatsUnavailable(SwarmError):
    settlement = Settlement.RETRY
    retry_delay_s = 5.0


class InvalidInput(SwarmError, ValueError):
    settlement = Settlement.DEAD_LETTER


class InvalidNamespace(InvalidInput):
    pass


class Rejected(SwarmError):
    settlement = Settlement.REJECT


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
    retry_delay_s = 2.0


class OverBudget(TransientError):
    retry_delay_s = 30.0


class AgentFailed(SwarmError):
    settlement = Settlement.ACK  # the failure is published as a failed Result first
