"""A process that hands one report back and dies at once, as an intake actor does when a drain ends.

    python -m tests.faults.hand_back_exit OUTBOX_DIR MAX_DELIVER     # env: NATS_URL, NATS_NAMESPACE

It fetches the next report of the error consumer, calls `Settler.hand_back` on it, and leaves with
`os._exit`: no close, no flush, no loop turn after the hand-back returns (Ray's kill gives none
either). Whatever the hand-back left in the client's buffer is lost with the process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter

from swarm.bloodstream import Bloodstream
from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.runtime.grouping import SignatureIndex
from swarm.runtime.settle import Settler


async def main(outbox: str, max_deliver: int) -> None:
    bus = await Bus.connect(Settings())
    stream = bus.names.error_stream("default")
    index = await SignatureIndex(bus.js, bus.names).open()
    settler = Settler(bus, Bloodstream(bus, outbox), index, Counter(), max_deliver={stream: max_deliver},
                      nak_delay_s=0.05, actor="hand-back-exit")
    sub = await bus.js.pull_subscribe_bind("error-fixer", stream=stream)
    (msg,) = await sub.fetch(1, timeout=30)
    await settler.hand_back(stream, msg)
    print(msg.metadata.num_delivered, flush=True)
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
