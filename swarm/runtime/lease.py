"""A call's hold on an investigation: who may work on its PEER state right now.

    lease = Lease(store, holder="orchestrator-0", token=f"orchestrator-0/{pid}-{uuid}", seconds=60)
    if await lease.take(key):              # no live holder (or it is us), and not finished
        renewing = asyncio.create_task(lease.keep(keys))
        state = await lease.read_holding(key)   # raises TransientError if the lease went elsewhere
        ...
        await lease.release(key)

The token is per call, not per actor: a second call for the same investigation on the same actor
(a redelivery) never mistakes the first call's lease for its own.

`lineage` names the actor across its incarnations (Ray runs one live process per named actor), and
the token is `lineage/incarnation/call`: a lease an earlier incarnation holds belongs to a dead process,
so a restarted orchestrator takes its own interrupted investigations at once instead of waiting for
that lease to lapse:

    Lease(store, "orchestrator-0", f"{lineage}/{pid}-{uuid}/{call}", 60, lineage=lineage)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from swarm.errors import TransientError
from swarm.models import utcnow
from swarm.state import PeerState, PeerStateStore
from swarm.state.model import Status, validate_stored

__all__ = ["Lease", "TERMINAL"]

log = logging.getLogger("swarm.runtime.lease")
TERMINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class Lease:
    def __init__(
        self, store: PeerStateStore, holder: str, token: str, seconds: float, lineage: str | None = None
    ) -> None:
        self.store, self.holder, self.token, self.seconds = store, holder, token, seconds
        self.lineage = lineage
        if lineage is not None and not token.startswith(f"{lineage}/"):
            raise ValueError(f"lease token {token!r} is not of the actor {lineage!r}")

    def held_by_predecessor(self, owner: str | None) -> bool:
        """True if `owner` is a call of an earlier incarnation of this actor: its process is dead."""
        if not owner or self.lineage is None or not owner.startswith(f"{self.lineage}/"):
            return False
        incarnation = self.token.rsplit("/", 1)[0]
        return not owner.startswith(f"{incarnation}/")

    def expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.seconds)

    async def take(self, key: str) -> bool:
        """Hold `key` unless another live holder has it or the investigation is finished."""
        taken = False

        def transform(state: PeerState) -> PeerState:
            nonlocal taken
            m, now = state.metadata, utcnow()
            live = (m.owner and m.owner != self.token and m.lease_expires_at and m.lease_expires_at > now
                    and not self.held_by_predecessor(m.owner))
            taken = not (live or m.status in TERMINAL)
            if taken:
                m.owner, m.lease_expires_at = self.token, now + timedelta(seconds=self.seconds)
                m.updated_at, m.updated_by = now, self.holder
            return state

        await self.store.update(key, transform, role="orchestrator")
        return taken

    async def keep(self, keys: list[str]) -> None:
        """Renew the lease on the current cycle (`keys[-1]`) until cancelled."""

        def transform(state: PeerState) -> PeerState:
            if state.metadata.owner == self.token:
                state.metadata.lease_expires_at = utcnow() + timedelta(seconds=self.seconds)
            return state

        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.store.update(keys[-1], transform, role="orchestrator")
            except Exception as exc:  # keep trying: a lapsed lease invites a second worker
                log.warning("%s: lease renewal of %s failed: %r", self.holder, keys[-1], exc)

    async def release(self, key: str) -> None:
        known = self.store.remembered(key)
        if known is not None and validate_stored(key, *known).metadata.owner != self.token:
            return  # already let go (the COMPLETED write clears the owner): nothing to write, nothing to read

        def transform(state: PeerState) -> PeerState:
            if state.metadata.owner == self.token:
                state.metadata.owner, state.metadata.lease_expires_at = None, None
            return state

        try:
            await self.store.update(key, transform, role="orchestrator")
        except Exception as exc:  # the lease expires by itself; a redelivery waits at most `seconds`
            log.warning("%s: releasing %s failed: %r", self.holder, key, exc)

    async def read_holding(self, key: str) -> PeerState:
        """Re-read the state between phases, and stop if the lease went to another worker meanwhile
        (renewals failed for a whole lease period): two workers must never write the same phases."""
        state, _ = await self.store.read(key)
        if state.metadata.owner != self.token:
            raise TransientError(f"lease on {key} lost to {state.metadata.owner}")
        return state
