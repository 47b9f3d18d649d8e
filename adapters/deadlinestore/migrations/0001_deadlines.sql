-- The deadline process manager (projections/deadlines): what waits for
-- whom until when, its checkpoint, what fired, and the outbox of reminders.
CREATE TABLE deadline_items (
    key       text PRIMARY KEY,
    skp_id    text NOT NULL,
    recipient text NOT NULL,
    fire_at   timestamptz NOT NULL,
    fire_id   text NOT NULL,
    due       timestamptz NOT NULL,
    item      bytea NOT NULL -- the item as JSON (bytea: events may carry NUL)
);
CREATE INDEX deadline_items_skp ON deadline_items (skp_id);
CREATE INDEX deadline_items_recipient ON deadline_items (recipient, due);
CREATE INDEX deadline_items_fire_at ON deadline_items (fire_at);

-- One row: the position of the last event applied.
CREATE TABLE deadline_checkpoint (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    position bigint NOT NULL
);

-- Every firing, by its derived ID: kept through a rebuild, so nothing fires
-- twice.
CREATE TABLE deadline_fired (
    fire_id  text PRIMARY KEY,
    item_key text NOT NULL,
    fired_at timestamptz NOT NULL
);

-- Reminders not yet published to NATS, in the order they fired.
CREATE TABLE deadline_outbox (
    seq  bigserial PRIMARY KEY,
    id   text NOT NULL UNIQUE,
    body bytea NOT NULL
);
