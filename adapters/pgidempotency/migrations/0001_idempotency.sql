-- The first response to each keyed mutation (Idempotency-Key), kept until
-- it expires. Records are opaque bytes of the API.
CREATE TABLE idempotency (
    key        text PRIMARY KEY,
    record     bytea NOT NULL,
    stored_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);
