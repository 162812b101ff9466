"""Imported by Python at start-up (as `sitecustomize`) in the offline brain's built repros, probes and carves.

Those runs call the application's own functions with the values a production report carried (an order id, a
customer's address), so a connection they open would replay the production side effect: a review saw one error's
investigation POST the same order to a carrier's API 22 times. Every AF_INET / AF_INET6 connect is refused here
(ConnectionRefusedError, as an unreachable host gives), loopback included: a local service is someone's data too.
The repository's own tests run without this guard. A `sitecustomize` of the environment's is still loaded.
"""

from __future__ import annotations

import errno
import importlib
import os
import socket
import sys
from typing import Any

REFUSED = "swarm: no network in a repro run (it calls your code with a report's production values)"
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
_INET = (socket.AF_INET, socket.AF_INET6)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in _INET:
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"{REFUSED}: {address!r}")
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in _INET:
        return errno.ECONNREFUSED
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]

# the environment's own sitecustomize, if any, as Python would have loaded it without this directory
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_self = sys.modules.pop("sitecustomize", None)
try:
    importlib.import_module("sitecustomize")
except ImportError:
    sys.modules["sitecustomize"] = _self  # type: ignore[assignment]
