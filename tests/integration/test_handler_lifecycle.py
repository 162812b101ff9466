"""The logging handler over a process's life (real nats-servers): after a fork the child reports on its own;
a failure that keeps reports waiting is said once on stderr."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from swarm.errors import ConfigError
from swarm.reporting.handler import NatsErrorHandler
from tests.integration.test_foundation_handler import logger, provision_ns, stored  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]


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


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # polling a condition, with a deadline
    return True


def log_one(log: logging.Logger, text: str) -> None:
    try:
        raise RuntimeError(text)
    except RuntimeError:
        log.exception(text)


def warned(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("swarm reporting: ")]


def test_a_namespace_not_provisioned_is_said_once_on_stderr_and_reports_go_out_once_it_is(
    logger: logging.Logger, settings: Settings, capsys: pytest.CaptureFixture[str]  # noqa: F811 - the fixture
) -> None:
    handler = NatsErrorHandler(settings, env="staging", retry_max_s=0.05)
    logger.addHandler(handler)
    log_one(logger, "first")
    assert wait_for(lambda: len(handler.notices.lines) == 1)
    log_one(logger, "second")  # retried many times meanwhile: still one line
    assert wait_for(lambda: handler.pending == 2)
    assert not handler.flush(0.3)
    [line] = warned(capsys)
    assert line.startswith("swarm reporting: reports are not being published: no stream takes "
                           f"'{settings.nats_namespace}.errors.staging'")
    assert f"namespace '{settings.nats_namespace}'" in line and "`swarm streams provision`" in line
    assert line.endswith("report(s) kept, retrying")

    provision_ns(settings)
    assert handler.flush(30), handler.last_error
    assert [r.error for r in stored(settings, "staging")] == ["RuntimeError: first", "RuntimeError: second"]
    assert wait_for(lambda: len(handler.notices.lines) == 2)
    assert warned(capsys) == ["swarm reporting: reports are published again (1 more waiting)"]


def test_refused_credentials_are_said_on_stderr(
    logger: logging.Logger, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    with EmbeddedNats(store_dir=tmp_path / "auth", extra_args=["--user", "app", "--pass", "s3cret"]) as server:
        handler = NatsErrorHandler(settings.model_copy(update={"nats_url": server.url}), retry_max_s=0.05)
        logger.addHandler(handler)
        log_one(logger, "refused")
        assert wait_for(lambda: len(handler.notices.lines) >= 1)
        assert handler.pending == 1 and not handler.connected
        handler.close(0.05)  # its report can never go out: do not wait for it
    [line] = warned(capsys)
    assert "refused the credentials of user anonymous: authorization violation" in line
    assert line.endswith("1 report(s) kept, retrying")


def test_nothing_answering_is_said_after_warn_after_s(
    logger: logging.Logger, settings: Settings, capsys: pytest.CaptureFixture[str]  # noqa: F811 - the fixture
) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    handler = NatsErrorHandler(settings.model_copy(update={"nats_url": url}), retry_max_s=0.05, warn_after_s=0.3)
    logger.addHandler(handler)
    started = time.monotonic()
    log_one(logger, "unreachable")
    assert wait_for(lambda: len(handler.notices.lines) >= 1)
    assert time.monotonic() - started >= 0.3
    handler.close(0.05)  # its report can never go out: do not wait for it
    [line] = warned(capsys)
    assert f"nothing answers at NATS_URL={url}" in line and line.endswith("1 report(s) kept, retrying")


@pytest.mark.parametrize("url", ["not a url", "nats://127.0.0.1:99999", "http://127.0.0.1:4222"])
def test_a_nats_url_that_is_no_server_url_fails_in_the_constructor(settings: Settings, url: str) -> None:
    with pytest.raises(ConfigError, match=r"NATS_URL=.* is not a server URL .*expected nats://host:4222"):
        NatsErrorHandler(settings.model_copy(update={"nats_url": url}))


def test_a_refused_nats_url_never_shows_its_password(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="not a server URL") as refused:
        NatsErrorHandler(settings.model_copy(update={"nats_url": "nats://alice:s3cret@host:99999"}))
    assert "s3cret" not in str(refused.value) and "nats://***@host:99999" in str(refused.value)
    from swarm.bus.connect import redacted  # what every NATS_URL in an error message goes through

    assert redacted("nats://a:b@h:1,tls://tok@d:2,nats://e:3") == "nats://***@h:1,tls://***@d:2,nats://e:3"


CONSTRUCTOR_FAILS = """
import logging, os
from swarm.reporting.handler import NatsErrorHandler
kept = []  # the application keeps the errors (to show them later): their tracebacks hold the half-built handlers
for kwargs in ({"env": "qa"}, {"namespace": "a.b"}, {"capacity": 0}, {"url": "not a url"}):
    try:
        NatsErrorHandler(**kwargs)
    except Exception as exc:
        print("refused:", type(exc).__name__)
        kept.append(exc)
os.environ.pop("NATS_URL")
try:
    NatsErrorHandler()
except Exception as exc:
    print("refused:", type(exc).__name__)
    kept.append(exc)
print("carrying on without the handler")
"""


def test_a_handler_whose_constructor_raised_leaves_nothing_behind_at_exit(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "NATS_URL": settings.nats_url or "", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", CONSTRUCTOR_FAILS], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "refused: ValueError", "refused: InvalidNamespace", "refused: ValueError", "refused: ConfigError",
        "refused: ConfigError", "carrying on without the handler",
    ]
    assert result.stderr == ""  # logging.shutdown() at exit found no half-built handler to flush


def test_flush_and_close_of_a_half_built_handler_do_nothing() -> None:
    half = NatsErrorHandler.__new__(NatsErrorHandler)
    logging.Handler.__init__(half)  # what a subclass that raises after super().__init__() leaves behind
    assert half.flush() is True
    half.close()


def test_connected_follows_the_client_when_the_server_goes_away(
    logger: logging.Logger, settings: Settings, tmp_path: Path  # noqa: F811 - the fixture
) -> None:
    with EmbeddedNats(store_dir=tmp_path / "store") as server:
        ours = settings.model_copy(update={"nats_url": server.url})
        provision_ns(ours, server.url)
        handler = NatsErrorHandler(ours, retry_max_s=0.2)
        logger.addHandler(handler)
        log_one(logger, "while up")
        assert handler.flush(30), handler.last_error
        assert handler.connected
    assert wait_for(lambda: not handler.connected, timeout=5)  # no report needed to notice


def test_a_request_id_given_as_logging_extra_fills_the_reports_context(
    logger: logging.Logger, settings: Settings  # noqa: F811 - the fixture
) -> None:
    provision_ns(settings)
    handler = NatsErrorHandler(settings, capture_errors_without_exception=True)
    logger.addHandler(handler)
    try:
        raise KeyError("user_id")
    except KeyError:
        logger.exception("lookup", extra={"request_id": "req-9"})
    logger.error("plain", extra={"request_id": 1234})
    assert handler.flush(30), handler.last_error
    raised, plain = stored(settings, "default")
    assert (raised.context.request_id, plain.context.request_id) == ("req-9", "1234")
    assert "request_id" not in (raised.context.model_extra or {})
