"""A Ctrl-C while the command's area imports exits 130 even when CPython drops the KeyboardInterrupt (raised
inside a callback of the import machinery: "Exception ignored in: <function _get_module_lock.<locals>.cb>")."""

from __future__ import annotations

import signal
import weakref

import pytest

import swarm.cli as cli


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped one, on purpose
def test_a_ctrl_c_the_import_machinery_dropped_still_exits_130(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    ran: list[object] = []

    class _Lock:
        pass

    def build_app(names: object = None) -> object:
        # what CPython does with the import lock's weakref callback: the exception it raises is printed, dropped
        lock = _Lock()
        ref = weakref.ref(lock, lambda _ref: signal.getsignal(signal.SIGINT)(signal.SIGINT, None))
        del lock  # the callback runs here; its KeyboardInterrupt never reaches this frame
        assert ref() is None
        return object()

    monkeypatch.setattr(cli, "build_app", build_app)
    monkeypatch.setattr(cli, "_INTERRUPTS", [], raising=False)
    monkeypatch.setattr("swarm.clikit.run_app", lambda *a, **k: ran.append(a))
    previous = signal.signal(signal.SIGINT, cli._interrupted_while_loading)  # as the console script starts
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main(["control", "ping"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert exited.value.code == 130 and ran == []
    assert capsys.readouterr().err.endswith("interrupted\n")
