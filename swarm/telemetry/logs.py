"""The swarm's log: the `swarm` logger at INFO in every process, and one line per settled report.

    configure_logging()                      # once per process (Ray actors: ActorServices.start)
    log_settled("intake-0", stream, msg, exc, max_deliver=3)
    log_acked("intake-0", duplicates)        # a batch's acked duplicates: one record, a line per report

A settled report reads (Ray forwards actor output to the driver, so `ray job logs` shows it):

    settled report=t1-default-3f2a… signature=3f2a… investigation=inv-3f2a… settlement=ack
        duration_s=4.210 stream=T1_ERROR_REPORTS seq=17 actor=intake-0

`duration_s` is the time since JetStream stored the report. `SWARM_LOG_LEVEL` changes the level.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from swarm.bus.names import HDR_MSG_ID, HDR_SIGNATURE
from swarm.errors import ConfigError
from swarm.telemetry import metrics

__all__ = ["configure_logging", "log_level", "check_env", "log_acked", "log_settled", "settlement_of", "Ids",
           "LEVEL_ENV"]

LEVEL_ENV = "SWARM_LOG_LEVEL"
log = logging.getLogger("swarm.settled")
Ids = tuple[str, str | None]  # a report's signature and, once counted, its investigation id
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_level(level: str | None = None) -> str:
    """`level`, else SWARM_LOG_LEVEL, else INFO, as a level name in upper case (`debug` is DEBUG); a name
    `logging` does not know is a ConfigError naming the variable."""
    raw = level or os.environ.get(LEVEL_ENV) or "INFO"
    name = raw.strip().upper()
    if not isinstance(logging.getLevelName(name), int):  # an unknown name maps to the string "Level X"
        raise ConfigError(f"{LEVEL_ENV}={raw!r}: not a log level (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
    return name


def check_env() -> None:
    """SWARM_LOG_LEVEL and SWARM_METRICS_PORT, checked where a process starts (before Ray and its actors,
    which would otherwise each fail on them): a ConfigError naming the variable."""
    log_level()
    metrics.port_from_env()


def configure_logging(level: str | None = None) -> None:
    """Give the `swarm` logger a level (INFO) and, when nothing handles it yet, a stderr handler."""
    root = logging.getLogger("swarm")
    root.setLevel(log_level(level))
    if not root.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)


def settlement_of(exc: BaseException | None, delivered: int, max_deliver: int) -> str:
    """How `Settler.settle` settles a report that raised `exc` (None: ack) on its `delivered`-th delivery."""
    if exc is None:
        return "ack"
    from swarm.errors import Settlement, SwarmError

    settlement = exc.settlement if isinstance(exc, SwarmError) else Settlement.RETRY
    if settlement in (Settlement.RETRY,) and delivered >= max_deliver:
        return str(Settlement.DEAD_LETTER)
    return str(settlement)


def _line(actor: str, stream: str, msg: Any, settlement: str, now: datetime, ids: Ids | None = None) -> str:
    meta, headers = msg.metadata, msg.headers or {}
    if ids is not None:  # what intake learned (a reopened error's investigation is not the signature's first)
        signature, investigation = ids[0] or "-", ids[1] or "-"
    else:  # only the publisher's header: `swarm errors report` and the handler set it, other clients may not
        from swarm.runtime.grouping import investigation_id_for  # the runtime's rule, not a copy

        signature = headers.get(HDR_SIGNATURE) or "-"
        investigation = investigation_id_for(signature) if signature != "-" else "-"
    duration = (now - meta.timestamp).total_seconds() if meta.timestamp else float("nan")
    return (f"settled report={headers.get(HDR_MSG_ID) or f'{stream}:{meta.sequence.stream}'} signature={signature} "
            f"investigation={investigation} settlement={settlement} duration_s={duration:.3f} stream={stream} "
            f"seq={meta.sequence.stream} actor={actor}")


def log_settled(actor: str, stream: str, msg: Any, exc: BaseException | None, max_deliver: int,
                ids: Ids | None = None) -> None:
    """One INFO line for a report just settled (and the `reports_settled` counter). `ids`: the report's
    (signature, investigation id) when intake knows them (a report parsed and counted)."""
    try:
        settlement = settlement_of(exc, msg.metadata.num_delivered, max_deliver)
        log.info("%s", _line(actor, stream, msg, settlement, datetime.now(UTC), ids))
        metrics.inc("reports_settled", settlement=settlement)
    except Exception as exc2:  # a log line must never break settling
        log.debug("could not log a settlement: %r", exc2)


def log_acked(actor: str, msgs: list[Any], ids: list[Ids | None] | None = None) -> None:
    """`log_settled` for a batch of acked reports: still one line per report, written as one record
    (a storm's duplicates would otherwise cost more in logging than in settling), counted once."""
    try:
        if log.isEnabledFor(logging.INFO):
            now = datetime.now(UTC)
            known = ids or [None] * len(msgs)
            log.info("%s", "\n".join(_line(actor, m.metadata.stream, m, "ack", now, i)
                                      for m, i in zip(msgs, known, strict=True)))
        metrics.inc("reports_settled", len(msgs), settlement="ack")
    except Exception as exc2:  # a log line must never break settling
        log.debug("could not log a settlement: %r", exc2)
