"""Prompt-injection filter for every untrusted text, before any LLM sees it.

    from swarm.security import InjectionFilter, rejection_for
    verdict = InjectionFilter().check_report(report)
    if verdict.rejected:
        rejection = rejection_for(report, verdict)     # publish on Names(ns).security_rejected

`swarm security check|eval|export|train` on the command line; rules in configs/injection_rules.yaml,
the learned model (spaCy textcat, with its calibrated threshold and data card) in swarm/security/model/.
Names are imported lazily: `swarm.security.filter` (the interface) must not pay for spaCy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Filter",
    "Match",
    "Verdict",
    "PassAllFilter",
    "InjectionFilter",
    "InjectionModel",
    "rejection_for",
    "publish_rejection",
]

_WHERE = {
    "Filter": "filter",
    "Match": "filter",
    "Verdict": "filter",
    "PassAllFilter": "filter",
    "InjectionFilter": "injection",
    "InjectionModel": "model",
    "rejection_for": "rejection",
    "publish_rejection": "rejection",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'swarm.security' has no attribute {name!r}")
    return getattr(importlib.import_module(f"swarm.security.{_WHERE[name]}"), name)
