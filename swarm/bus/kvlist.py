"""The keys of a KV bucket from its stream's subjects: one stream-info request, no watcher.

    from swarm.bus.kvlist import bucket_keys
    keys = await bucket_keys(bus.js, bus.names.signature_bucket)   # sorted; [] for an empty bucket

nats-py's `kv.keys()` lists through an ordered consumer whose "no more keys" signal comes from the
consumer's pending count, read while the first keys are being delivered; and it raises NoKeysError for an
empty bucket, which callers were tempted to catch as `Exception`, reading a server that timed out as
"no keys". Here a subject that holds a message is a key (a deleted or purged key's marker is its last
message: `kv.get` tells), and any error raises.
"""

from __future__ import annotations

from nats.js import JetStreamContext

from swarm.bus.names import kv_stream, kv_subjects

__all__ = ["bucket_keys"]


async def bucket_keys(js: JetStreamContext, bucket: str) -> list[str]:
    """Every key of `bucket` that holds a message (a deleted key's marker too: `kv.get` raises for it)."""
    info = await js.stream_info(kv_stream(bucket), subjects_filter=kv_subjects(bucket))
    prefix = kv_subjects(bucket)[:-1]  # `$KV.<bucket>.`
    return sorted(s[len(prefix) :] for s in ((info.state.subjects or {}) if info.state else {}))
