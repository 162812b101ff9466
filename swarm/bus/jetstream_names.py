"""Wire names of JetStream itself: its API and protocol subjects, and the streams behind KV and object buckets.

The part of `swarm.bus.names` that spells NATS's own names rather than swarm's; `swarm.bus.names`
re-exports all of it, so callers import from there.

    >>> JetStreamApi.stream("INFO", "PAYMENTS_RESULTS")
    '$JS.API.STREAM.INFO.PAYMENTS_RESULTS'
    >>> kv_stream("PAYMENTS_PEER_STATE"), kv_subjects("PAYMENTS_PEER_STATE")
    ('KV_PAYMENTS_PEER_STATE', '$KV.PAYMENTS_PEER_STATE.>')
"""

from __future__ import annotations

__all__ = ["JetStreamApi", "kv_stream", "kv_subjects", "obj_stream", "obj_subjects", "restore_case"]

# the words of JetStream's API subjects (all upper case on the wire)
_API_WORDS = frozenset({
    "STREAM", "CONSUMER", "DIRECT", "INFO", "NAMES", "LIST", "CREATE", "UPDATE", "DELETE", "PURGE", "MSG", "GET",
    "NEXT", "DURABLE", "LEADER", "STEPDOWN", "SNAPSHOT", "RESTORE", "PEER", "REMOVE", "ACCOUNT", "PAUSE", "RESET",
    "UNPIN",
})
_STORE_PREFIXES = {"$kv": "$KV", "$o": "$O"}


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


def restore_case(subject: str) -> str:
    """A subject as it is on the wire, from the lower-cased copy in a server error that nats-py reports: the API's
    words and the stream or bucket it names in upper case (swarm's streams and buckets are upper case, its own
    subjects lower case); the rest (a consumer, a key) as given.

    >>> restore_case("$js.api.stream.msg.get.kv_alpha_peer_state"), restore_case("$kv.alpha_deploys.api.prod")
    ('$JS.API.STREAM.MSG.GET.KV_ALPHA_PEER_STATE', '$KV.ALPHA_DEPLOYS.api.prod')
    """
    tokens = subject.split(".")
    head = tokens[0].lower()
    if head == "_inbox":
        return ".".join(["_INBOX", *tokens[1:]])
    if head in _STORE_PREFIXES and len(tokens) > 1:
        return ".".join([_STORE_PREFIXES[head], tokens[1].upper(), *tokens[2:]])
    if head != "$js" or len(tokens) < 3:
        return subject
    out = ["$JS", tokens[1].upper()]
    rest = tokens[2:]
    if out[1] == "API":
        while rest and rest[0].upper() in _API_WORDS:
            out.append(rest.pop(0).upper())
    if rest:  # the stream (an ACK's or an API call's), then what follows it as given
        out.append(rest.pop(0).upper())
    return ".".join(out + rest)
