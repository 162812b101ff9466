"""Wire names of JetStream itself: its API and protocol subjects, and the streams behind KV and object buckets.

The part of `swarm.bus.names` that spells NATS's own names rather than swarm's; `swarm.bus.names`
re-exports all of it, so callers import from there.

    >>> JetStreamApi.stream("INFO", "PAYMENTS_RESULTS")
    '$JS.API.STREAM.INFO.PAYMENTS_RESULTS'
    >>> kv_stream("PAYMENTS_PEER_STATE"), kv_subjects("PAYMENTS_PEER_STATE")
    ('KV_PAYMENTS_PEER_STATE', '$KV.PAYMENTS_PEER_STATE.>')
"""

from __future__ import annotations

__all__ = ["JetStreamApi", "kv_stream", "kv_subjects", "obj_stream", "obj_subjects"]


def kv_stream(bucket: str) -> str:
    """The JetStream stream behind a KV bucket."""
    return f"KV_{bucket}"


def kv_subjects(bucket: str) -> str:
    return f"$KV.{bucket}.>"


def obj_stream(bucket: str) -> str:
    """The JetStream stream behind an object store bucket."""
    return f"OBJ_{bucket}"


def obj_subjects(bucket: str) -> str:
    return f"$O.{bucket}.>"


class JetStreamApi:
    """Subjects of JetStream's API and protocol, always for one named stream / consumer (grants use these).

        JetStreamApi.stream("INFO", "PAYMENTS_RESULTS")    # '$JS.API.STREAM.INFO.PAYMENTS_RESULTS'
    """

    PREFIX = "$JS.API"
    INFO = "$JS.API.INFO"
    STREAM_NAMES = "$JS.API.STREAM.NAMES"
    STREAM_LIST = "$JS.API.STREAM.LIST"

    @classmethod
    def stream(cls, op: str, stream: str) -> str:
        """op: CREATE, UPDATE, DELETE, INFO, PURGE, MSG.GET, MSG.DELETE."""
        return f"{cls.PREFIX}.STREAM.{op}.{stream}"

    @classmethod
    def direct_get(cls, stream: str) -> list[str]:
        """Direct gets by sequence and by last subject (KV reads use these when the bucket allows direct)."""
        return [f"{cls.PREFIX}.DIRECT.GET.{stream}", f"{cls.PREFIX}.DIRECT.GET.{stream}.>"]

    @classmethod
    def ephemeral_consumer(cls, stream: str) -> str:
        """Creating a server-named consumer (ordered consumers, KV watches): read access to one stream."""
        return f"{cls.PREFIX}.CONSUMER.CREATE.{stream}"

    @classmethod
    def consumer(cls, op: str, stream: str, consumer: str) -> str:
        """op: INFO, DELETE, MSG.NEXT, DURABLE.CREATE, CREATE (see consumer_create for its filter token)."""
        return f"{cls.PREFIX}.CONSUMER.{op}.{stream}.{consumer}"

    @classmethod
    def consumer_create(cls, stream: str, consumer: str) -> list[str]:
        return [cls.consumer("CREATE", stream, consumer), f"{cls.consumer('CREATE', stream, consumer)}.>",
                cls.consumer("DURABLE.CREATE", stream, consumer)]

    @classmethod
    def consumer_list(cls, stream: str) -> list[str]:
        return [f"{cls.PREFIX}.CONSUMER.LIST.{stream}", f"{cls.PREFIX}.CONSUMER.NAMES.{stream}"]

    @staticmethod
    def ack(stream: str, consumer: str) -> str:
        """Acks, naks, in-progress and term of one durable consumer's messages."""
        return f"$JS.ACK.{stream}.{consumer}.>"

    @staticmethod
    def flow_control(stream: str) -> str:
        """Flow-control replies of the push (ordered) consumers on one stream."""
        return f"$JS.FC.{stream}.>"
