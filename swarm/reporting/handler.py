"""A `logging.Handler` that publishes logged exceptions to swarm as ErrorReports.

    handler = NatsErrorHandler(Settings(), env="production", service="checkout", release="1.4.2")
    logging.getLogger().addHandler(handler)
    try:
        charge(order)
    except PaymentError:
        log.exception("charge failed")    # -> {ns}.errors.production, real traceback, raise site file/line

The application is never blocked and never sees an exception from this handler: `emit()` only turns
the record into a report and appends it to a bounded buffer (the oldest report is dropped first when
it is full). A background thread with its own asyncio loop
connects (retrying with backoff while the server is down), publishes each report through JetStream
with its signature as Msg-Id, and lets go of it only once JetStream acknowledged it. So
reports logged while NATS is unreachable are sent when it is back, and a retried publish that had in
fact arrived is dropped by JetStream as a duplicate instead of being stored twice.

A report larger than the server takes (its max payload, less room for headers) is cut down to fit:
the middle of its longest texts (message, stack, log message) is replaced by `… N characters cut …`,
their head and tail kept, and `context.truncated` maps each cut field to its original length
(`handler.truncated` counts them). A report that cannot fit even so is dropped. Every report given up
is counted in `handler.dropped`, by reason in `handler.dropped_by_reason` ('buffer full', 'too large',
'cannot be encoded'), and a report the server can never take is said once on stderr
(`swarm reporting: ...`, never through logging, so never back into this handler).

After `os.fork()` (gunicorn `--preload`, Celery prefork, multiprocessing's fork start method) the child's
copy of the handler starts afresh: its own background thread and connection at its first report, its
own counters, an empty buffer (reports the parent had not sent yet stay the parent's to send).

A failure that keeps reports waiting is said once on stderr, with its cause: at once when it will not go
away by itself (no stream for the subject: `swarm streams provision`; credentials or a publish refused),
after `warn_after_s` (30 s) when nothing answers; the reports are kept and retried with backoff, and a
line says when they are published again. A NATS_URL that is no server URL fails in the constructor.

`flush(timeout)` waits until the buffer is empty (tests, demo, shutdown); `close()` flushes briefly
and stops the thread. By default only records with exception info are reported; pass
`capture_errors_without_exception=True` to also report plain ERROR records (their file/line is the
logging call). `extra={"request_id": ...}` on a logging call fills the report's `context.request_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque

import nats.errors

from swarm.bus.connect import Bus, connect_options
from swarm.bus.names import Names
from swarm.bus.settings import Settings, validate_namespace
from swarm.errors import InvalidInput, SwarmError
from swarm.models import ErrorReport
from swarm.reporting.fit import fit_report
from swarm.reporting.notice import Notices, Outage
from swarm.reporting.reporter import (
    TOO_LARGE,
    build_report,
    encodable,
    publish_report,
    relative_path,
    report_from_exception,
)

__all__ = ["NatsErrorHandler"]

_HANDLERS: weakref.WeakSet[NatsErrorHandler] = weakref.WeakSet()
_PARENT_REMAINS: list[tuple[object, ...]] = []  # in a forked child: what the parent's thread left (see _after_fork)


def _after_fork_in_child() -> None:
    for handler in list(_HANDLERS):
        handler._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class NatsErrorHandler(logging.Handler):
    """Publish logged exceptions (and optionally ERROR records) as ErrorReports; never blocks or raises."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        env: str = "default",
        service: str = "unknown",
        release: str | None = None,
        namespace: str | None = None,
        url: str | None = None,
        capacity: int = 1000,
        capture_errors_without_exception: bool = False,
        capture_args: bool = True,
        level: int = logging.ERROR,
        root: str | None = None,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 2.0,
        publish_timeout_s: float = 5.0,
        warn_after_s: float = 30.0,
    ) -> None:
        # Everything that can fail is checked before logging.Handler.__init__, which registers the handler for
        # logging.shutdown() at exit: a constructor that raised leaves nothing behind to flush or close.
        settings = settings or Settings()
        if namespace is not None:
            settings = settings.model_copy(update={"nats_namespace": validate_namespace(namespace)})
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        env = Names.env(env)
        connect_options(settings, url)  # a missing NATS_URL or bad TLS path fails now, at configuration time
        super().__init__(level)
        self.settings, self.url = settings, url
        self.env, self.service, self.root = env, service, root
        self.capture_args = capture_args
        self.service_release = release or os.environ.get("SWARM_RELEASE") or None  # part of each report's Msg-Id
        self.capacity, self.capture_errors_without_exception = capacity, capture_errors_without_exception
        self.retry_initial_s, self.retry_max_s, self.publish_timeout_s = retry_initial_s, retry_max_s, publish_timeout_s
        self.warn_after_s = warn_after_s  # nothing answers for this long: said on stderr (other causes at once)
        self._stop = threading.Event()
        self._init_process_state()
        _HANDLERS.add(self)  # weakly: an after-fork hook resets the child's copy (os.register_at_fork)
        with self._cond:
            self._ensure_thread()

    def _init_process_state(self) -> None:
        """What belongs to this process: counters, buffer, locks, the background thread (started lazily)."""
        self.dropped = 0  # every report given up: buffer full (the oldest), or one the server can never take
        self.dropped_by_reason: dict[str, int] = {}  # 'buffer full', 'too large', 'cannot be encoded'
        self.failed = 0  # of the dropped, reports the server can never take (too large, not encodable as JSON)
        self.truncated = 0  # reports sent cut down to the server's max payload
        self.notices = Notices()  # one-line warnings on stderr about the handler itself (`notices.lines`)
        self._outage = Outage(self.notices, self.warn_after_s)
        self.published = 0  # acknowledged by JetStream (stored or recognised as duplicates)
        self.duplicates = 0  # of those, dropped by JetStream inside the duplicate window
        self.last_error: str | None = None
        self._buffer: deque[ErrorReport] = deque()  # waiting reports, oldest first
        self._inflight: ErrorReport | None = None  # the one being published (outside the bound)
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._bus: Bus | None = None  # the background thread's connection, once made
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        """In a forked child: the parent's thread, connection and locks are not ours. Start afresh (a thread
        of our own at the next report); the parent's waiting reports stay the parent's to send."""
        # the parent's loop, connection and events are kept, never collected here: collecting them would close
        # the dead thread's coroutines and run their cleanup (which writes to the parent's socket) in this process
        _PARENT_REMAINS.append((self._loop, self._wake, self._stopping, self._bus, self._thread))
        closed = self._stop.is_set()
        self._stop = threading.Event()
        if closed:
            self._stop.set()
        self._init_process_state()

    def _ensure_thread(self) -> None:
        """Start the background thread if this process has none yet (called with `_cond` held)."""
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="swarm-error-reporter", daemon=True)
            self._thread.start()

    # application side -------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        """Turn the record into a report and enqueue it; returns at once, never raises."""
        try:
            thread = self._thread
            if thread is not None and threading.get_ident() == thread.ident:
                return  # the NATS client logging about our own connection: reporting it would feed back
            report = self._report(record)
            if report is None:
                return
            with self._cond:
                if len(self._buffer) >= self.capacity:
                    self._buffer.popleft()
                    self._count_drop("buffer full")
                self._buffer.append(report)
                self._ensure_thread()  # a forked child's first report starts its own
            self._signal("_wake")
        except Exception:  # logging's contract: report the handler's own failure, never raise into the app
            self.handleError(record)

    def _report(self, record: logging.LogRecord) -> ErrorReport | None:
        # A record's text may hold bytes that are not UTF-8 (lone surrogates): it is escaped, never
        # refused, so the report is still published and later ones are not held up behind it.
        # (report_from_exception escapes what it is given itself)
        context = {"logger": record.name, "log_message": record.getMessage()}
        request_id = getattr(record, "request_id", None)  # logging's extra={"request_id": ...}
        if request_id is not None:
            context["request_id"] = encodable(str(request_id))
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, tb = record.exc_info
            assert exc_type is not None
            return report_from_exception(
                (exc_type, exc, tb), env=self.env, service=self.service, context=context, root=self.root,
                release=self.service_release, capture_args=self.capture_args,
            )
        if not self.capture_errors_without_exception or record.levelno < logging.ERROR:
            return None
        del context["log_message"]
        return build_report(
            encodable(record.getMessage()),
            env=self.env,
            stack=encodable(record.stack_info or ""),
            file=encodable(relative_path(record.pathname, self.root)),
            line=record.lineno,
            function=encodable(record.funcName),
            service=self.service,
            context=encodable(context),
            release=self.service_release,
        )

    @property
    def pending(self) -> int:
        """Reports buffered or in flight, not yet acknowledged by JetStream."""
        with self._cond:
            return len(self._buffer) + (self._inflight is not None)

    @property
    def connected(self) -> bool:
        bus = self._bus
        return bus is not None and bus.nc.is_connected  # the client's own state: False as soon as it lost the server

    def flush(self, timeout: float | None = 2.0) -> bool:
        """Wait until every buffered report is acknowledged; False when `timeout` ran out first."""
        if "_cond" not in self.__dict__:  # half built (a subclass's constructor raised): nothing to wait for
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (self._buffer or self._inflight) and self._thread is not None and self._thread.is_alive():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return not (self._buffer or self._inflight)

    def close(self, timeout: float = 2.0) -> None:
        """Flush for up to `timeout`, then stop the background thread (reports still buffered are lost)."""
        if "_stop" in self.__dict__ and not self._stop.is_set():
            self.flush(timeout)
            self._stop.set()
            self._signal("_stopping")
            self._signal("_wake")
            if self._thread is not None:
                self._thread.join(timeout)
        super().close()

    def _signal(self, name: str) -> None:
        loop, event = getattr(self, "_loop", None), getattr(self, name, None)
        if loop is not None and event is not None:
            # the loop may just have closed (handler shutting down): nothing left to wake then
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    # background thread -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())  # its own loop; asyncio.run also cancels the client's leftover tasks
        finally:
            self._loop = None
            with self._cond:
                self._cond.notify_all()  # wake flush() waiters: nobody will drain the buffer now

    async def _main(self) -> None:
        self._wake, self._stopping = asyncio.Event(), asyncio.Event()
        self._loop = asyncio.get_running_loop()
        bus: Bus | None = None
        delay = self.retry_initial_s
        try:
            while not self._stop.is_set():
                if not self.pending:
                    self._wake.clear()
                    if not self.pending:  # re-check after clear: an emit in between has set _wake
                        await self._wait(self._wake, None)
                    continue
                try:
                    if bus is None:  # connect before taking a report: while down, all of them stay droppable
                        bus = self._bus = await Bus.connect(self.settings, self.url, role="reporter")
                    item = self._take()
                    fitted = self._fit(item, bus.payload_room())
                    if fitted is None:
                        continue
                    outcome = await publish_report(bus, fitted, timeout=self.publish_timeout_s)
                except InvalidInput as exc:  # this report can never be stored: give it up, keep the rest
                    reason = "too large" if str(exc).startswith(TOO_LARGE) else "cannot be encoded"
                    self._give_up(reason, f"a report was dropped: {exc}")
                    continue
                except Exception as exc:  # unreachable, not provisioned yet, refused: keep it, retry later
                    # (anything unmapped too: this thread must outlive every failure, the app relies on it)
                    self.last_error = str(exc) if isinstance(exc, SwarmError) else f"{type(exc).__name__}: {exc}"
                    self._give_back()
                    self._outage.failed(exc, self.pending)  # told once on stderr: a cause that stays is not silent
                    await self._wait(self._stopping, delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
                delay = self.retry_initial_s
                self._settle(duplicate=outcome.duplicate)
                self._outage.succeeded(self.pending)
        finally:
            self._bus = None
            if bus is not None:
                await bus.close()
                # drain refuses while reconnecting: close outright; a connection already lost is fine
                with contextlib.suppress(OSError, nats.errors.Error):
                    if not bus.nc.is_closed:
                        await bus.nc.close()

    def _fit(self, item: ErrorReport, room: int) -> ErrorReport | None:
        """The report cut down to `room` bytes when it is larger; None (given up) when it cannot fit."""
        try:
            fitted = fit_report(item, room)
        except Exception:  # noqa: BLE001 - cannot be encoded: publish_report says so, and it is given up
            return item
        if fitted is None:
            self._give_up("too large", f"a report of {len(item.to_bytes())} bytes was dropped: it does not fit "
                                       f"the server's max payload ({room} bytes with headers) even cut down")
        elif fitted is not item:
            self.truncated += 1
        return fitted

    def _give_up(self, reason: str, message: str) -> None:
        """The report in flight can never be stored: dropped, counted by reason, said once on stderr."""
        self.last_error = message
        self._settle(failed=True, reason=reason)
        self.notices.warn(f"drop:{reason}", f"{message} (counted in handler.dropped)")

    def _count_drop(self, reason: str) -> None:
        """Called with `_cond` held."""
        self.dropped += 1
        self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + 1

    def _take(self) -> ErrorReport:
        with self._cond:
            self._inflight = self._buffer.popleft()
            return self._inflight

    def _give_back(self) -> None:
        """A failed publish: the report goes back to the front, or is dropped if newer ones filled the buffer."""
        with self._cond:
            item, self._inflight = self._inflight, None
            if item is not None:
                if len(self._buffer) < self.capacity:
                    self._buffer.appendleft(item)
                else:
                    self._count_drop("buffer full")  # it is the oldest report
            self._cond.notify_all()

    def _settle(self, *, failed: bool = False, duplicate: bool = False, reason: str = "") -> None:
        with self._cond:
            self._inflight = None
            if failed:
                self.failed += 1
                self._count_drop(reason)
            else:
                self.published += 1
                self.duplicates += int(duplicate)
            self._cond.notify_all()

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
