"""The swarm's log: the `swarm` logger at INFO in every process, and one line per settled report.

    configure_logging()                      # once per process (Ray actors: ActorServices.start)
    log_settled("intake-0", stream, msg, exc, max_deliver=3)

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
from swarm.telemetry import metrics

__all__ = ["configure_logging", "log_settled", "settlement_of", "LEVEL_ENV"]

LEVEL_ENV = "SWARM_LOG_LEVEL"
log = logging.getLogger("swarm.settled")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str | None = None) -> None:
    """Give the `swarm` logger a level (INFO) and, when nothing handles it yet, a stderr handler."""
    root = logging.getLogger("swarm")
    root.setLevel((level or os.environ.get(LEVEL_ENV) or "INFO").upper())
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


def log_settled(
    actor: str, stream: str, msg: Any, exc: BaseException | None, max_deliver: int, counted: bool = True
) -> None:
    """One INFO line for a report just settled (and the `reports_settled` counter, unless `counted` is
    False: a caller settling a batch counts it once)."""
    try:
        meta = msg.metadata
        headers = dict(msg.headers or {})
        signature = headers.get(HDR_SIGNATURE) or "-"
        settlement = settlement_of(exc, meta.num_delivered, max_deliver)
        stored = meta.timestamp
        duration = (datetime.now(UTC) - stored).total_seconds() if stored else float("nan")
        from swarm.runtime.grouping import investigation_id_for  # the runtime's rule, not a copy

        investigation = investigation_id_for(signature) if signature != "-" else "-"
        log.info(
            "settled report=%s signature=%s investigation=%s settlement=%s duration_s=%.3f stream=%s seq=%s actor=%s",
            headers.get(HDR_MSG_ID) or f"{stream}:{meta.sequence.stream}", signature, investigation, settlement,
            duration, stream, meta.sequence.stream, actor,
        )
        if counted:
            metrics.inc("reports_settled", settlement=settlement)
    except Exception as exc2:  # a log line must never break settling
        log.debug("could not log a settlement: %r", exc2)
