-- One row: the fingerprint of the settings the items were built with
-- (deadlines.Settings.Fingerprint), as deadlines.db records it in its meta
-- bucket. Reset keeps it; kinerjad and the projector compare it with their
-- own settings at start (wiring.CheckDeadlineSettings).
CREATE TABLE deadline_settings (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    fingerprint text NOT NULL
);
