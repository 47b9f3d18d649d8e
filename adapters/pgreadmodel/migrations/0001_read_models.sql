-- 0001: the read models, their checkpoints and dead letters, and the audit
-- trail.
--
-- Runs with search_path set to the read models' schema (see Migrate), so
-- names are unqualified here and the same file serves every schema.
--
-- Every read-model table belongs to one projection (see tables.go). A
-- rebuild creates a copy of a projection's tables with
-- CREATE TABLE ... (LIKE ... INCLUDING ALL), fills it, and swaps it in by
-- renaming: so a later migration that changes a table changes its shape
-- for the next rebuild too, and must not refer to index names (a rebuilt
-- table carries the index names of its copy).

-- Text keys that readers order by are COLLATE "C": byte order, as Go
-- sorts, whatever the database's collation.

-- checkpoints: the position of the last event each projection applied or
-- dead-lettered, written in the same transaction as the projection's rows.
-- generation counts the rebuilds swapped in. A rebuild in progress has its
-- own row, '<projection>@g<generation>'.
CREATE TABLE checkpoints (
    position   bigint      NOT NULL CHECK (position >= 0),
    generation integer     NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    projection text        PRIMARY KEY
);

-- dead_letters: events a projection with the DeadLetter policy skipped.
CREATE TABLE dead_letters (
    position   bigint      NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    projection text        NOT NULL,
    event_id   text        NOT NULL,
    stream     text        NOT NULL,
    type       text        NOT NULL,
    error      text        NOT NULL,
    PRIMARY KEY (projection, position)
);

-- Projection directory.
CREATE TABLE units (
    registered_at timestamptz NOT NULL,
    id            text        COLLATE "C" PRIMARY KEY,
    name          text        NOT NULL,
    parent_id     text        NOT NULL DEFAULT '',
    head_nip      text        NOT NULL DEFAULT '',
    head_from     text        NOT NULL DEFAULT '',
    performance   jsonb       -- period → organisation predikat; NULL for none
);
CREATE INDEX units_parent ON units (parent_id);

CREATE TABLE employees (
    nip                    text COLLATE "C" PRIMARY KEY,
    name                   text NOT NULL,
    asn_type               text NOT NULL,
    unit_id                text NOT NULL,
    position_kind          text NOT NULL,
    position_title         text NOT NULL,
    appraiser_nip          text NOT NULL DEFAULT '',
    appraiser_superior_nip text NOT NULL DEFAULT '',
    effective_from         text NOT NULL DEFAULT '',
    position_from          text NOT NULL DEFAULT ''
);
CREATE INDEX employees_unit ON employees (unit_id, nip);

CREATE TABLE justifications (
    unit_id text  NOT NULL,
    period  text  NOT NULL,
    doc     jsonb NOT NULL, -- directory.Justification
    PRIMARY KEY (unit_id, period)
);

-- Projection skps.
CREATE TABLE skps (
    year                   integer     NOT NULL,
    sequence               integer     NOT NULL,
    version                integer     NOT NULL,
    late                   boolean     NOT NULL,
    drafted_on_behalf      boolean     NOT NULL,
    revision               bigint      NOT NULL,
    position               bigint      NOT NULL,
    drafted_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    recorded_at            timestamptz NOT NULL,
    id                     text        COLLATE "C" PRIMARY KEY,
    nip                    text        NOT NULL,
    name                   text        NOT NULL,
    unit_id                text        NOT NULL,
    status                 text        NOT NULL,
    appraiser_nip          text        NOT NULL,
    appraiser_superior_nip text        NOT NULL
);
CREATE INDEX skps_nip ON skps (nip);
CREATE INDEX skps_unit_year ON skps (unit_id, year);
CREATE INDEX skps_year_status ON skps (year, status);
CREATE INDEX skps_appraiser ON skps (appraiser_nip);
CREATE INDEX skps_superior ON skps (appraiser_superior_nip);

-- Projection evaluations.
CREATE TABLE evaluations (
    year               integer     NOT NULL,
    finality_recorded  boolean     NOT NULL,
    revision           bigint      NOT NULL,
    rated_at           timestamptz NOT NULL,
    delivered_at       timestamptz,
    objection_deadline timestamptz,
    skp_id             text        COLLATE "C" NOT NULL,
    period             text        NOT NULL,
    period_key         text        COLLATE "C" NOT NULL, -- scores.PeriodKey: calendar order, annual last
    nip                text        NOT NULL,
    unit_id            text        NOT NULL,
    work_result        text        NOT NULL,
    behaviour          text        NOT NULL,
    predikat           text        NOT NULL,
    status             text        NOT NULL,
    appraiser_nip      text        NOT NULL,
    PRIMARY KEY (skp_id, period)
);
CREATE INDEX evaluations_period_unit ON evaluations (period, unit_id);

-- Projection scores.
CREATE TABLE score_entries (
    revision   bigint NOT NULL,
    position   bigint NOT NULL,
    skp_id     text   NOT NULL,
    event_id   text   NOT NULL,
    nip        text   NOT NULL,
    unit_id    text   NOT NULL,
    period     text   NOT NULL,
    period_key text   COLLATE "C" NOT NULL,
    doc        jsonb  NOT NULL, -- skp.ScoreEntry
    PRIMARY KEY (skp_id, event_id)
);
CREATE INDEX score_entries_nip ON score_entries (nip, position);

-- Projection objections.
CREATE TABLE objections (
    filed_at timestamptz NOT NULL,
    id       text        COLLATE "C" PRIMARY KEY,
    skp_id   text        NOT NULL,
    unit_id  text        NOT NULL,
    status   text        NOT NULL,
    doc      jsonb       NOT NULL -- objections.Objection
);
CREATE INDEX objections_unit ON objections (unit_id, filed_at);
CREATE INDEX objections_skp ON objections (skp_id);
CREATE INDEX objections_status ON objections (status, filed_at);

-- Projection timeline: one row per employee and event.
CREATE TABLE timeline_items (
    position    bigint      NOT NULL,
    revision    bigint      NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    nip         text        NOT NULL,
    stream      text        NOT NULL,
    type        text        NOT NULL,
    role        text        NOT NULL,
    summary     text        NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text        NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (nip, position)
);

-- Projection audit: the trail's entries (dense seq, each with its leaf
-- hash), the Merkle tree's complete-subtree nodes above the leaves, the frontier after each applied batch, and the
-- signed checkpoints read from the ledger. All four are append-only.
CREATE TABLE audit_entries (
    seq         bigint      PRIMARY KEY CHECK (seq >= 0),
    position    bigint      NOT NULL UNIQUE,
    revision    bigint      NOT NULL,
    recorded_at timestamptz NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id    uuid        NOT NULL,
    stream      text        NOT NULL,
    type        text        NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text        NOT NULL,
    reason      text        NOT NULL,
    event_hash  bytea       NOT NULL CHECK (octet_length(event_hash) = 32),
    leaf_hash   bytea       NOT NULL CHECK (octet_length(leaf_hash) = 32)
);
CREATE INDEX audit_entries_actor ON audit_entries (actor_id, seq);
CREATE INDEX audit_entries_stream ON audit_entries (stream, seq);
CREATE INDEX audit_entries_type ON audit_entries (type, seq);
CREATE INDEX audit_entries_recorded ON audit_entries (recorded_at);

-- audit_nodes holds the nodes above the leaves: a leaf (level 0) is its
-- entry's leaf_hash, so storing it twice would only double the rows.
CREATE TABLE audit_nodes (
    index bigint   NOT NULL,
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
    hash  bytea    NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, index)
);

-- audit_frontier: the tree's size and frontier (its perfect subtrees'
-- roots, largest first, 32 bytes each) after each batch: the latest row is
-- the writer's state, the earlier ones a record of it.
CREATE TABLE audit_frontier (
    size   bigint PRIMARY KEY CHECK (size > 0),
    hashes bytea  NOT NULL CHECK (octet_length(hashes) % 32 = 0)
);

CREATE TABLE audit_checkpoints (
    position  bigint      PRIMARY KEY,
    size      bigint      NOT NULL,
    signed_at timestamptz NOT NULL,
    root_hash bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
    key_id    text        NOT NULL,
    signature text        NOT NULL,
    origin    text        NOT NULL,
    note      text        NOT NULL
);

-- audit_append_only rejects every change to the trail but an insert. It
-- guards against mistakes and application bugs; a superuser can bypass it,
-- and the verifier (which recomputes the trail from the event store) then
-- names the first entry or node that differs.
CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the kinerja audit trail is append-only: % on %.% is not allowed',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

-- Statement-level, so that even an UPDATE or DELETE matching no row fails.
-- A rebuild creates the same two triggers on the tables it builds.
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_frontier_append_only BEFORE UPDATE OR DELETE ON audit_frontier FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_frontier_no_truncate BEFORE TRUNCATE ON audit_frontier FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
