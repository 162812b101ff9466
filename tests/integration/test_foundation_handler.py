"""The logging handler against real nats-servers: real tracebacks, and outages it must survive."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarm.bus.connect import open_bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.errors import ConfigError
from swarm.models import ErrorReport
from swarm.reporting.handler import NatsErrorHandler

HERE = Path(__file__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stored(settings: Settings, env: str, url: str | None = None) -> list[ErrorReport]:
    async def go() -> list[ErrorReport]:
        async with open_bus(settings, url) as bus:
            stream = bus.names.error_stream(env)
            state = (await bus.js.stream_info(stream)).state
            if state.messages == 0:
                return []
            msgs = [await bus.js.get_msg(stream, s) for s in range(state.first_seq, state.last_seq + 1)]
            return [ErrorReport.model_validate_json(m.data or b"") for m in msgs]

    return asyncio.run(go())


def provision_ns(settings: Settings, url: str | None = None) -> None:
    async def go() -> None:
        async with open_bus(settings, url) as bus:
            await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))

    asyncio.run(go())


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"app.{uuid.uuid4().hex[:8]}")
    log.propagate = False  # keep pytest's capture out of it: only our handler sees these records
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()


class CardDeclined(Exception):
    pass


RAISE_LINE: list[int] = []


def charge(card: str) -> None:
    RAISE_LINE.append(sys._getframe().f_lineno + 1)
    raise CardDeclined(f"card {card} declined by issuer")


def checkout(card: str) -> None:
    charge(card)  # the raise site is one frame deeper


def test_a_logged_exception_is_published_with_its_real_traceback(logger: logging.Logger, settings: Settings) -> None:
    provision_ns(settings)
    handler = NatsErrorHandler(settings, env="staging", service="checkout")
    logger.addHandler(handler)
    try:
        checkout("4242-4242")
    except CardDeclined:
        logger.exception("checkout failed for order %s", "o-17")
    logger.warning("not an error: ignored")
    logger.error("an ERROR without exception: not reported by default")
    assert handler.flush(30), handler.last_error

    [report] = stored(settings, "staging")
    assert report.error == f"{__name__}.CardDeclined: card 4242-4242 declined by issuer"
    assert (report.service, report.environment) == ("checkout", "staging")
    assert Path(report.context.file or "").resolve() == HERE.resolve()
    assert not Path(report.context.file or "").is_absolute()  # relative to the working directory
    assert (report.context.line, report.context.function) == (RAISE_LINE[-1], "charge")
    assert report.stack.startswith("Traceback (most recent call last):")
    assert 'raise CardDeclined(f"card {card} declined by issuer")' in report.stack
    assert "in checkout" in report.stack and "in charge" in report.stack
    extra = report.context.model_extra or {}
    # the raise site's arguments, for the offline brain's repro (README: Arguments)
    # the raise site's arguments, and its caller's (`checkout(card)`, which logged it), as the handler took them
    assert extra == {"logger": logger.name, "log_message": "checkout failed for order o-17",
                     "args": ["4242-4242"], "kwargs": {},
                     "calls": [{"file": report.context.file, "function": "checkout", "args": ["4242-4242"],
                                "kwargs": {}}]}, extra  # the caller's file relative, as the raise site's
    assert (handler.published, handler.duplicates, handler.dropped, handler.pending) == (1, 0, 0, 0)


def test_error_records_without_exception_are_reported_when_asked(logger: logging.Logger, settings: Settings) -> None:
    provision_ns(settings)
    handler = NatsErrorHandler(settings, capture_errors_without_exception=True, service="api")
    logger.addHandler(handler)
    line = sys._getframe().f_lineno + 1
    logger.error("payment provider returned %d", 502)
    logger.error("payment provider returned %d", 503)  # another line: another signature
    logger.error("payment provider returned %d", 502)  # same text as the first but another line
    assert handler.flush(30), handler.last_error
    reports = stored(settings, "default")
    assert [(r.error, r.context.line) for r in reports] == [
        ("payment provider returned 502", line),
        ("payment provider returned 503", line + 1),
        ("payment provider returned 502", line + 2),
    ]
    assert reports[0].context.function == "test_error_records_without_exception_are_reported_when_asked"


def test_with_the_server_down_it_neither_raises_nor_blocks_and_flushes_once_it_starts(
    logger: logging.Logger, settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    down = settings.model_copy(update={"nats_url": url})
    handler = NatsErrorHandler(down, env="production", capacity=3, retry_max_s=0.2)
    logger.addHandler(handler)

    # No server exists on that port yet; it is started only after these calls return, so an emit that
    # waited for the connection would never return and the test would hang instead of going on.
    for word in ("alpha", "beta", "gamma", "delta", "epsilon"):
        try:
            raise RuntimeError(f"{word} failed")
        except RuntimeError:
            logger.exception("while handling %s", word)
    assert (handler.pending, handler.dropped, handler.published) == (3, 2, 0)  # oldest dropped first
    assert not handler.connected
    assert handler.flush(0.05) is False  # nothing can be sent yet

    with EmbeddedNats(port=port, store_dir=tmp_path / "late") as server:
        assert server.url == url
        provision_ns(down, url)
        assert handler.flush(30), handler.last_error
        assert handler.connected
        assert [r.error for r in stored(down, "production", url)] == [
            "RuntimeError: gamma failed",
            "RuntimeError: delta failed",
            "RuntimeError: epsilon failed",
        ]
        handler.close()
    assert not handler._thread.is_alive()


def test_reports_logged_during_an_outage_are_sent_when_the_server_is_back(
    logger: logging.Logger, settings: Settings, tmp_path: Path
) -> None:
    server = EmbeddedNats(store_dir=tmp_path / "store").start()
    try:
        url = server.url
        ours = settings.model_copy(update={"nats_url": url})
        provision_ns(ours, url)
        handler = NatsErrorHandler(ours, retry_max_s=0.2, publish_timeout_s=1.0)
        logger.addHandler(handler)
        try:
            raise ValueError("before the outage")
        except ValueError:
            logger.exception("first")
        assert handler.flush(30), handler.last_error

        server.stop()
        try:
            raise ValueError("during the outage")
        except ValueError:
            logger.exception("second")  # returns at once although nothing answers
        assert handler.pending == 1
        server.restart()  # same port, same store
        assert handler.flush(60), handler.last_error
        assert [r.error for r in stored(ours, "default", url)] == [
            "ValueError: before the outage",
            "ValueError: during the outage",
        ]
        assert handler.dropped == handler.failed == 0
        handler.close()
    finally:
        server.stop()


def test_text_that_is_not_utf8_is_escaped_and_later_reports_still_go_out(
    logger: logging.Logger, settings: Settings
) -> None:
    provision_ns(settings)
    handler = NatsErrorHandler(settings, env="staging", capture_errors_without_exception=True, retry_max_s=0.2)
    # only ours: pytest captures non-propagating loggers too, and a captured record holding a lone surrogate
    # cannot be sent from an xdist worker to the controller (the whole run fails)
    logger.handlers = [handler]
    try:
        raise RuntimeError("clean message")
    except RuntimeError:
        logger.exception("boom \udcfe")  # how Python keeps a byte it could not decode
    try:
        raise ValueError("bad byte \udcfe")
    except ValueError:
        logger.exception("while reading")
    logger.error("plain \udcff record, no exception")
    try:
        1 / 0  # noqa: B018 - the error is the point
    except ZeroDivisionError:
        logger.exception("later")
    assert handler.flush(30), handler.last_error

    logged, raised, plain, later = stored(settings, "staging")
    assert (logged.context.model_extra or {})["log_message"] == "boom \\xfe"  # escaped, not lost
    assert raised.error == "ValueError: bad byte \\xfe" and "bad byte \\xfe" in raised.stack
    assert plain.error == "plain \\xff record, no exception"
    assert later.error == "ZeroDivisionError: division by zero"
    assert (handler.published, handler.failed, handler.dropped, handler.pending) == (4, 0, 0, 0)


class Unescaped(NatsErrorHandler):
    """A handler whose report of one record cannot be encoded at all (built past build_report's check)."""

    def _report(self, record: logging.LogRecord) -> ErrorReport | None:
        if record.getMessage() == "unencodable":
            return ErrorReport(error="Unencodable", stack="Traceback \udcfe", environment="staging")
        return super()._report(record)


def test_a_report_that_cannot_be_encoded_is_given_up_with_its_reason_not_retried(
    logger: logging.Logger, settings: Settings
) -> None:
    provision_ns(settings)
    handler = Unescaped(settings, env="staging", retry_max_s=0.2)
    logger.addHandler(handler)
    for message in ("unencodable", "later"):
        try:
            raise RuntimeError(message)
        except RuntimeError:
            logger.exception(message)
    assert handler.flush(30), handler.last_error
    assert [r.error for r in stored(settings, "staging")] == ["RuntimeError: later"]
    assert (handler.published, handler.failed, handler.dropped) == (1, 1, 1)  # given up: counted as dropped
    assert handler.dropped_by_reason == {"cannot be encoded": 1}
    assert "cannot be encoded as JSON" in (handler.last_error or "")


def test_misconfiguration_fails_at_setup_not_at_log_time(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="NATS_URL is not set"):
        NatsErrorHandler(settings.model_copy(update={"nats_url": None}))
    with pytest.raises(ValueError, match="unknown environment 'qa'"):
        NatsErrorHandler(settings, env="qa")
    with pytest.raises(ValueError, match="invalid namespace 'a.b'"):
        NatsErrorHandler(settings, namespace="a.b")
