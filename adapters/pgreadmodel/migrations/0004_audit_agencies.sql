-- 0004: the agency logs of the audit trail (issue 15). Each agency (a root
-- unit) has its own Merkle log whose leaves are its events' global leaf
-- hashes; the derivation state says which agency each unit, employee and
-- SKP belongs to. Like the global trail, every table is append-only.
--
-- A trail projected before this migration has no agency logs: rebuild the
-- audit projection (kinerjactl projections rebuild audit) before the
-- signer can sign again (it refuses while the agency logs do not add up to
-- the trail, audit.ErrAgencyLogsIncomplete).

-- audit_agency_keys: the derivation state, each change with the position
-- of the event that made it; the latest per (kind, id) is in effect.
-- kind: u (unit → root unit), e (employee NIP → agency), s (SKP → agency).
CREATE TABLE audit_agency_keys (
    kind     text   NOT NULL CHECK (kind IN ('u', 'e', 's')),
    id       text   NOT NULL,
    position bigint NOT NULL,
    agency   text   NOT NULL,
    PRIMARY KEY (kind, id, position)
);

-- audit_agency_entries: entry index of agency's log is the global entry
-- seq; its leaf is that entry's leaf hash. The agency '' is the national
-- log (events of no agency).
CREATE TABLE audit_agency_entries (
    agency    text   NOT NULL,
    index     bigint NOT NULL CHECK (index >= 0),
    seq       bigint NOT NULL UNIQUE,
    position  bigint NOT NULL,
    leaf_hash bytea  NOT NULL CHECK (octet_length(leaf_hash) = 32),
    PRIMARY KEY (agency, index)
);
CREATE INDEX audit_agency_entries_seq ON audit_agency_entries (agency, seq);

-- The nodes above the leaves, as audit_nodes.
CREATE TABLE audit_agency_nodes (
    agency text     NOT NULL,
    level  smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
    index  bigint   NOT NULL,
    hash   bytea    NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (agency, level, index)
);

-- Each agency log's size and frontier after each batch that grew it.
CREATE TABLE audit_agency_frontier (
    agency text   NOT NULL,
    size   bigint NOT NULL CHECK (size > 0),
    hashes bytea  NOT NULL CHECK (octet_length(hashes) % 32 = 0),
    PRIMARY KEY (agency, size)
);

-- The agency checkpoints read from the ledger (each in the checkpoint
-- event at position, with the national checkpoint that lists its root).
CREATE TABLE audit_agency_checkpoints (
    agency    text        NOT NULL,
    position  bigint      NOT NULL,
    size      bigint      NOT NULL,
    signed_at timestamptz NOT NULL,
    root_hash bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
    key_id    text        NOT NULL,
    signature text        NOT NULL,
    origin    text        NOT NULL,
    note      text        NOT NULL,
    PRIMARY KEY (agency, position)
);

CREATE TRIGGER audit_agency_keys_append_only BEFORE UPDATE OR DELETE ON audit_agency_keys FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_keys_no_truncate BEFORE TRUNCATE ON audit_agency_keys FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_entries_append_only BEFORE UPDATE OR DELETE ON audit_agency_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_entries_no_truncate BEFORE TRUNCATE ON audit_agency_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_nodes_append_only BEFORE UPDATE OR DELETE ON audit_agency_nodes FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_nodes_no_truncate BEFORE TRUNCATE ON audit_agency_nodes FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_frontier_append_only BEFORE UPDATE OR DELETE ON audit_agency_frontier FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_frontier_no_truncate BEFORE TRUNCATE ON audit_agency_frontier FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_agency_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_agency_checkpoints_no_truncate BEFORE TRUNCATE ON audit_agency_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
