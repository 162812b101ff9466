"""`swarm status`'s tables when the pools are empty: whether Ray was asked at all is said, not guessed."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from swarm.telemetry.status import render_status


def _text(snap: dict[str, Any], width: int = 200) -> str:
    console = Console(width=width, record=True)
    console.print(render_status(snap))
    return " ".join(console.export_text().split())


def _snapshot(connected: bool) -> dict[str, Any]:
    return {"namespace": "alpha", "streams": [], "pools": {}, "investigations": [], "heartbeats": [], "budget": {},
            "ray": {"connected": connected, "namespace": "swarm-alpha"}}


def test_without_an_address_the_pools_say_ray_was_not_asked() -> None:
    text = _text(_snapshot(connected=False))
    assert "Ray not asked: give --address (or RAY_ADDRESS)" in text and "no swarm on the Ray cluster" not in text


def test_on_a_cluster_without_the_swarm_the_pools_say_so() -> None:
    text = _text(_snapshot(connected=True))
    assert "no swarm on the Ray cluster" in text and "Ray not asked" not in text


def test_an_investigation_id_is_never_cut_at_80_columns() -> None:
    """`swarm approve` takes the id: at 80 columns (a pipe) it was cut to `inv-b94f0…`."""
    snap = _snapshot(connected=True) | {"investigations": [{
        "investigation_id": "inv-b94f0f45a2a0806e", "service": "calc-service", "environment": "production",
        "cycle": 1, "phase": "review", "status": "AWAITING_APPROVAL", "occurrences": 12}]}
    assert "inv-b94f0f45a2a0806e" in _text(snap, width=80)
