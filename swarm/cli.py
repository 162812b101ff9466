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
swarm fixes list|follow
"""

from __future__ import annotations

import importlib

import typer

from swarm.clikit import run_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="swarm",
    help="swarm turns production errors into reviewed fixes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, attribute, name or None to merge its commands at the top level)
_SUB_APPS: list[tuple[str, str, str | None]] = [
    ("swarm.bus.cli", "nats_app", "nats"),
    ("swarm.bus.cli", "streams_app", "streams"),
    ("swarm.bus.cli", "schemas_app", "schemas"),
    ("swarm.reporting.cli", "errors_app", "errors"),
    ("swarm.state.cli", "state_app", "state"),
    ("swarm.security.cli", "security_app", "security"),
    ("swarm.bloodstream.cli", "events_app", "events"),
    ("swarm.bloodstream.cli", "health_app", None),
    ("swarm.runtime.cli", "runtime_app", None),
    ("swarm.runtime.control_cli", "control_app", None),
    ("swarm.runtime.fixes_cli", "fixes_app", "fixes"),
    ("swarm.runtime.jobcli", "jobs_app", None),
    ("swarm.bench.cli", "bench_app", "bench"),
    ("swarm.demo", "demo_app", None),
    ("swarm.telemetry.status", "status_app", None),
    ("swarm.comms.cli", "comms_app", "comms"),
]

for _module, _attr, _name in _SUB_APPS:
    _sub = getattr(importlib.import_module(_module), _attr)
    if _name is None:
        app.registered_commands.extend(_sub.registered_commands)
        app.registered_groups.extend(_sub.registered_groups)
    else:
        app.add_typer(_sub, name=_name)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
