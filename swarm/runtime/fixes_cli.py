"""`swarm fixes list|show|follow`: the signature index as operators see it, one investigation in full, and
one pass of following the proposed fixes' pull requests (swarm.runtime.follow).

    swarm fixes list [--status proposed] [--json]    # each distinct error: status, investigation, pull request
    swarm fixes show inv-… [--json]                  # its Result: root cause, suspect, branch, review verdict
    swarm fixes follow [--config C] [--json]         # merged -> fixed, closed unmerged -> no_fix
    swarm fixes release SIG --reason R [--error-file F]   # a rejected error investigated after all (audited)

`list`, `show` and `release`: without NATS_URL they read the store `swarm run` keeps on embedded defaults
(swarm.bus.runstore): through the run's server while it runs, else a server of their own on it meanwhile.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from swarm.bloodstream import Bloodstream
from swarm.bus.connect import open_bus
from swarm.bus.names import Names
from swarm.bus.runstore import reach_run_store
from swarm.bus.settings import Settings
from swarm.clikit import (
    JSON_OPTION,
    cli_errors,
    console,
    emit,
    err_console,
    fail,
    load_settings,
    login_name,
    run,
)
from swarm.config import SwarmConfig
from swarm.errors import ConfigError
from swarm.runtime.fixview import dead_letters, show_investigation
from swarm.runtime.follow import PullRequestFollower
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.release import release_rejected
from swarm.runtime.tasks import read_report_file
from swarm.telemetry.snapshot import open_investigations

__all__ = ["fixes_app", "list_line", "render_investigation"]

fixes_app = typer.Typer(help="the distinct errors and their fixes: list, follow pull requests", no_args_is_help=True)
STATUSES = ("open", "proposed", "fixed", "no_fix", "failed", "rejected", "dead_lettered")


async def _index(bus: Any) -> SignatureIndex:
    try:
        return await SignatureIndex(bus.js, bus.names).open()
    except Exception as exc:  # noqa: BLE001 - the bucket is missing
        raise ConfigError(f"no {bus.names.signature_bucket} bucket: run `swarm streams provision` first") from exc


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    pull = entry.get("pull_request") or {}
    return {"signature": entry.get("signature"), "status": entry.get("status"), "service": entry.get("service"),
            "environment": entry.get("environment"), "investigation_id": entry.get("investigation_id"),
            "occurrences": entry.get("occurrences"), "generation": entry.get("generation", 1),
            "regression": bool(entry.get("regression")), "pull_request": pull.get("url"),
            "pull_request_state": pull.get("state"),
            # seen once: last seen when it was opened (the entry is written again only for another copy)
            "last_seen_at": entry.get("last_seen_at") or entry.get("opened_at"), "dead_letter": None,
            "state": None,  # an open one's PEER status
            "approval": entry.get("approval"),  # a gate's decision ("rejected by lead: …")
            "pushed_to": entry.get("pushed_to"),  # '<remote> <branch>' of a fix pushed without a pull request
            "released": entry.get("released")}  # an operator's release of a rejected error (`fixes release`)


@contextlib.contextmanager
def _reached(settings: Settings) -> Iterator[Settings]:
    """Settings that reach the data (swarm.bus.runstore), saying on stderr what was reached when not NATS_URL."""
    with reach_run_store(settings) as reached:
        if reached.note:
            err_console.print(reached.note, markup=False, highlight=False, soft_wrap=True)
        yield reached.settings


@fixes_app.command("list")
def list_fixes(
    status: str | None = typer.Option(None, "--status", help=f"only this status: {', '.join(STATUSES)}"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Each distinct error of the namespace with its status, investigation and pull request; a report dead-lettered
    before it had a signature (malformed) is a `dead_lettered` row of its own, with its reason."""
    if status is not None and status not in STATUSES:
        fail(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}", code=2)
    settings = load_settings()

    async def go(s: Settings) -> list[dict[str, Any]]:
        async with open_bus(s) as bus:
            entries = await (await _index(bus)).entries()
            rows = [_row(e) for e in entries]
            if any(r["status"] == "open" for r in rows):  # where each open one is: AWAITING_APPROVAL, EXECUTING, …
                states = {i["investigation_id"]: i["status"] for i in await open_investigations(bus, len(rows))}
                for r in rows:
                    r["state"] = states.get(r["investigation_id"]) if r["status"] == "open" else None
            if status in (None, "dead_lettered"):
                unheld, held = await dead_letters(bus, entries)
                for r in rows:  # a signature dead-lettered after it was claimed: why, from its letter
                    r["dead_letter"] = held.get(r["signature"]) if r["status"] == "dead_lettered" else None
                rows += unheld
        rows = [r for r in rows if status is None or r["status"] == status]
        return sorted(rows, key=lambda r: str(r["last_seen_at"] or ""), reverse=True)

    with cli_errors(), _reached(settings) as reached:
        rows = run(go(reached))

    def render(data: list[dict[str, Any]]) -> None:
        if not data:
            console.print("no errors in the index" + (f" with status {status}" if status else ""))
        for r in data:
            console.print(Text.assemble((f"{r['status']:<13}", "bold"), f" {list_line(r)}"), highlight=False,
                          soft_wrap=True)

    emit(rows, json_out, render)


@fixes_app.command("show")
def show(
    investigation: str = typer.Argument(..., help="the investigation id (`swarm fixes list`), or its signature"),
    json_out: bool = JSON_OPTION,
) -> None:
    """One investigation in full: status, root cause, suspect commit, branch, summary, review verdict, tests."""
    settings = load_settings()
    try:
        Names(settings.nats_namespace).result_of(investigation)  # one subject token, as every id is
    except ValueError as exc:
        fail(str(exc), code=2)

    async def go(s: Settings) -> dict[str, Any] | None:
        async with open_bus(s) as bus:
            return await show_investigation(bus, await (await _index(bus)).entries(), investigation)

    with cli_errors(), _reached(settings) as reached:
        data = run(go(reached))
    if data is None:
        short = " (a signature prefix needs 8 characters or more)" if len(investigation) < 8 else ""
        fail(f"no investigation {investigation} in namespace {settings.nats_namespace}: no Result and no error of "
             f"the signature index has that id or signature{short} (`swarm fixes list` lists them)")
    emit(data, json_out, render_investigation)


def list_line(r: dict[str, Any]) -> str:
    """`swarm fixes list`'s line for one row, after its status."""
    pr = f"  {r['pull_request']}" if r["pull_request"] else ""
    letter = r["dead_letter"]
    what = (f"{r['investigation_id']}  {r['service']}  x{r['occurrences']}{pr}" if letter is None else
            f"{letter['stream']} #{letter['sequence']}  {letter['reason']}")
    waits = "  (awaiting approval: swarm approve / reject)" if r["state"] == "AWAITING_APPROVAL" else (
        f"  ({r['approval']})" if r.get("approval") and r["status"] == "no_fix" else
        f"  (branch pushed to {r['pushed_to']}, no pull request)" if r.get("pushed_to") and not pr else "")
    return what + waits


def render_investigation(d: dict[str, Any]) -> None:
    """`swarm fixes show` for people: one line a field that has a value (text, never markup)."""
    now = d.get("signature_status")
    head = (f"{d['status']}  {d['investigation_id']}  {d.get('service') or '-'} {d.get('environment') or ''}"
            + (f"  ({d['cycles']} cycle(s), {d['duration_s']} s)" if d["has_result"] else
               "  (no Result yet" + (f": {d['state']}" if d.get("state") else "") + ")")
            + (f"  the error is {now} now" if now and now != d["status"] else ""))
    console.print(Text(head, style="bold"), highlight=False, soft_wrap=True)
    review = d.get("review")
    lines = {
        "root cause": d.get("root_cause"),
        "suspect commit": d.get("suspect_commit") and " ".join(
            x for x in (d["suspect_commit"], f"({d['suspect_method']})" if d.get("suspect_method") else "") if x),
        "branch": d.get("branch") and d["branch"] + (f" (fix commit {d['fix_commit']})" if d.get("fix_commit") else ""),
        "review": review and " ".join(x for x in (str(review["verdict"]), f"(cycle {review['cycle']})",
                                                  "; ".join(map(str, review["reasons"]))) if x),
        "tests": " -> ".join(f"{k} {t['passed']} passed, {t['failed'] + t.get('errors', 0)} failed"
                             for k, t in (("before", d.get("tests_before")), ("after", d.get("tests_after"))) if t),
        "summary": d.get("summary"),
        "regression test": d.get("regression_test"),
        "pushed to": d.get("pushed_to"),
        "pull request": d.get("pull_request") and d["pull_request"] + (
            f" ({d['pull_request_state']})" if d.get("pull_request_state") else ""),
        "approval": d.get("approval"),
        "error": d.get("error"),
        "came back": d.get("previous_investigation_id") and (
            ("a regression, after " if d.get("regression") else "after ") + str(d["previous_investigation_id"])),
    }
    for key, value in lines.items():
        if value:
            console.print(Text.assemble("  ", (f"{key}:", "bold"), f" {value}"), highlight=False, soft_wrap=True)
    if d.get("state") == "AWAITING_APPROVAL":
        console.print(f"  decide: swarm approve {d['investigation_id']}  /  swarm reject {d['investigation_id']}"
                      + (f"  (the fix: git show {d['fix_commit']})" if d.get("fix_commit") else ""),
                      highlight=False, soft_wrap=True)


@fixes_app.command("release")
def release(
    wanted: str = typer.Argument(..., help="the rejected error: its signature (8+ characters of it) or "
                                           "investigation id (`swarm fixes list --status rejected`)"),
    reason: str = typer.Option(..., "--reason", help="why the rejection was wrong (audited)"),
    by: str = typer.Option(None, "--by", help="who releases it (default: the login name)"),
    error_file: Path = typer.Option(None, "--error-file", help="the rejected report (an ErrorReport JSON, or a "
                                    "line of `swarm errors tail --json`), investigated now; else at its next "
                                    "occurrence"),
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (the audit's outbox)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Have an error the injection filter rejected investigated after all: its next report (or --error-file's)
    opens a new investigation that the same finding no longer stops. Audited."""
    if not reason.strip():
        fail("--reason is empty: say why the rejection was wrong (it is audited)", code=2)
    settings = load_settings()
    with cli_errors():
        report = None if error_file is None else read_report_file(error_file)
        cfg = SwarmConfig.load(config or settings.swarm_config)

    async def go(s: Settings) -> dict[str, Any]:
        async with open_bus(s) as bus:
            blood = await Bloodstream.from_config(bus, cfg).start()
            try:
                return await release_rejected(bus, await _index(bus), wanted, by=by or login_name(), reason=reason,
                                              blood=blood, report=report)
            finally:
                await blood.close()

    with cli_errors(), _reached(settings) as reached:
        data = run(go(reached))

    def render(d: dict[str, Any]) -> None:
        console.print(f"{d['signature'][:16]} released by {d['by']}: {d['investigation_id']} will be investigated "
                      + ("now (report submitted)" if d["resubmitted"] else "at the error's next occurrence"),
                      highlight=False, soft_wrap=True)
        if d["rejection"]:
            console.print(Text.assemble("  ", ("rejected for:", "bold"), f" {d['rejection']}"), highlight=False,
                          soft_wrap=True)
        finding = d["finding"] or {}
        bound = ("the report handed in, every text of it" if finding.get("report_sha256") else
                 f"that finding: {finding.get('field')} (the whole text that starts {finding.get('excerpt')!r}), "
                 f"rules {', '.join(finding.get('rule_ids') or []) or 'none'}")
        console.print(Text.assemble("  ", ("bound to:", "bold"), f" {bound}; any other finding is rejected"),
                      highlight=False, soft_wrap=True)

    emit(data, json_out, render)


@fixes_app.command("follow")
def follow(
    config: Path = typer.Option(None, "--config", help="configs/swarm.yaml (its repositories name the providers)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Ask each proposed fix's pull request once: merged -> fixed, closed without merge -> no_fix."""
    settings = load_settings()
    with cli_errors():
        cfg = SwarmConfig.load(config or settings.swarm_config)

        async def go() -> dict[str, Any]:
            async with open_bus(settings) as bus:
                blood = await Bloodstream.from_config(bus, cfg).start()  # fix_merged / fix_closed, as the swarm's
                try:
                    follower = PullRequestFollower(await _index(bus), cfg.repositories, blood)
                    return (await follower.follow_once()).to_dict()
                finally:
                    await blood.close()

        data = run(go())

    def render(d: dict[str, Any]) -> None:
        console.print(f"{d['checked']} pull request(s) asked, {len(d['settled'])} settled", highlight=False)
        for s in d["settled"]:
            console.print(f"  {s['investigation_id']}: {s['state']} -> {s['status']}  {s['pull_request']}",
                          highlight=False)
        for e in d["errors"]:
            console.print(f"  [red]{escape(str(e['investigation_id']))}: {escape(str(e['error']))}[/]", highlight=False)

    emit(data, json_out, render)
    if data["errors"]:
        raise typer.Exit(1)
