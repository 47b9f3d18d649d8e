-- 0002: the writer's signature on the last event of every append.
--
-- writer_key_id names the writer key (eventstore.WriterKeyID) and
-- writer_sig is its Ed25519 signature over the event's chain hash; both are
-- empty on the other events of an append, which the signed chain hash
-- covers, and on events written before this migration. Adding columns with
-- a constant default rewrites nothing, and the append-only triggers stay in
-- place: ALTER TABLE fires no UPDATE trigger, and no row is updated.
ALTER TABLE events
    ADD COLUMN writer_key_id text  NOT NULL DEFAULT '',
    ADD COLUMN writer_sig    bytea NOT NULL DEFAULT ''::bytea,
    ADD CONSTRAINT events_writer_signature_check
        CHECK ((writer_key_id = '') = (octet_length(writer_sig) = 0) AND octet_length(writer_key_id) <= 64 AND octet_length(writer_sig) <= 512);

COMMENT ON COLUMN events.writer_sig IS
    'Ed25519 signature by the writer key writer_key_id over "kinerja/writer/v1" || key ID || hash; on the last event of each append only. See eventstore.WriterMessage.';
