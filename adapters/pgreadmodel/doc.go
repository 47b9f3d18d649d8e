// Package pgreadmodel holds every read model of Kinerja Ledger in
// PostgreSQL (pgx/v5): the SKP summaries, evaluations, score history,
// objection register, employee timeline, directory and the audit trail,
// each behind a projections.Sink and a reader. It answers exactly as
// adapters/memreadmodel does: both are held to projections/readmodeltest.
//
// # Schema and migrations
//
// The read models live in one schema (Options.Schema, default kinerja_rm),
// so that several deployments, or a test per schema, share a database.
// Their structure comes from numbered migrations embedded in the binary
// (migrations/0001_read_models.sql, ...), recorded in the schema's
// schema_migrations table and applied only by an explicit Migrate call.
// Open never changes the database; it checks the version and fails with a
// *VersionError that says what to run. Besides the tables of each
// projection (Tables), the schema holds checkpoints(projection, position,
// generation, updated_at) and dead_letters.
//
// # Agency groups
//
// The SKP projections and the timeline can be projected in G agency
// groups (groups.go; shared projectors' --agency-groups): GroupSink(name,
// g, G) applies the events whose agency, read from the audit trail's
// agency logs, hashes to g, under its own checkpoint row
// "<projection>#<g>/<G>". The G in effect is pinned in the checkpoints row
// "<projection>#groups", which every writer of such a projection reads FOR
// SHARE (ErrLayout for another G); the ungrouped Sink's Checkpoint then
// answers the least group checkpoint. Tables and readers are unchanged.
//
// # One short transaction per Apply
//
// A Sink's Apply is one transaction: it locks the projection's checkpoint
// row (so that Sinks of several processes take turns), skips the events at
// or below the checkpoint (a redelivery changes nothing), runs the
// projection's logic (package projections/...) over rows staged in memory,
// and writes them with a few multi-row statements (INSERT … SELECT FROM
// unnest(arrays) … ON CONFLICT DO UPDATE, one per table) sent with the new
// checkpoint in one round trip. The rows an Apply reads (the directory's
// units and employees, the audit tree's frontier) are loaded with one query
// per table before it; the SKP projections read nothing, because they keep
// their aggregates in memory (projections.Cache) and rebuild a missing one
// from the event store (Options.History). A failed Apply rolls back: no
// row and no checkpoint is left behind.
//
// The transaction commits synchronously, with the rows and the checkpoint
// together: once Apply returns, the batch is durable. It must be: the
// projection runner acknowledges the events and goes on from them in
// memory, so a batch that a crash of PostgreSQL took back (as
// synchronous_commit = off allowed, which an earlier version set) would
// never be delivered again (docs/projections.md, "Acknowledged means
// durable"). Should the stored checkpoint still be found behind the one a
// Sink committed (a restored database, another process's reset), Apply
// refuses with ErrCheckpointBehind rather than apply after a hole.
// Transactions are kept short on purpose: a writing transaction
// that stays open holds back the horizon below which the PostgreSQL event
// store (adapters/pgstore) delivers events, so batches are bounded by the
// caller (a rebuild's CatchUp uses 5,000 events) and nothing waits inside
// a transaction but the database.
//
// # Any bytes an event carries
//
// PostgreSQL text and jsonb cannot hold NUL, and text refuses invalid
// UTF-8, yet a string in a stored event may hold both; a read model that
// could not store it would fail on that event for ever. Every string is
// therefore stored through one reversible escape (text.go): ordinary
// strings unchanged; NUL, the escape character U+FFFF and bytes that are
// not UTF-8 as U+FFFF sequences. Text parameters are escaped by a pgx
// codec registered on each connection this package uses, scanned strings
// unescaped by its row wrappers, and jsonb documents have their strings
// escaped the same way (marshalDoc, unmarshalDoc). SQL sees the escaped
// form; readers see exactly what the event carried, as in memory.
//
// # The audit trail
//
// audit_entries (one per event, dense seq), audit_nodes (the RFC 6962
// tree's complete subtrees), audit_frontier (the tree's size and frontier
// after each batch) and audit_checkpoints (the signed checkpoints read from
// the ledger) are append-only: statement-level triggers reject UPDATE,
// DELETE and TRUNCATE, and the audit Sink's Reset refuses (ErrAppendOnly)
// unless the trail is empty. AuditReader implements audit.Stored, so the
// verifier compares every stored entry and node with what it recomputes
// from the event store.
//
// # The reports' counts
//
// skp_counts (migration 0005) holds the SKPs per unit, year and status
// and the late ones, kept by the skps projection in the transaction that
// writes the SKP rows (one statement per batch nets the old rows of the
// SKPs it writes against the new ones): the progress board reads them
// (CountForYear). skp_coverage (migration 0006) holds, kept the same way,
// the SKPs of each (year, NIP) that are not cancelled. The board's
// employees and missing NIPs (reports.BoardCounter: the subtree's
// employees anti-joined with skp_coverage) and the distribution's
// predikat counts (reports.PopulationCounter) span two projections each,
// so they are aggregated in one statement each rather than kept; see
// reportcounts.go and docs/projections.md. Each
// Sink transaction first reads the schema version and refuses to write
// (ErrSchemaVersion) when a migration moved it past this build, so a
// build cannot write tables whose companions it does not know;
// DB.CheckCounts and DB.CheckCoverage (kinerjactl projections check) find
// counts that drifted all the same (an SKP row written by a build before
// 0005 or 0006).
//
// # Rebuilds (blue/green)
//
// StartRebuild copies a projection's tables into fresh ones, a Rebuild's
// Sink fills them from the event store while the live tables serve, and
// Swap makes them live in one transaction; see Rebuild. A rebuild's Sink
// commits with synchronous_commit = off (Sink.begin says why that is
// safe before the swap). The audit trail's replaced tables are kept,
// renamed <table>__retired_g<generation>, until DropRetired drops those
// the live trail reproduces (retired.go).
package pgreadmodel
