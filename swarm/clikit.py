"""Small helpers every CLI sub-app uses: settings, async bridging, JSON or rich output, errors.

@app.command()
def report(json_out: bool = JSON_OPTION) -> None:
    with cli_errors():
        data = run(fetch_report(load_settings()))
    emit(data, json_out, render=lambda d: console.print(make_table(d)))
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import math
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, NoReturn, TextIO, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from typer import rich_utils

from swarm.bus.settings import Settings, validate_namespace
from swarm.errors import InvalidNamespace, SwarmError, explain

__all__ = [
    "console", "err_console", "JSON_OPTION", "json_option", "load_settings", "run", "emit", "fail", "cli_errors",
    "run_app", "finite", "one_of", "namespace_value", "login_name", "said_on_stderr",
]

T = TypeVar("T")
PIPED_WIDTH = 250  # columns of output that goes to a pipe or a file: a table's rows stay one line each


def _width(stream: TextIO | None) -> int | None:
    """Rich's width (None: the terminal's, or COLUMNS); into a pipe Rich would assume 80 and wrap every cell."""
    if "COLUMNS" in os.environ or stream is None or stream.isatty():
        return None
    return PIPED_WIDTH


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))
# Click's own error class (typer vendors Click, and exports only some of its exceptions)
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_json_mode: contextvars.ContextVar[bool] = contextvars.ContextVar("json_mode", default=False)


def _remember_json(value: bool) -> bool:
    # every command has this option and its callback runs on every parse (False when absent): `fail` then
    # knows whether to answer in JSON too
    _json_mode.set(bool(value))
    return value


def json_option(help: str = "print JSON for scripts instead of tables") -> Any:
    """A command's `--json` (every one goes through here: its errors then answer in JSON too)."""
    return typer.Option(False, "--json", help=help, callback=_remember_json)


JSON_OPTION = json_option()


def finite(value: float | None) -> float | None:
    """An option callback for a number of seconds: Click's `min=` lets `inf` through (a run that never
    ends), so refuse a value that is not finite as a usage error naming the option (exit 2)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def one_of(choices: Sequence[str], what: str) -> Callable[[Any], Any]:
    """An option callback: a value (or each of a repeated option's) outside `choices` is a usage error naming
    the option (exit 2), e.g. `typer.Option(..., "--role", callback=one_of(ROLES, "role"))`."""

    def check(value: Any) -> Any:
        for v in value if isinstance(value, list | tuple) else [value]:
            if v is not None and v not in choices:
                raise typer.BadParameter(f"unknown {what} {v!r}: expected one of {', '.join(choices)}")
        return value

    return check


def namespace_value(value: Any) -> Any:
    """An option callback for a namespace given on the command line (or each of a repeated one): one that
    cannot be a namespace is a usage error naming the option (not the NATS_NAMESPACE variable)."""
    try:
        if isinstance(value, list | tuple):
            return [validate_namespace(v) for v in value]
        return value if value is None else validate_namespace(value)
    except InvalidNamespace as exc:
        raise typer.BadParameter(str(exc)) from None


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr and exit `code`; under `--json`, when nothing was printed yet, also
    `{"error": ..., "exit_code": ...}` on stdout, so a script reading stdout gets an object it can parse."""
    # the message is text, never markup: '[valid ...]' in a YAML or jq error must print as it is
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    if _json_mode.get():
        _json_error(message, code)
    raise typer.Exit(code)


def _json_error(message: str, code: int) -> None:
    sys.stdout.write(json.dumps({"error": message, "exit_code": code}) + "\n")
    sys.stdout.flush()


def run_app(app: typer.Typer, args: list[str] | None = None) -> NoReturn:
    """Run `app` as the `swarm` command. Under `--json`, a command line Click refuses (an unknown option,
    a value of the wrong type: exit 2) also answers `{"error": ..., "exit_code": 2}` on stdout, beside
    Click's usual box on stderr; the option's callback never ran for it (parsing stopped first)."""
    args = sys.argv[1:] if args is None else args
    if "--json" not in args:
        app(args=args)
        raise SystemExit(0)
    try:
        code = app(args=args, standalone_mode=False)
    except _CLICK_ERROR as exc:
        rich_utils.rich_format_error(exc)
        _json_error(exc.format_message(), exc.exit_code)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        err_console.print("Aborted!")
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def load_settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        fail(explain(exc, upper=True))
    except SwarmError as exc:  # an env file that cannot be read
        fail(str(exc))
    settings.export_brain_key()  # a key in `.env` reaches the brain (and Ray workers started from here)
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn swarm errors (and invalid input) into one clear line on stderr and exit 1."""
    try:
        yield
    except SwarmError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail("invalid input: " + explain(exc))


def emit(data: Any, as_json: bool, render: Callable[[Any], None] | None = None) -> None:
    """Print `data` as JSON (for scripts) or through `render` (for people)."""
    if as_json or render is None:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        sys.stdout.flush()
        _json_mode.set(False)  # stdout holds the answer: a later `fail` (e.g. --strict) adds no second document
    else:
        render(data)


def login_name() -> str:
    """Who runs the command, for an audit's `by` (a container may have no login name: said so)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers)
        return "unknown-operator"


def said_on_stderr(what: str) -> dict[str, Any]:
    """Connection callbacks (`open_bus(settings, **said_on_stderr("errors tail"))`) for a command that follows the
    server: a lost connection and its return are said on stderr, not silently retried (a tail of a `swarm run`
    that ended went quiet)."""

    closed: list[bool] = []

    def say_lost() -> None:
        if not closed:  # nats-py calls the disconnect callback on a close too: a tail that ended lost nothing
            err_console.print(f"{what}: the connection to NATS was lost (the server stopped, or the `swarm run` it "
                              "belongs to ended); trying again until it answers (Ctrl-C stops)", highlight=False)

    async def lost() -> None:
        asyncio.get_running_loop().call_later(0.2, say_lost)  # a close calls the closed callback right after

    async def back() -> None:
        err_console.print(f"{what}: connected again", highlight=False)

    async def ended() -> None:
        closed.append(True)

    return {"disconnected_cb": lost, "reconnected_cb": back, "closed_cb": ended}
