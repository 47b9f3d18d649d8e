-- 0003: checkpoints of the store's consumers that keep no read model of
-- their own (the NATS relays of adapters/wmbridge): the position each has
-- delivered up to, beside the events, so that whichever machine runs the
-- consumer next resumes there instead of from a file of the machine that
-- ran it before. See Checkpoints.
CREATE TABLE consumer_checkpoints (
    name       text        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT consumer_checkpoints_pkey PRIMARY KEY (name),
    CONSTRAINT consumer_checkpoints_name_check CHECK (octet_length(name) BETWEEN 1 AND 200),
    CONSTRAINT consumer_checkpoints_position_check CHECK (position >= 0)
);
