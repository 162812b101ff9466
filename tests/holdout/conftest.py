"""The held-out fix set: validity checks only (swarm investigate runs in tests.holdout.fixes.run)."""

from __future__ import annotations


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line("markers", "holdout: quick validity checks of the held-out fix cases")
