"""The `swarm` command. Each area owns a Typer sub-app; this module only assembles them.

swarm nats up [--auth]        swarm streams provision|report|purge
swarm nats auth generate|check
swarm errors report|tail      swarm schemas export DIR
swarm state ...               swarm security check|eval
swarm run                     swarm investigate
swarm submit [--stop]         swarm jobs
swarm events tail             swarm health
swarm bench ...               swarm demo
swarm status
swarm comms up|serve|ingest|runs|backfill|screenshot
swarm deploy mark             swarm control status|pause|resume|cancel|budget
swarm fixes list|show|follow|release

A command line loads only the area it names: `swarm state --help` imports no Ray or Postgres (0.8 s
of CPU against 2.8 s with every area). `--help` at the top, or a name no area owns, loads them all.
`from swarm.cli import app` is the whole command, for Typer's test runner.
"""

from __future__ import annotations

import signal
import sys


def _interrupted_while_loading(signum: int, frame: object) -> None:
    sys.stderr.write("interrupted\n")
    raise SystemExit(130)


# the console script (`.../bin/swarm`): a Ctrl-C while even this module's own imports run (`typing` takes
# milliseconds) exits 130 in one line; `main` puts Python's KeyboardInterrupt back. A program that imports
# this module (Typer's test runner) keeps its own handler
if sys.argv and sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] in ("swarm", "swarm.exe") and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # SWARM_SIGINT_SET_HERE
    signal.signal(signal.SIGINT, _interrupted_while_loading)

import importlib  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    import typer

__all__ = ["app", "build_app", "main"]

app: typer.Typer  # the whole command, built on first use (`__getattr__` below)

# (module, attribute, group name, or None with the names of the commands it merges at the top level):
# a command line is routed by these names without importing every area; tests/unit/test_cli_routing.py
# checks them against the sub-apps
_AREAS: list[tuple[str, str, str | None, tuple[str, ...]]] = [
    ("swarm.bus.cli", "nats_app", "nats", ()),
    ("swarm.bus.cli", "streams_app", "streams", ()),
    ("swarm.bus.cli", "schemas_app", "schemas", ()),
    ("swarm.reporting.cli", "errors_app", "errors", ()),
    ("swarm.state.cli", "state_app", "state", ()),
    ("swarm.security.cli", "security_app", "security", ()),
    ("swarm.bloodstream.cli", "events_app", "events", ()),
    ("swarm.bloodstream.cli", "health_app", None, ("health",)),
    ("swarm.runtime.cli", "runtime_app", None, ("investigate", "run")),
    ("swarm.runtime.control_cli", "control_app", None, ("approve", "control", "deploy", "reject")),
    ("swarm.runtime.fixes_cli", "fixes_app", "fixes", ()),
    ("swarm.runtime.jobcli", "jobs_app", None, ("jobs", "submit")),
    ("swarm.bench.cli", "bench_app", "bench", ()),
    ("swarm.demo", "demo_app", None, ("demo",)),
    ("swarm.telemetry.status", "status_app", None, ("status",)),
    ("swarm.comms.cli", "comms_app", "comms", ()),
    ("swarm.about", "about_app", None, ("version",)),
]


def owned_names(area: tuple[str, str, str | None, tuple[str, ...]]) -> tuple[str, ...]:
    """The top-level names an entry of `_AREAS` answers to: its group, or the commands it merges."""
    group, merged = area[2], area[3]
    return (group,) if group is not None else merged


def build_app(names: Sequence[str] | None = None) -> typer.Typer:
    """The `swarm` command with the areas owning `names` (top-level command or group names; None: all).

    >>> sorted(c.name for c in build_app(["demo"]).registered_commands)
    ['demo']
    """
    import typer

    wanted = None if names is None else set(names)
    out = typer.Typer(
        name="swarm",
        help="swarm turns production errors into reviewed fixes.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    out.callback()(_root)  # a group even when one command is loaded: `swarm demo`, never a bare `swarm`
    for area in _AREAS:
        if wanted is not None and not wanted & set(owned_names(area)):
            continue
        module, attr, group, _ = area
        sub = getattr(importlib.import_module(module), attr)
        if group is not None:
            out.add_typer(sub, name=group)
        else:
            out.registered_commands.extend(sub.registered_commands)
            out.registered_groups.extend(sub.registered_groups)
    return out


def _root() -> None:
    pass


def _named(argv: Sequence[str]) -> str | None:
    """The area a command line names: its first word, when an area owns it (options come after it)."""
    if not argv or argv[0].startswith("-"):
        return None
    known = {name for area in _AREAS for name in owned_names(area)}
    return argv[0] if argv[0] in known else None


_INTERRUPTS: list[int] = []  # Ctrl-Cs while the command's area imports


def _interrupted_importing(signum: int, frame: object) -> None:
    # CPython drops an exception raised inside a callback of the import machinery ("Exception ignored in:
    # <function _get_module_lock.<locals>.cb>": a fresh clone's test run saw the command go on and wait out
    # its 30 s), so the Ctrl-C is also recorded and looked at once the imports are done
    _INTERRUPTS.append(signum)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> None:
    """The `swarm` entry point. Ctrl-C before the command runs (while its area imports: up to seconds for
    Ray) exits 130 in one line, as Typer does once it runs; this module imports nothing heavy for that."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:
        signal.signal(signal.SIGINT, _interrupted_importing)
    try:
        from swarm.clikit import run_app

        name = _named(list(sys.argv[1:] if argv is None else argv))
        command = build_app(None if name is None else [name])
        if signal.getsignal(signal.SIGINT) is _interrupted_importing:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if _INTERRUPTS:
            raise KeyboardInterrupt
        run_app(command, None if argv is None else list(argv))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


def __getattr__(attr: str) -> Any:
    if attr == "app":  # built on first use: a command line builds only the area it names
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


if __name__ == "__main__":
    main()
