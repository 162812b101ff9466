"""The logging handler over a process's life (real nats-server): after a fork the child reports on its own."""

from __future__ import annotations

import logging
import multiprocessing
import socket
from typing import Any

from swarm.bus.settings import Settings
from swarm.reporting.handler import NatsErrorHandler
from tests.integration.test_foundation_handler import logger, provision_ns, stored  # noqa: F401 - fixture


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_after_a_fork_the_child_publishes_its_own_reports_and_not_the_parents_backlog(
    logger: logging.Logger, settings: Settings  # noqa: F811 - the fixture
) -> None:
    provision_ns(settings)
    handler = NatsErrorHandler(settings, env="staging", service="forked", retry_max_s=0.2)
    # a second handler whose server is down: its report waits in the parent's buffer across the fork
    down = NatsErrorHandler(settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{free_port()}"}),
                            env="staging", retry_max_s=0.2)
    logger.addHandler(handler)
    try:
        raise ValueError("in the parent before the fork")
    except ValueError:
        logger.exception("parent")
    assert handler.flush(30), handler.last_error
    assert handler.connected
    other = logging.getLogger(f"{logger.name}.down")
    other.propagate = False
    other.addHandler(down)
    try:
        raise ValueError("waiting in the parent")
    except ValueError:
        other.exception("backlog")
    other.removeHandler(down)
    assert down.pending == 1

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        seen: dict[str, Any] = {"at_fork": (handler.connected, handler.pending, handler.published, down.pending)}
        try:
            raise ValueError("in the child after the fork")
        except ValueError:
            logger.exception("child")
        seen["flushed"] = handler.flush(30)
        seen["after"] = (handler.published, handler.last_error)
        send.send(seen)

    process = ctx.Process(target=child)
    process.start()
    try:
        assert receive.poll(60), "the child sent nothing"
        seen = receive.recv()
    finally:
        process.join(30)
    assert process.exitcode == 0
    assert seen["at_fork"] == (False, 0, 0, 0)  # its own state: not connected, nothing of the parent's
    assert seen["flushed"] is True, seen["after"]
    assert seen["after"] == (1, None)
    assert [r.error for r in stored(settings, "staging")] == [
        "ValueError: in the parent before the fork",
        "ValueError: in the child after the fork",
    ]
    assert (handler.published, down.pending) == (1, 1)  # the parent's copies are untouched
    down.close(0.1)
