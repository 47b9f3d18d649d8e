-- 0004: a fencing token per consumer checkpoint. Whoever starts running a
-- consumer (a relay) claims its checkpoint: the epoch goes up by one and
-- the claimant remembers it. A Save or Load by a process holding an older
-- epoch is refused, so a relay that was taken over (its lease lost, or a
-- second process started) can neither move the checkpoint back nor go on
-- publishing. See Checkpoints.Claim.
ALTER TABLE consumer_checkpoints ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE consumer_checkpoints ADD CONSTRAINT consumer_checkpoints_epoch_check CHECK (epoch >= 0);
