"""One-line warnings of the error handler about itself, written straight to stderr.

    notices = Notices(interval_s=300)
    notices.warn("no-stream", "no stream takes 'payments.errors.production' ...; 3 report(s) kept, retrying")
    # stderr: swarm reporting: no stream takes 'payments.errors.production' ...; 3 report(s) kept, retrying

Never through `logging`: the handler may be attached to the root logger, and a warning logged there would
come back to it as a record to report. Like logging's last-resort handler, the line goes to the
`sys.stderr` of the moment. Each cause (its key) is written at most once per `interval_s`; `lines` keeps
the last ones written, for tests and for an application that wants to show them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

__all__ = ["Notices", "PREFIX"]

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
