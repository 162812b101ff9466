-- Agent messages of every namespace, one row per JetStream message of the AGENT_COMMS stream.
CREATE SCHEMA IF NOT EXISTS workflow_comms;

CREATE TABLE workflow_comms.agent_messages (
    id            BIGSERIAL PRIMARY KEY,
    namespace     TEXT        NOT NULL,
    stream_seq    BIGINT      NOT NULL,          -- sequence in {NS}_AGENT_COMMS: the SSE event id
    message_id    TEXT        NOT NULL,
    subject       TEXT        NOT NULL,
    channel       TEXT        NOT NULL CHECK (channel IN ('run', 'general')),
    run_id        TEXT,                          -- the workflow id; NULL on the general channel
    workflow_name TEXT        NOT NULL DEFAULT '',
    agent_id      TEXT        NOT NULL,
    role          TEXT        NOT NULL DEFAULT '',
    kind          TEXT        NOT NULL,
    content       TEXT        NOT NULL DEFAULT '', -- markdown, untrusted
    data          JSONB       NOT NULL DEFAULT '{}'::jsonb,
    trace_id      TEXT,
    sent_at       TIMESTAMPTZ NOT NULL,
    stored_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT agent_messages_stream_seq_key UNIQUE (namespace, stream_seq),  -- redelivery is idempotent
    CONSTRAINT agent_messages_channel_run CHECK ((channel = 'run') = (run_id IS NOT NULL))
);

-- a run's timeline, in stream order
CREATE INDEX agent_messages_run_timeline ON workflow_comms.agent_messages (namespace, run_id, stream_seq)
    WHERE run_id IS NOT NULL;
-- the general channel, in stream order
CREATE INDEX agent_messages_general ON workflow_comms.agent_messages (namespace, stream_seq)
    WHERE channel = 'general';
