-- 0001: the events table, append-only.
--
-- Runs with search_path set to the store's schema (see Migrate), so names
-- are unqualified here and the same file serves every schema.

CREATE TABLE events (
    -- Fixed-width columns first (no alignment padding), then the varlena ones.
    --
    -- position is the global order: (top-level xid << 20) | k, where k is the
    -- event's ordinal within its transaction. See the package doc for why a
    -- sequence would be wrong and why readers stop at the snapshot horizon.
    position       bigint      NOT NULL,
    revision       bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    schema_version integer     NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    stream         text        NOT NULL,
    type           text        NOT NULL,
    actor_id       text        NOT NULL,
    actor_role     text        NOT NULL,
    correlation_id text        NOT NULL,
    causation_id   text        NOT NULL,
    reason         text        NOT NULL,
    -- data is opaque bytes, never jsonb: jsonb reorders keys and drops
    -- whitespace, and the hash chain covers the exact bytes.
    data           bytea       NOT NULL,
    hash           bytea       NOT NULL,

    CONSTRAINT events_pkey PRIMARY KEY (stream, revision),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_position_key UNIQUE (position),
    CONSTRAINT events_revision_check CHECK (revision >= 0),
    CONSTRAINT events_position_check CHECK (position > 0),
    CONSTRAINT events_hash_check CHECK (octet_length(hash) = 32)
);

COMMENT ON TABLE events IS
    'Kinerja Ledger event store (adapters/pgstore). Append-only: UPDATE, DELETE and TRUNCATE are rejected by triggers.';

-- events_append_only rejects every change to stored events. It guards
-- against mistakes and application bugs; a superuser can still bypass it
-- (session_replication_role = replica), which the hash chain then exposes.
CREATE FUNCTION events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kinerja events are append-only: % on %.% is not allowed',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'Correct an event by appending a new one.';
END
$$;

-- Statement-level, so that even an UPDATE or DELETE matching no row fails.
CREATE TRIGGER events_no_update_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- position_overflow is called by the append statement when one transaction
-- would write its 2^20th event: k no longer fits in the low 20 bits of a
-- position, and the next transaction's positions would collide.
CREATE FUNCTION position_overflow(k bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kinerja: event % of one transaction: at most 1048575 events fit in one transaction', k
        USING ERRCODE = 'program_limit_exceeded';
END
$$;

