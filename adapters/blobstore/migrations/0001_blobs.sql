-- Evidence files, content-addressed by SHA-256 (lower-case hex), in chunks
-- of at most 1 MiB so that no single value is large. A blob is visible
-- only once its row in blobs is committed with all its chunks (one
-- transaction).
CREATE TABLE blobs (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint NOT NULL CHECK (size >= 0),
    stored_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE blob_chunks (
    sha256 text NOT NULL REFERENCES blobs (sha256) ON DELETE CASCADE,
    seq    integer NOT NULL CHECK (seq >= 0),
    data   bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);
