"""A settled report's ack is confirmed by the server; one the server is slow to confirm (a loaded host, a stop
draining many reports) is asked again rather than logged as a failure, against the real nats-server: a
subscriber on the reply subject plays the server that answers late, or never."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout

from swarm.bus.connect import Bus
from swarm.runtime.settle import _confirmed_ack

pytestmark = pytest.mark.timeout(60)


async def _answering_on(bus: Bus, subject: str, answer_from: int) -> list[bytes]:
    """Requests seen on `subject`; each from the `answer_from`-th on (1-based; 0: never) is answered."""
    seen: list[bytes] = []

    async def handler(msg: Msg) -> None:
        seen.append(msg.data)
        if answer_from and len(seen) >= answer_from:
            await msg.respond(b"")

    await bus.nc.subscribe(subject, cb=handler)
    await bus.nc.flush()
    return seen


async def test_an_ack_the_server_confirms_late_is_asked_again_and_one_never_confirmed_raises(bus: Bus) -> None:
    late = await _answering_on(bus, f"{bus.names.ns}.ackprobe.late", answer_from=2)
    msg = Msg(bus.nc, subject="x", reply=f"{bus.names.ns}.ackprobe.late")
    await _confirmed_ack(msg, timeout=0.3)
    assert len(late) == 2 and msg._ackd  # the second ask was confirmed

    never = await _answering_on(bus, f"{bus.names.ns}.ackprobe.never", answer_from=0)
    msg = Msg(bus.nc, subject="x", reply=f"{bus.names.ns}.ackprobe.never")
    with pytest.raises(NatsTimeout):
        await _confirmed_ack(msg, timeout=0.2)
    assert len(never) == 3 and not msg._ackd  # asked three times, then the report is left to its ack wait
