-- The dashboard's server-side records: sessions (under the SHA-256 of the
-- browser's ID) and sign-in attempts in progress, kept until they expire.
CREATE TABLE web_records (
    key        text PRIMARY KEY,
    record     bytea NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_records_expires ON web_records (expires_at);
