"""What a namespace holds after a run, and what is wrong with it: the fault suite's and the scenarios' checker.

    ledger = await Ledger.read(bus, envs=["default"])
    problems = ledger.problems(expected={sig1, sig2}, malformed=1, interrupted=1)
    assert not problems, problems

Counted per signature: Results (exactly one each), agent phase starts (an agent call announced by its
`started` message on `{ns}.workflow.run.<investigation>.started`, keyed by cycle, role, phase and
hypothesis: none repeated, except at most `interrupted` of them once), dead letters (only malformed
input: `InvalidInput`, at most `malformed`), and what is left anywhere (reports in the error streams,
unacked deliveries, stored advisories, tasks).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from swarm.bus.connect import Bus
from swarm.bus.names import ADVISORY_CONSUMER, ERROR_CONSUMER
from swarm.bus.streamread import read_stream
from swarm.models import AgentMessage, DeadLetter, Result

__all__ = ["Ledger", "PhaseStart", "read_stream"]

PhaseStart = tuple[str, int, str, str, str]  # investigation, cycle, role, phase, hypothesis


@dataclass
class Ledger:
    results: dict[str, list[Result]] = field(default_factory=dict)  # signature -> its Results
    phase_starts: Counter[PhaseStart] = field(default_factory=Counter)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    leftovers: dict[str, int] = field(default_factory=dict)  # where -> how many are still there

    @classmethod
    async def read(cls, bus: Bus, envs: list[str]) -> Ledger:
        names = bus.names
        ledger = cls()
        for raw in await read_stream(bus, names.stream("RESULTS")):
            result = Result.model_validate_json(raw.data)
            ledger.results.setdefault(result.signature, []).append(result)
        for raw in await read_stream(bus, names.stream("AGENT_COMMS"), f"{names.ns}.workflow.run.*.started"):
            msg = AgentMessage.model_validate_json(raw.data)
            d = msg.data
            ledger.phase_starts[(msg.run_id, int(d.get("cycle", 0)), msg.role, str(d.get("phase", "")),
                                 str(d.get("hypothesis") or ""))] += 1
        ledger.dead_letters = [DeadLetter.model_validate_json(r.data)
                               for r in await read_stream(bus, names.stream("DEAD_LETTERS"))]
        for env in envs:
            stream = names.error_stream(env)
            info = await bus.js.consumer_info(stream, ERROR_CONSUMER)
            ledger.leftovers[f"{stream} pending"] = int(info.num_pending or 0)
            ledger.leftovers[f"{stream} unacked"] = int(info.num_ack_pending or 0)
            ledger.leftovers[f"{stream} stored"] = int((await bus.js.stream_info(stream)).state.messages)
        adv = await bus.js.consumer_info(names.advisories_stream, ADVISORY_CONSUMER)
        ledger.leftovers[f"{names.advisories_stream} pending"] = int(adv.num_pending or 0) + int(
            adv.num_ack_pending or 0)
        ledger.leftovers[f"{names.stream('TASKS')} stored"] = int(
            (await bus.js.stream_info(names.stream("TASKS"))).state.messages)
        return ledger

    def repeated_starts(self) -> dict[PhaseStart, int]:
        return {k: n for k, n in self.phase_starts.items() if n > 1}

    def problems(self, expected: set[str], *, malformed: int = 0, interrupted: int = 0,
                 rejected: set[str] | None = None) -> list[str]:
        """Everything that breaks the rules above; empty when the run was clean. `expected`: the signatures
        that must each have exactly one Result (`rejected`: those whose one Result must be `rejected`)."""
        out = []
        for sig in sorted(expected):
            got = self.results.get(sig, [])
            if len(got) != 1:
                out.append(f"signature {sig[:12]}: {len(got)} Results, expected exactly one")
            elif rejected is not None and (sig in rejected) != (got[0].status == "rejected"):
                out.append(f"signature {sig[:12]}: Result {got[0].status}")
        for sig in sorted(set(self.results) - expected):
            out.append(f"signature {sig[:12]}: an unexpected Result ({len(self.results[sig])})")
        repeated = self.repeated_starts()
        twice = [k for k, n in repeated.items() if n == 2]
        if any(n > 2 for n in repeated.values()) or len(twice) > interrupted:
            out.append(f"phase starts repeated: {json.dumps([[*k, n] for k, n in repeated.items()])} "
                       f"(at most {interrupted} may run twice: the interrupted ones)")
        bad = [d for d in self.dead_letters if d.error_type != "InvalidInput"]
        if bad:
            out.append("dead letters not for malformed input: " + "; ".join(f"{d.error_type}: {d.reason[:120]}"
                                                                             for d in bad))
        if len(self.dead_letters) - len(bad) > malformed:
            out.append(f"{len(self.dead_letters) - len(bad)} malformed reports dead-lettered, expected {malformed}")
        left = {k: v for k, v in self.leftovers.items() if v}
        if left:
            out.append(f"left in the streams: {left}")
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "signatures": len(self.results),
            "results": sum(len(v) for v in self.results.values()),
            "phase_starts": sum(self.phase_starts.values()),
            "repeated_phase_starts": len(self.repeated_starts()),
            "dead_letters": len(self.dead_letters),
            "left": {k: v for k, v in self.leftovers.items() if v},
        }
