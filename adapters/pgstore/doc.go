// Package pgstore implements eventstore.Store on PostgreSQL (13 or newer)
// with pgx/v5.
//
// # Schema and migrations
//
// A store lives in one PostgreSQL schema (Options.Schema, default
// "kinerja"), so that several stores, or a test per schema, share a
// database. Its structure comes from numbered migrations embedded in the
// binary (migrations/0001_events.sql, ...), recorded in the schema's
// schema_migrations table and applied only by an explicit call to Migrate
// (kinerjactl migrate, or the service's start-up flag). Open never changes
// the database: it checks the schema's version and fails with a
// *VersionError that says what to run. Migrate takes a transaction-level
// advisory lock, so two processes migrating at once are safe.
//
// Events are rows of one table, events: (stream, revision) is the primary
// key, event_id is unique, position is unique. Data is bytea, never jsonb:
// jsonb reorders keys and drops whitespace, and the hash chain covers the
// exact bytes. Statement-level triggers reject UPDATE, DELETE and TRUNCATE.
// They stop mistakes and application bugs, not a superuser (who can disable
// triggers); what such a person changes, the hash chain exposes.
//
// # The global order, and why not a sequence
//
// A sequence (or identity column) hands out numbers when rows are inserted,
// but rows become visible when their transactions commit, in another order.
// If T1 takes 100 and T2 takes 101 and commits first, a reader that has
// seen 101 moves past 100 and never sees it when T1 commits. Marten,
// Eventuous, Emmett and watermill-sql each shipped that bug; gap detection
// with time-outs only makes the skip rarer.
//
// Here a position is built from the writing transaction's ID instead:
//
//	position = (pg_current_xact_id() << 20) | k
//
// where k (1, 2, ...) is the event's ordinal within its transaction, across
// all the statements of that transaction. Readers (ReadAll, SubscribeAll,
// Head) only return rows below a horizon H such that every transaction
// that will ever commit an event below H has already committed: each row a
// reader sees below H is final, and every event still to come sorts after
// everything read so far. Nothing can appear before a position a reader
// has already passed, so a reader's checkpoint is simply the last position
// it processed. Writers are not serialised: any number of transactions
// append at once. The simplest such horizon is the snapshot's,
//
//	position < pg_snapshot_xmin(pg_current_snapshot()) << 20
//
// (every xid below xmin has ended: the design of watermill-sql v4's
// PostgreSQL schema), but it waits for every transaction with an xid in
// the cluster. The store uses the writers' horizon, which waits only for
// transactions that can still write its events (next section); the
// snapshot horizon is the fallback when the writers' horizon cannot run.
//
// Limits of the encoding: fewer than 2^20 (1,048,576) events per
// transaction (the append fails with program_limit_exceeded beyond), and
// transaction IDs below 2^43, which a cluster reaches after about 2,000
// wraparounds' worth of transactions (Open checks).
//
// Positions are not dense: they jump by transaction, and rolled-back
// appends leave holes. They are strictly increasing in the global order.
//
// # The writers' horizon
//
// The rule the append paths keep (the writers' rule): a transaction that
// commits events holds RowExclusiveLock on the schema's events table from
// before its xid is assigned until it ends.
//
//   - Group commit and single appends run their INSERT as the first
//     statement of their transaction (autocommit, or right after BEGIN
//     when the batch carries pgtxhook statements, which run after it).
//     PostgreSQL takes a statement's relation locks (at parse, or when a
//     cached plan is checked) before executing it, and the xid is assigned
//     during execution; the lock is released only at the end of the
//     transaction.
//   - A writer that has taken the lock and not yet its xid is therefore
//     always on the safe side: its xid will be newer than any snapshot
//     taken before.
//   - AppendTx runs in the caller's transaction, which may already hold an
//     xid. In a round trip of its own (in a batch with the INSERT, pgx's
//     parse of the INSERT would take the lock first), it runs txWriterLock:
//     unless the transaction-local setting kinerja.events_locked_<hex of
//     schema> is on, it refuses a transaction that has an xid
//     (ErrTxWroteBeforeAppend, nothing changed), and otherwise takes the
//     lock (LOCK TABLE ... IN ROW EXCLUSIVE MODE) and sets the setting.
//     Holding the lock is not enough: a lock taken after the xid (a late
//     LockTx, a caller's LOCK TABLE, a prepared INSERT) lets readers pass
//     the transaction before it, which the marker, set only while there is
//     no xid, tells apart (TestLateLockIsRefused). The lock is taken in the
//     caller's transaction before the append's own savepoint: a conflict
//     rolls the savepoint back, which releases locks taken under it, but
//     not the xid. A caller that must write other tables first calls
//     LockTx before its first write; called after it, LockTx refuses too,
//     and the transaction can never append (roll back and redo it).
//   - Subtransactions: an xid assigned in a subtransaction assigns the
//     top-level xid too (positions use the top-level one), and the lock is
//     held at the caller's level. If a caller's own savepoint that took
//     the lock rolls back, the lock, the marker and the events roll back
//     with it; a later AppendTx in that transaction finds an xid without
//     the marker and is refused.
//   - Prepared transactions (2PC) keep their locks and their xid lock, and
//     stay "in progress" until COMMIT or ROLLBACK PREPARED. AppendTx itself
//     cannot be prepared (it NOTIFYs, which PostgreSQL refuses to PREPARE);
//     a prepared writer that kept the rule holds the horizon
//     (TestPreparedWriterHoldsTheHorizon).
//   - The rule is enforced for the store's API only. Anything else that
//     writes the events table by raw SQL must keep it by itself (a bulk
//     COPY: take the lock before the transaction's first write, or copy
//     first in its transaction); the store cannot check it.
//
// Readers learn which running transactions can never write the store's
// events (nonWritersSQL in sql.go, learn in store.go): x, an xid of the
// learning statement's snapshot, is proven when one capture of pg_locks,
// read after that snapshot was taken, holds x's own xid lock (taken just
// after the xid is assigned: a transaction whose xid lock is not there yet
// proves nothing), the transaction holding it (matched by virtual
// transaction ID) holds no RowExclusiveLock on this schema's events
// table, and pg_xact_status(x), read after the capture, still says "in
// progress". The transaction was then running,
// with x assigned, without the lock: by the writers' rule it will never
// commit an event. (Locks are released only after a transaction leaves
// the proc array, so one still "in progress" after the capture held all
// its locks during it; a fast-path lock moved to the main lock table
// during the capture is seen in one of the two. A prepared transaction
// keeps its locks and stays "in progress"; the store never proves one,
// since PREPARE moves its locks to another owner, and whether the virtual
// transaction ID that matches them stays the same through the move was
// observed on PostgreSQL 15 only, not read in its source.) The proof is permanent, so the store keeps the set N of
// proven xids; each learning keeps of N only the xids its snapshot still
// lists as running (the others have ended), so N stays bounded by the
// running transactions even while an idle one pins the xmin
// (TestKnownNonWritersStayBounded). Learning runs when a read finds committed events waiting beyond
// the horizon, at most every 20 ms per Store (its cost is in
// docs/benchmarks.md; Finality keeps the same rate); on a standby (whose
// pg_locks does not show the primary's writers) it proves nothing, and the
// horizon is the snapshot's xmin: a standby's pg_current_snapshot() lists
// no running xids (it keeps them in subxip, which it does not copy), so
// min(xip(S) \ N) would be xmax(S), past every primary transaction in
// progress (TestHorizonOnAStandbyIsTheSnapshotXmin stands a
// pg_is_in_recovery() in for a standby; TestHorizonOnARealStandby checks
// a real one when KINERJA_TEST_POSTGRES_STANDBY_URL is set).
//
// Each reading statement computes, with S its snapshot (horizonSQL):
//
//	H = min({xmax(S)} ∪ (xip(S) \ N)) << 20
//
// Let T be a transaction that commits an event with xid x < H >> 20.
// x ≥ xmax(S) is impossible, since H ≤ xmax(S) << 20. If x < xmax(S) and x
// is not in xip(S), T had ended when S was taken: its rows are visible to
// S (committed) or never will be (aborted). If x is in xip(S), then x is
// in N (else H ≤ x << 20), and T can never commit an event: a
// contradiction. So every event below H that will ever commit is visible
// to S, and to every later snapshot (ReadAll reads in later statements).
// With N empty, H is the snapshot horizon: the first read after a
// transaction begins waits for it, and learning lets the next one pass.
//
// What does not hold the horizon any more: a transaction that wrote other
// tables (of any database), or read the events, or runs a report, a
// pg_dump, an index build, VACUUM; another store's schema in the same
// database (another agency's, a test's). What still holds it: a
// transaction that appends to this store and is slow to commit, and one
// that called LockTx. Open probes the learning (the role must be allowed
// to read pg_locks and call pg_xact_status, which every role is unless an
// administrator revoked it); if it cannot run, the store logs
// pgstore_writers_horizon_unavailable and keeps N empty: the snapshot
// horizon (Finality.LegacyHorizon).
//
// # What the horizon costs
//
// A long-running transaction that writes this store's events holds the
// horizon back: events committed after it began are not delivered until
// it ends. Subscriptions then see committed events waiting beyond the
// horizon (ReadPage reports pending) and poll every few milliseconds,
// backing off to 100 ms, until it ends; nothing is skipped or reordered,
// only delayed. ReadAll and Head wait for the events committed when they
// began to become final, for at most Options.FinalityWait, then return the
// final prefix and log pgstore_read_stopped_at_horizon (at most every
// 10 s): to a caller who has just appended, the prefix looks like missing
// events, so the reason must be visible. Errors are never turned into a
// short answer: a read whose connection fails returns the error.
// Watch Store.Finality (OldestTransactionAge: the transaction that holds
// the horizon) and keep AppendTx transactions short.
//
// Positions embed transaction IDs, so a logical dump restored into a
// cluster whose transaction IDs are lower would give new events smaller
// positions than restored ones. Open detects this (the newest stored
// position's transaction ID is not below the cluster's next one) and
// refuses with ErrPositionsAhead; advance the cluster's transaction ID
// (pg_resetwal -x on a stopped cluster) before using a restored copy.
// Physical backups and replicas keep transaction IDs and are unaffected.
//
// # Appending
//
// An append is checked (eventstore.Prepare) before anything is written,
// then sealed: the hash chain (eventstore.Seal) is computed here, in Go,
// from the stream's head. Heads come from a bounded in-process cache of
// stream → (revision, hash), which is never wrong because stored events are
// immutable (it holds only committed events); on a miss, one indexed read
// fetches the hash at the expected revision. Appends of one process to one
// stream take turns, so they never race each other.
//
// The insert is one statement and one round trip: INSERT ... SELECT, guarded
// by the head check (the stream's max(revision) equals the expected one),
// returning each row's position. A single event uses scalar parameters;
// anything larger uses arrays through unnest WITH ORDINALITY. A failed head
// check inserts nothing and returns nothing; a concurrent append that
// inserted the same revision first makes the statement fail on the primary
// key. Either way the append then looks up its event IDs, and
// eventstore.CheckRepeat decides: a repetition of an acknowledged append
// returns the first result, however old (permanent idempotency), a partial
// one is an *IdempotencyError, and otherwise the head is re-read and the
// error is an *eventstore.WrongExpectedRevisionError with the actual
// revision. Any and StreamExists read the head and append at that exact
// revision, retrying up to 32 times when a writer of another process wins.
//
// Both statements keep their generic plan (PostgreSQL re-planned the array
// statement on every execution at first, which cost more than running it;
// the comment on the statement in sql.go says how), and a test checks that
// they still do.
//
// # Group commit
//
// Every commit waits for a WAL flush, so under load appends are committed
// in batches. A caller that finds no batch in flight commits at once, in
// its own goroutine, together with every append already waiting; a lone
// writer's append is therefore a batch of one, the same single statement,
// with no hand-off. Callers that find a batch in flight queue their append;
// when the batch ends, the queued appends go out together as the next one
// (sent by one of Options.Committers goroutines that live as long as the
// store), and when Options.BatchStart (default 8) are
// waiting, another batch starts beside the first (at most
// Options.Committers, default 2, in flight), so that batches execute while
// others wait for their flush, and PostgreSQL flushes their commits
// together.
// Nothing ever waits for a batch to fill. Appends to one stream take turns,
// so a batch holds at most one append per stream.
//
// Each append's rows share its stream's head check, so an append is
// inserted whole or not at all, independently of the others in its batch.
// Rows are ordered by stream, so that batches of different processes take
// index locks in the same order. When the statement fails as a whole (a
// unique key taken by a racing writer of another process, a repeated event
// ID, a deadlock, a lost connection), its appends are retried one by one,
// so each caller gets its own exact answer. Store.Stats counts statements,
// appends and fall-backs.
//
// A caller whose context ends while its append is still queued gets the
// context's error and its append is never sent; once sent, the statement's
// outcome is the answer. A batch can wait on a row lock held by another
// transaction (an AppendTx outbox, another process): when every caller in
// it has given up, the statement is cancelled on the server (connections
// answer a cancelled context with a cancel request, see
// CancelOnContextDone), and an append queued 50 ms behind it starts another
// batch if a slot is free, so other streams do not wait with it.
//
// # Subscriptions and wake-ups
//
// SubscribeAll is eventstore.Follow over ReadPage, which reads the next
// page below the horizon and reports pending events beyond it in the same
// query. Subscribers of one Store share one LISTEN connection, opened with
// the first subscription and reconnected with back-off (50 ms to 5 s) when
// it drops; its notifications, and the store's own commits, wake them
// through an eventstore.Broadcaster. An idle subscriber reads once per
// Options.IdlePoll (1 s).
//
// Appends do not NOTIFY inside their own transactions. A transaction that
// notifies holds a cluster-wide lock from just before its commit until its
// commit record is flushed, which would serialise every appending commit
// and defeat PostgreSQL's own WAL group commit. Instead, after its commits
// a Store sends a separate NOTIFY (at most one per Options.NotifyInterval)
// for subscribers of other processes; subscribers of the same Store are
// woken directly. AppendTx, which commits with the caller's transaction,
// notifies inside it.
//
// # recorded_at
//
// By default the database stamps recorded_at (clock_timestamp() when the
// append statement runs), so no writing process chooses it. Options.Now
// stamps it from the process's clock instead, sent as a statement
// parameter, never decreasing within one Store: for tests that move a
// clock through a business year. docs/eventstore.md tabulates who stamps
// it in each mode.
//
// # Transactional outbox
//
// AppendTx appends inside a caller's pgx.Tx, so that events commit or roll
// back with the caller's other writes. It uses neither group commit nor the
// head cache, and runs its insert under a savepoint (sent in the same round
// trip) so that a failed append leaves the transaction usable. Append first
// in the transaction, or call LockTx before its first write (the writers'
// rule, above): otherwise AppendTx refuses with ErrTxWroteBeforeAppend.
//
// # Bulk writing
//
// Bulk (NewBulk) is for a writer that fills an empty store with events it
// decides itself: kinerjactl seed. Its Append prepares, seals and signs an
// append as Append does, and encodes its rows with the group commit's
// encoder (wireBuf.rowValue) into a chunk: a binary COPY's tuples. It
// answers at once, before anything is committed; one goroutine copies the
// chunks, in the order they were filled, each in its own transaction, and
// commits them. What holds:
//
//   - The writers' rule: a chunk's transaction takes the events lock
//     (LockTx) before its xid (pg_current_xact_id, read next), from which
//     the chunk's positions are built ((xid << 20) | k, k the row's ordinal
//     in the chunk), so Append answers with the final position. Readers
//     stop before an open chunk, as before any writer's transaction
//     (TestBulkHoldsTheHorizon); keep chunks small (20,000 events).
//   - Stream revisions and the hash chain: a Bulk keeps the head of every
//     stream it wrote, and refuses a wrong expected revision at once, as
//     Append does. The store was empty when it began (NewBulk refuses
//     one that is not), so a stream it has not written has no events,
//     unless another writer made them meanwhile: then the primary key
//     (stream, revision) fails the chunk's COPY, and on every stream
//     whichever of the two commits second loses (TestBulkBesideAWriter).
//     Chunks commit in order, so a later chunk's rows never land without
//     an earlier one's; once a chunk fails, every later one is rolled back
//     and every later call returns the error.
//   - The rows are those Append writes: the same events, hashes and writer
//     signatures (TestBulkMatchesAppend compares the two paths' logs).
//     recorded_at is the database's clock when the chunk is copied (or
//     Options.Now when the append is made); AppendResult.RecordedAt is zero.
//
// What is given up: an append is durable only once Flush or Close
// returns nil (a crash loses the chunks not yet committed; a seed then
// starts again on an empty store), a repeated event ID fails the chunk
// instead of being answered as a repeat, and Bulk does not NOTIFY within
// its transactions: after each chunk commits it wakes the store's
// in-process subscribers, NOTIFYs other processes and counts the chunk in
// Stats, as the group commit does (TestBulkWakesSubscribers). If a
// chunk's COMMIT fails (the connection dropped), whether it took effect
// is unknown and the error says so. A Bulk never closed keeps its open
// chunk's transaction, and so every reader's horizon, and up to three
// pool connections: close it. Its reads
// (ReadStream of a stream with rows still in a chunk, ReadAll, Head,
// SubscribeAll) commit the chunks first.
//
// # Several streams in one statement
//
// ReadTails (eventstore.TailsReader) reads the tails of several streams,
// each from its own revision, in one statement: the requests are unnested
// and joined laterally to the events through the (stream, revision)
// index, each from the revision before the one asked (its presence proves
// the caller's prefix and the stream's existence). eventlog.Cached uses it
// to check in one round trip every stream a read depends on (GET
// /v1/skps/{id}: the SKP, its employee, the caller), from the revisions
// its cache holds, so a strongly consistent read costs one statement.
//
// # Coalesced tail reads
//
// Concurrent tail reads share statements, as appends share batches: at
// most Options.TailReaders statements (default 2) are in flight; a read
// that finds them all busy joins the one open batch, and the first of them
// to end sends the batch as one statement (the requests of all its reads
// unnested together, the head row if any of them asked for it), then hands
// each read its own rows. A batch is never joined once sent, so its
// statement, and the snapshot it takes, starts after each of its reads
// arrived. That keeps every read linearizable as before: an append is
// acknowledged after its commit, so a read that began after the
// acknowledgement, whichever process made the append, has it in its
// snapshot (TestCoalescedTailReadsSeeAcknowledgedWrites). The writers'
// horizon plays no part here: tail reads go by stream and revision, not by
// position, and see what is committed (the head row is the newest visible
// position, as before, not a final one). PostgreSQL then pays the
// statement's fixed cost (parse of the bound arguments, executor start-up,
// the round trip and its wake-ups) once per batch, not once per read; a read
// waits at most for one statement before its own starts. A batch's
// statement belongs to no one reader: it is cancelled when every reader of
// it has stopped waiting, and Close waits for it (cancelling it after
// closeGrace). A read's own statement, sent from a free slot on the
// caller's goroutine, counts as an operation in flight: Close waits for it
// too and cancels it after closeGrace, and a read that finds the store
// closed starts none. So Close returns with no tail statement of the Store
// running on the pool.
package pgstore
