"""The bloodstream: heartbeats, audits, injuries, domain events and brain_dead; health monitor and healer.

bs = await Bloodstream(bus, ".swarm/outbox", event_versions=[1]).start()
await bs.event("investigation_started", {"signature": sig}, investigation_id="inv-1")   # best effort
await bs.audit(actor="orchestrator", action="open_investigation", target="inv-1")       # guaranteed
ctx.events = bs.for_investigation("inv-1", actor="research-0")                         # EventPublisher

healer = Healer(bs, restarter=runtime, state=PeerStateStore(bus))
monitor = await HealthMonitor(bs, healer=healer, doctor=PeerStateStore(bus)).start()
"""

from swarm.bloodstream.adapter import InvestigationEvents
from swarm.bloodstream.healer import SERVICE_DOWN, STATE_CORRUPTED, ActorRestarter, Healer, StateRestorer
from swarm.bloodstream.monitor import HealthMonitor, ServiceHealth, StateDoctor, read_health
from swarm.bloodstream.outbox import Outbox, OutboxItem
from swarm.bloodstream.publisher import (
    Bloodstream,
    Counters,
    Delivery,
    EventEncoder,
    encode_event,
)

__all__ = [
    "Bloodstream",
    "Counters",
    "Delivery",
    "EventEncoder",
    "InvestigationEvents",
    "encode_event",
    "Outbox",
    "OutboxItem",
    "HealthMonitor",
    "ServiceHealth",
    "StateDoctor",
    "read_health",
    "Healer",
    "ActorRestarter",
    "StateRestorer",
    "SERVICE_DOWN",
    "STATE_CORRUPTED",
]
