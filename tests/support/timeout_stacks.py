"""A test still running shortly before its pytest-timeout prints every thread's stack, and every running
event loop's tasks, to the console.

pytest-timeout's own dump (thread method) goes to the worker's stdout, which xdist does not show, and
then it ends the worker: without this, a CI log says only which test hung, never where. The stacks are
printed `min(10 s, a fifth of the timeout)` before it, to the stderr pytest saved before capturing.
`tests/conftest.py` installs the hook; this module is also a plugin (`-p`), which is how
`tests/unit/test_xdist_scheduling.py` checks it on a suite with a hanging test.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

import pytest

__all__ = ["console_of", "pytest_runtest_protocol"]


def console_of(config: pytest.Config) -> TextIO:
    """The stderr pytest saved before capturing (the CI log), opened once per session."""
    console = getattr(config, "_swarm_console", None)
    if console is None:
        capman = config.pluginmanager.getplugin("capturemanager")
        saved = getattr(getattr(getattr(capman, "_global_capturing", None), "err", None), "targetfd_save", None)
        console = os.fdopen(os.dup(saved), "w") if isinstance(saved, int) else sys.__stderr__
        config._swarm_console = console  # type: ignore[attr-defined]  # kept open for the session
    return console


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    seconds = _timeout_of(item)
    timer = None
    if seconds > 0:
        timer = threading.Timer(seconds - min(10.0, seconds / 5), _dump, args=(item.nodeid, console_of(item.config)))
        timer.daemon = True
        timer.start()
    try:
        return (yield)
    finally:
        if timer is not None:
            timer.cancel()


def _timeout_of(item: pytest.Item) -> float:
    """The timeout pytest-timeout applies to `item` (marker, --timeout, PYTEST_TIMEOUT, ini); 0 without it."""
    try:  # its own reading of every place a timeout is set (a private name: a pytest-timeout without it dumps none)
        from pytest_timeout import _get_item_settings
    except ImportError:
        return 0.0
    if not item.config.pluginmanager.hasplugin("timeout"):
        return 0.0
    return float(_get_item_settings(item).timeout or 0)


def _dump(nodeid: str, console: TextIO) -> None:
    console.write(f"\n+++ {nodeid} is about to time out; its process's threads:\n")
    console.flush()
    faulthandler.dump_traceback(file=console, all_threads=True)
    console.flush()
    _dump_tasks(console)


def _dump_tasks(console: TextIO) -> None:
    """Each running event loop's tasks and where each awaits: a thread idle in `select` says nothing more."""
    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]
    for loop in loops:
        with contextlib.suppress(Exception):  # read from another thread: a diagnostic, best effort
            tasks = asyncio.all_tasks(loop)
            console.write(f"+++ event loop {id(loop):#x}: {len(tasks)} tasks\n")
            for task in tasks:
                console.write(f"task {task.get_name()}:\n{''.join(_awaits(task))}")
    console.flush()


def _awaits(task: asyncio.Task) -> Iterator[str]:
    """The chain of awaits a task is suspended in, outermost first, then the future it waits on
    (Task.print_stack shows only the outermost frame)."""
    coro: Any = task.get_coro()
    for _ in range(100):
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if frame is None:
            break
        yield f'  File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}\n'
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None) or getattr(coro, "ag_await", None)
    waiter = getattr(task, "_fut_waiter", None)  # a Ray call's future, a socket's, a sleep's
    if waiter is not None:
        yield f"  waiting on {waiter!r:.300}\n"
