"""One-line warnings of the error handler about itself, written straight to stderr.

    notices = Notices(interval_s=300)
    notices.warn("no-stream", "no stream takes 'payments.errors.production' ...; 3 report(s) kept, retrying")
    # stderr: swarm reporting: no stream takes 'payments.errors.production' ...; 3 report(s) kept, retrying

Never through `logging`: the handler may be attached to the root logger, and a warning logged there would
come back to it as a record to report. Like logging's last-resort handler, the line goes to the
`sys.stderr` of the moment. Each cause (its key) is written at most once per `interval_s`; `lines` keeps
the last ones written, for tests and for an application that wants to show them.

`Outage` decides when a failure that keeps reports waiting is worth a line (see there).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

from swarm.errors import ConfigError, SwarmError

__all__ = ["Notices", "Outage", "PREFIX"]

PREFIX = "swarm reporting: "


class Notices:
    """Rate-limited one-line warnings on stderr, keyed by cause."""

    def __init__(self, interval_s: float = 300.0) -> None:
        self.interval_s = interval_s
        self.lines: deque[str] = deque(maxlen=50)
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def warn(self, key: str, text: str) -> bool:
        """Write `swarm reporting: <text>` unless `key` was warned about within the interval; True if written."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                return False
            self._last[key] = now
            line = PREFIX + text
            self.lines.append(line)
        try:
            stream = sys.stderr
            if stream is not None:
                stream.write(line + "\n")
                stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stderr must not stop the reporter
            pass
        return True

    def forget(self, key: str) -> bool:
        """Let `key` be warned about again at once (its cause went away); True if it had been warned about."""
        with self._lock:
            return self._last.pop(key, None) is not None


class Outage:
    """What keeps reports from being published, told once: at once for a cause that will not go away by
    itself (a ConfigError: no stream for the subject, credentials or a publish refused, TLS), after
    `warn_after_s` of failing for one that may (nothing answers: a server restarting); and once when
    reports are published again. Called from the handler's background thread only."""

    def __init__(self, notices: Notices, warn_after_s: float = 30.0) -> None:
        self.notices, self.warn_after_s = notices, warn_after_s
        self._since: float | None = None  # when the current run of failures began
        self._warned: set[str] = set()

    def failed(self, exc: BaseException, waiting: int) -> None:
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if not isinstance(exc, ConfigError) and now - self._since < self.warn_after_s:
            return
        reason = str(exc) if isinstance(exc, SwarmError) else f"{type(exc).__name__}: {exc}"
        key = f"outage:{type(exc).__name__}"
        if self.notices.warn(key, f"reports are not being published: {reason}; {waiting} report(s) kept, retrying"):
            self._warned.add(key)

    def succeeded(self, waiting: int) -> None:
        self._since = None
        if not self._warned:
            return
        for key in self._warned:
            self.notices.forget(key)
        self._warned.clear()
        self.notices.forget("outage:over")
        self.notices.warn("outage:over", f"reports are published again ({waiting} more waiting)")
