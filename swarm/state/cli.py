"""`swarm state ...`: the operator's tools for PEER state (no hand-written KV scripts).

    swarm state create peer.error.inv-1.cycle.1            # a fresh state for that id and cycle
    swarm state create KEY --file state.json               # or --file - for stdin
    swarm state get KEY | jq .metadata.status              # valid JSON on stdout, errors on stderr
    swarm state update KEY --role orchestrator --set metadata.status='"PLANNING"'
    swarm state update KEY --role operator --jq '.metadata.occurrences += 1'
    swarm state history KEY          swarm state restore KEY --revision 6
    swarm state doctor               swarm state watch [KEY] --count 5 --timeout 30 --json

Every command exits non-zero with one clear line on stderr when something is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.table import Table

from swarm.bus.connect import open_bus
from swarm.clikit import (
    JSON_OPTION,
    cli_errors,
    console,
    emit,
    err_console,
    fail,
    finite,
    json_option,
    load_settings,
    one_of,
    run,
)
from swarm.errors import InvalidInput
from swarm.files import read_user_text
from swarm.state.model import ROLES, PeerState, parse_key
from swarm.state.store import PeerStateStore, StateChange

__all__ = ["state_app", "parse_sets", "apply_sets", "compile_jq"]

T = TypeVar("T")
state_app = typer.Typer(help="PEER state in JetStream KV: create, read, update (CAS), history, repair, watch")


async def _with_store(fn: Callable[[PeerStateStore], Awaitable[T]]) -> T:
    async with open_bus(load_settings()) as bus:
        return await fn(PeerStateStore(bus))


def _print_state(state: PeerState, revision: int, key: str, as_json: bool) -> None:
    if as_json:
        emit({"key": key, "revision": revision, "state": state.model_dump(mode="json")}, True)
    else:
        console.print(f"{key} revision {revision}: status {state.metadata.status.value}", highlight=False)


# --set PATH=JSON ----------------------------------------------------------------------------
def parse_sets(items: list[str]) -> list[tuple[list[str], Any]]:
    """`["a.b=1", ...]` -> `[(["a", "b"], 1), ...]`, or InvalidInput naming the bad item."""
    out = []
    for item in items:
        path, eq, raw = item.partition("=")
        parts = path.strip().split(".")
        if not eq or not path.strip() or any(not p for p in parts):
            raise InvalidInput(f"bad --set {item!r}: expected PATH=JSON, e.g. metadata.status='\"PLANNING\"'")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"invalid JSON in --set {item!r}: {exc.msg} at column {exc.colno} "
                "(strings need JSON quotes: PATH='\"text\"')"
            ) from exc
        out.append((parts, value))
    return out


def _is_free(parts: list[str]) -> bool:
    """True when the container at `parts` holds free JSON (phases.<p>.output..., metadata.extra...),
    where new keys may be added; elsewhere only the model's fields exist."""
    for area in ({0: "phases", 2: "output"}, {0: "metadata", 1: "extra"}):
        depth = max(area) + 1
        if len(parts) >= depth and all(parts[i] == name for i, name in area.items()):
            return True
    return False


def apply_sets(data: dict[str, Any], sets: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """Set each path in `data` (a state as JSON); a path through a missing field is an error."""
    for parts, value in sets:
        dotted = ".".join(parts)
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[:i]) or "the state"
            if isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise InvalidInput(f"bad --set path {dotted!r}: {part!r} is not an index of the list at {where}")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if part not in node and not (last and _is_free(parts[:i])):
                    fields = ", ".join(sorted(node)) or "none"
                    raise InvalidInput(f"bad --set path {dotted!r}: no field {part!r} in {where} (fields: {fields})")
                if last:
                    node[part] = value
                else:
                    node = node[part]
            else:
                raise InvalidInput(f"bad --set path {dotted!r}: {where} is a {type(node).__name__}, not an object")
    return data


def compile_jq(filter_text: str) -> Any:
    import jq

    try:
        return jq.compile(filter_text)
    except ValueError as exc:
        raise InvalidInput(f"invalid jq filter {filter_text!r}: {str(exc).strip()}") from exc


def _jq_transform(program: Any, filter_text: str) -> Callable[[PeerState], PeerState]:
    def transform(state: PeerState) -> PeerState:
        try:
            results = program.input_value(state.model_dump(mode="json")).all()
        except ValueError as exc:
            raise InvalidInput(f"jq filter {filter_text!r} failed: {str(exc).strip()}") from exc
        if len(results) != 1 or not isinstance(results[0], dict):
            raise InvalidInput(f"jq filter {filter_text!r} must produce exactly one object, got {results!r:.200}")
        return PeerState.model_validate(results[0])

    return transform


def _set_transform(sets: list[tuple[list[str], Any]]) -> Callable[[PeerState], PeerState]:
    def transform(state: PeerState) -> PeerState:
        return PeerState.model_validate(apply_sets(state.model_dump(mode="json"), sets))

    return transform


# commands ----------------------------------------------------------------------------------
@state_app.command()
def create(
    key: str = typer.Argument(..., help="peer.<kind>.<id>.cycle.<n>"),
    file: str | None = typer.Option(None, "--file", "-f", help="JSON state to write ('-' reads stdin)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create the state at KEY (fails if KEY exists); without --file, a fresh state for KEY."""
    with cli_errors():
        kind, inv, cycle = parse_key(key)
        if file is None:
            state = PeerState.new(inv, kind, cycle, updated_by="cli:operator")
        else:
            text = read_user_text(file, "--file", InvalidInput)
            state = PeerState.model_validate_json(text)
            if state.key != key:
                raise InvalidInput(f"the state in {file} belongs to key {state.key!r}, not {key!r}")
        revision = run(_with_store(lambda s: s.create(state)))
    _print_state(state, revision, key, json_out)


@state_app.command()
def get(
    key: str = typer.Argument(...),
    revision: int | None = typer.Option(None, "--revision", "-r", min=1,
                                        help="an older revision (1 or more; omitted: the latest)"),
    json_out: bool = json_option("wrap as {key, revision, state}"),
) -> None:
    """Print the state at KEY as JSON."""
    with cli_errors():
        state, rev = run(_with_store(lambda s: s.read(key, revision)))
    if json_out:
        _print_state(state, rev, key, True)
    else:
        emit(state.model_dump(mode="json"), True)


@state_app.command()
def update(
    key: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", callback=one_of(ROLES, "role"), help=f"who writes: {', '.join(ROLES)}"),
    sets: list[str] = typer.Option([], "--set", help="PATH=JSON, repeatable"),
    jq_filter: str | None = typer.Option(None, "--jq", help="a jq filter from the state to the new state"),
    actor: str | None = typer.Option(None, "--actor", help="name recorded in metadata.updated_by"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Change the state at KEY with compare-and-set, as ROLE (ownership is enforced)."""
    with cli_errors():
        if bool(sets) == bool(jq_filter):
            fail("give either --set PATH=JSON (repeatable) or --jq FILTER, not both or neither", code=2)
        parse_key(key)
        transform = _set_transform(parse_sets(sets)) if sets else _jq_transform(compile_jq(jq_filter or ""), jq_filter)
        state, rev = run(_with_store(lambda s: s.update(key, transform, role, actor=actor or f"cli:{role}")))
    _print_state(state, rev, key, json_out)


@state_app.command()
def history(key: str = typer.Argument(...), json_out: bool = JSON_OPTION) -> None:
    """Every kept revision of KEY: time, operation, valid or not."""
    with cli_errors():
        entries = run(_with_store(lambda s: s.history(key)))

    def render(rows: list[dict[str, Any]]) -> None:
        table = Table("revision", "time", "op", "valid", "size", "reason", title=key)
        for r in rows:
            valid = "[green]yes[/]" if r["valid"] else "[red]no[/]"
            table.add_row(str(r["revision"]), r["time"] or "", r["operation"], valid, str(r["size"]), r["reason"] or "")
        console.print(table)

    emit([e.as_dict() for e in entries], json_out, render)


@state_app.command()
def restore(
    key: str = typer.Argument(...),
    revision: int = typer.Option(..., "--revision", "-r", min=1,
                                 help="the revision (1 or more) whose value to write again: `swarm state history KEY`"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Write REVISION's value as the newest revision of KEY (compare-and-set)."""
    with cli_errors():
        new_rev = run(_with_store(lambda s: s.restore(key, revision)))
    data = {"key": key, "restored": revision, "revision": new_rev}
    emit(data, json_out, lambda d: console.print(f"{key}: revision {revision} restored as revision {new_rev}"))


@state_app.command()
def doctor(json_out: bool = JSON_OPTION) -> None:
    """List every key whose latest revision is corrupt, deleted or purged (exit 1 if any)."""
    with cli_errors():
        report = run(_with_store(lambda s: s.doctor()))

    def render(d: dict[str, Any]) -> None:
        if d["healthy"]:
            console.print(f"[green]ok[/]: {d['checked']} key(s), every latest revision is a valid state")
            return
        table = Table("key", "revision", "problem", "reason", "last valid", title=f"{d['checked']} key(s) checked")
        for f in d["findings"]:
            last = str(f["last_valid_revision"]) if f["last_valid_revision"] else "[red]none[/]"
            table.add_row(f["key"], str(f["revision"]), f["problem"], f["reason"], last)
        console.print(table)

    emit(report.as_dict(), json_out, render)
    if not report.healthy:
        fail(f"{len(report.findings)} key(s) need repair: swarm state restore KEY --revision <last valid>")


@state_app.command()
def watch(
    key: str | None = typer.Argument(None, help="one key; all keys when omitted"),
    count: int | None = typer.Option(None, "--count", "-n", min=1, help="stop after N changes"),
    timeout: float | None = typer.Option(None, "--timeout", "-t", min=0, callback=finite, help="stop after S seconds"),
    initial: bool = typer.Option(True, "--initial/--no-initial", help="first print the current value(s)"),
    json_out: bool = json_option("one JSON object per line"),
) -> None:
    """Print changes as they happen (the current values first), until --count, --timeout or Ctrl-C."""

    def show(change: StateChange) -> None:
        if json_out:
            sys.stdout.write(json.dumps(change.as_dict(), default=str) + "\n")
            sys.stdout.flush()
        else:
            what = change.state.metadata.status.value if change.state else change.error or change.operation
            console.print(f"{change.key} rev {change.revision} {change.operation}: {what}", highlight=False)

    async def follow(store: PeerStateStore) -> int:
        seen = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), store.watch(key, initial=initial) as changes:
                err_console.print(f"watching {key or 'every key'} (Ctrl-C to stop)", highlight=False)
                async for change in changes:
                    show(change)
                    seen += 1
                    if count is not None and seen >= count:
                        break
        return seen

    with cli_errors():
        if key is not None:
            parse_key(key)
        with contextlib.suppress(KeyboardInterrupt):  # a follower's usual end, as for the tails: exit 0
            run(_with_store(follow))
