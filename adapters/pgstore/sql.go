package pgstore

import (
	"encoding/hex"
	"strings"
)

// Positions are (top-level xid << positionShift) | k, with k in
// [1, maxPerTransaction]. See the package doc.
const (
	positionShift     = 20
	maxPerTransaction = 1<<positionShift - 1
)

// horizonSQL is the writers' horizon (package doc, "The writers'
// horizon"): the least xid of the statement's snapshot S that is still
// running and not known never to write this store's events, else S's
// xmax, shifted into a position. NONWRITERS is the statement's parameter
// holding the xids learnt by nonWritersSQL (bigint[], possibly empty:
// then this is the snapshot horizon, pg_snapshot_xmin(S) << 20). In READ
// COMMITTED, pg_current_snapshot() is the statement's own snapshot, so the
// rows the statement sees below the horizon are exactly the final ones.
//
// On a hot standby pg_current_snapshot() lists no running xids (the
// standby's snapshot keeps the primary's running xids in subxip, which
// pg_current_snapshot does not copy): there S's xmin is the horizon, the
// snapshot horizon (TestHorizonOnAStandbyIsTheSnapshotXmin).
const horizonSQL = `(SELECT CASE WHEN pg_is_in_recovery() THEN w.lo
		ELSE coalesce((SELECT min(x::text::bigint) FROM pg_snapshot_xip(w.s) x
			WHERE x::text::bigint <> ALL (NONWRITERS)), w.hi) END << 20
	FROM (SELECT s, pg_snapshot_xmin(s)::text::bigint AS lo, pg_snapshot_xmax(s)::text::bigint AS hi
		FROM pg_current_snapshot() s) w)`

// nonWritersSQL returns the xids of its snapshot S that are proven never
// to write this store's events, together with those of $1 (the proven
// set so far) that S still lists as running: an xid of $1 that S does not
// list has ended (it is below S's xmax, since an earlier snapshot listed
// it), so the set stays bounded by the running transactions, even while
// an idle one pins S's xmin (TestKnownNonWritersStayBounded). x is proven
// when, in one capture of pg_locks read after S
// was taken, x's own xid lock is there (a transaction takes it just after
// its xid, so a missing one proves nothing), the transaction holding it
// (by virtual transaction ID) does not hold RowExclusiveLock on this
// schema's events table, and pg_xact_status(x), read after the capture
// (the CASE reads the capture first), is still "in progress": the transaction was then
// running with x and without the lock, which the writers' rule forbids to
// any transaction that commits an event. A prepared transaction (its
// locks have no pid) is never proven: its locks changed owner when it was
// prepared. pg_locks.transactionid is a 32-bit xid: running xids lie within 2^31 of each other, so their low 32
// bits identify them.
const nonWritersSQL = `WITH w AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
l AS MATERIALIZED (
	SELECT locktype, virtualtransaction, transactionid::text::bigint AS xid, pid FROM pg_locks
	WHERE (locktype = 'relation' AND mode = 'RowExclusiveLock' AND relation = 'EVENTS'::regclass
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
		OR (locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted)
), wx AS MATERIALIZED (
	SELECT t.xid FROM l t
	WHERE t.locktype = 'transactionid'
		AND (t.pid IS NULL -- prepared: never proven
			OR t.virtualtransaction IN (SELECT r.virtualtransaction FROM l r WHERE r.locktype = 'relation'))
)
SELECT coalesce((SELECT array_agg(x::text::bigint ORDER BY x::text::bigint) FROM pg_snapshot_xip(w.s) x
		WHERE x::text::bigint = ANY (coalesce($1::bigint[], '{}'))
			OR (NOT pg_is_in_recovery() AND CASE
			WHEN (x::text::bigint & 4294967295) IN (SELECT xid FROM wx) THEN false
			WHEN (x::text::bigint & 4294967295) IN (SELECT xid FROM l WHERE locktype = 'transactionid')
				THEN pg_xact_status(x) = 'in progress'
			ELSE false END)), '{}'::bigint[])
FROM w`

// eventColumns is the column list every read scans with scanEvent.
const eventColumns = `position, stream, revision, event_id, type, schema_version, occurred_at, actor_id, actor_role, correlation_id, causation_id, reason, data, hash, recorded_at, writer_key_id, writer_sig`

// headColumns is what a writer reads of a stream's head: enough to check
// its signature before building on it (see scanHead).
const headColumns = `revision, hash, writer_key_id, writer_sig, event_id, position`

// queries are the statements of one schema, built once at Open.
type queries struct {
	checkPositions string
	appendOne      string // one event of one append, autocommit
	appendMany     string // any number of appends and events; $18 is a NOTIFY channel or NULL, $19 recorded_at or NULL
	appendBatch    string // appendMany for a fresh transaction (group commit): no NOTIFY; $18 recorded_at or NULL
	notify         string
	hashAt         string
	head           string
	byIDs          string
	streamFwd      string
	streamBwd      string
	streamExists   string
	settle         string
	readAll        string
	readPage       string
	headBelow      string
	horizonInfo    string
	horizon        string // SELECT HORIZON; $1 the non-writers
	nonWriters     string // nonWritersSQL
	txWriterLock   string // AppendTx, LockTx: refuse a transaction that wrote before taking the events lock, else take it
}

// newQueries builds the statements of schema. Each statement that reads
// the horizon takes the known non-writers as its last parameter
// (horizonParam gives its number).
func newQueries(schema string) queries {
	events := ident(schema, "events")
	horizon := func(param string) string {
		// coalesce: a NULL array would make every xid "known" (x <> ALL
		// (NULL) is NULL), the horizon xmax: never let it.
		return strings.ReplaceAll(horizonSQL, "NONWRITERS", "coalesce("+param+"::bigint[], '{}')")
	}
	r := strings.NewReplacer(
		"HORIZON1", horizon("$1"),
		"HORIZON3", horizon("$3"),
		"EVENTS", events,
		"POSITION_OVERFLOW", ident(schema, "position_overflow"),
		"COLUMNS", eventColumns,
		"MARKER", lockMarker(schema),
		"HEADCOLS", headColumns,
	)
	return queries{
		horizon:    r.Replace(`SELECT HORIZON1`),
		nonWriters: r.Replace(nonWritersSQL),
		// A transaction with an xid that did not take RowExclusiveLock on
		// the events table before its xid could append events below
		// positions readers have passed (package doc). Holding the lock
		// now proves nothing (it may have been taken after the xid), so
		// the block takes it only while the transaction has no xid, and
		// records that in a transaction-local setting (undone, like the
		// lock, by a rollback to a savepoint taken before): a transaction
		// with an xid passes only with the marker. A DO block, so that the
		// refusal is an error (the caller runs it under a savepoint).
		txWriterLock: r.Replace(`DO $kinerja$ BEGIN
	IF coalesce(current_setting('MARKER', true), '') <> 'on' THEN
		IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
			RAISE EXCEPTION USING ERRCODE = '` + txWroteFirstCode + `', MESSAGE = '` + txWroteFirstMessage + `',
				HINT = 'roll back and redo the transaction with pgstore.Store.LockTx before its first write, or append first';
		END IF;
		LOCK TABLE EVENTS IN ROW EXCLUSIVE MODE;
		PERFORM set_config('MARKER', 'on', true);
	END IF;
END $kinerja$`),
		checkPositions: r.Replace(`SELECT (SELECT max(position) FROM EVENTS), pg_snapshot_xmax(pg_current_snapshot())::text::bigint`),

		// The common case, a single event: scalar parameters, the least work
		// for the server. Its own (autocommit) transaction has written nothing
		// before, so k is 1. $2 is the revision the stream's last event must
		// have, -1 for none. $16 is recorded_at from Options.Now, or NULL
		// for the database's clock.
		appendOne: r.Replace(`
INSERT INTO EVENTS (position, revision, event_id, schema_version, occurred_at, recorded_at,
	stream, type, actor_id, actor_role, correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig)
SELECT (pg_current_xact_id()::text::bigint << 20) | 1, $2::bigint + 1, $3, $4, $5, coalesce($16::timestamptz, clock_timestamp()),
	$1, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
WHERE coalesce((SELECT max(e.revision) FROM EVENTS e WHERE e.stream = $1), -1) = $2::bigint
RETURNING position, recorded_at`),

		// Batches, appends of several events, and AppendTx. Arguments: one
		// element per append in $1 (stream) and $2 (expected last revision,
		// -1 for none); one element per event, ordered by stream then
		// revision, in the other arrays, where $3 is the 1-based index of the
		// event's append. An append whose head check fails inserts nothing;
		// its events share the check, so each append is all or nothing.
		//
		// k0 counts the events this transaction wrote before (several AppendTx
		// calls), so that positions keep increasing within it; the range probe
		// on the position index only ever meets this transaction's rows.
		//
		// The parameters go through a MATERIALIZED CTE on purpose. Given
		// directly to unnest, they are constants in a custom plan, whose
		// exact row estimates always look cheaper than the generic plan's:
		// PostgreSQL then re-plans the statement on every execution, and
		// planning it cost more than running it (measured: 0.66 ms against
		// 0.35 ms p50 for a single-event append). Behind the CTE both plans
		// estimate alike and the generic plan is kept after five executions
		// (TestAppendStatementKeepsGenericPlan checks).
		appendMany: r.Replace(`
WITH p AS MATERIALIZED (
	SELECT $1::text[] AS stream, $2::bigint[] AS expected, $3::bigint[] AS req, $4::bigint[] AS revision,
		$5::uuid[] AS event_id, $6::int[] AS schema_version, $7::timestamptz[] AS occurred_at, $8::text[] AS type,
		$9::text[] AS actor_id, $10::text[] AS actor_role, $11::text[] AS correlation_id, $12::text[] AS causation_id,
		$13::text[] AS reason, $14::bytea[] AS data, $15::bytea[] AS hash, $16::text[] AS writer_key_id,
		$17::bytea[] AS writer_sig, $18::text AS notify, $19::timestamptz AS recorded_at
), req AS (
	SELECT r.idx, r.stream
	FROM p, unnest(p.stream, p.expected) WITH ORDINALITY AS r(stream, expected, idx)
	WHERE coalesce((SELECT max(e.revision) FROM EVENTS e WHERE e.stream = r.stream), -1) = r.expected
), x AS MATERIALIZED (
	SELECT b.base,
		coalesce((SELECT max(e.position) FROM EVENTS e
			WHERE e.position > b.base AND e.position <= b.base + 1048575) - b.base, 0) AS k0,
		coalesce((SELECT p.recorded_at FROM p), clock_timestamp()) AS now,
		(SELECT pg_notify(p.notify, '') FROM p WHERE p.notify IS NOT NULL) AS notified
	FROM (SELECT pg_current_xact_id()::text::bigint << 20 AS base) b
)
INSERT INTO EVENTS (position, revision, event_id, schema_version, occurred_at, recorded_at,
	stream, type, actor_id, actor_role, correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig)
SELECT CASE WHEN x.k0 + t.ord <= 1048575 THEN x.base + x.k0 + t.ord ELSE POSITION_OVERFLOW(x.k0 + t.ord) END,
	t.revision, t.event_id, t.schema_version, t.occurred_at, x.now,
	req.stream, t.type, t.actor_id, t.actor_role, t.correlation_id, t.causation_id, t.reason, t.data, t.hash,
	t.writer_key_id, t.writer_sig
FROM p, unnest(p.req, p.revision, p.event_id, p.schema_version, p.occurred_at, p.type, p.actor_id,
		p.actor_role, p.correlation_id, p.causation_id, p.reason, p.data, p.hash, p.writer_key_id, p.writer_sig)
	WITH ORDINALITY AS t(req, revision, event_id, schema_version, occurred_at, type, actor_id,
		actor_role, correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig, ord)
JOIN req ON req.idx = t.req
CROSS JOIN x
ORDER BY t.ord
RETURNING stream, position, recorded_at`),

		// appendMany as the first statement of its transaction, which
		// group commit always runs it as (autocommit, or right after BEGIN
		// when the batch carries pgtxhook statements), with no NOTIFY. Its
		// plan is as small as the work allows, because initialising the
		// executor for appendMany (its scalar subqueries above all) cost a
		// sixth of the backend's CPU per statement at three appends per
		// statement (perf, docs/benchmarks.md):
		//   - k is the event's ordinal in the batch: nothing was written
		//     before in this transaction, so no probe of the position
		//     index; a batch holds at most Options.MaxBatchEvents (< 2^20)
		//     events, so k fits without the overflow guard;
		//   - the transaction ID and the recording time are computed once,
		//     in a one-row CTE joined to the rows, not in subqueries.
		// The head check of each append is appendMany's, and so is the
		// ORDER BY: rows go in by stream, so that batches of different
		// processes take index locks in the same order (package doc).
		appendBatch: r.Replace(`
WITH p AS MATERIALIZED (
	SELECT $1::text[] AS stream, $2::bigint[] AS expected, $3::bigint[] AS req, $4::bigint[] AS revision,
		$5::uuid[] AS event_id, $6::int[] AS schema_version, $7::timestamptz[] AS occurred_at, $8::text[] AS type,
		$9::text[] AS actor_id, $10::text[] AS actor_role, $11::text[] AS correlation_id, $12::text[] AS causation_id,
		$13::text[] AS reason, $14::bytea[] AS data, $15::bytea[] AS hash, $16::text[] AS writer_key_id,
		$17::bytea[] AS writer_sig, $18::timestamptz AS recorded_at
), req AS (
	SELECT r.idx, r.stream
	FROM p, unnest(p.stream, p.expected) WITH ORDINALITY AS r(stream, expected, idx)
	WHERE coalesce((SELECT max(e.revision) FROM EVENTS e WHERE e.stream = r.stream), -1) = r.expected
), x AS MATERIALIZED (
	SELECT pg_current_xact_id()::text::bigint << 20 AS base, coalesce(p.recorded_at, clock_timestamp()) AS now FROM p
)
INSERT INTO EVENTS (position, revision, event_id, schema_version, occurred_at, recorded_at,
	stream, type, actor_id, actor_role, correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig)
SELECT x.base | t.ord, t.revision, t.event_id, t.schema_version, t.occurred_at, x.now,
	req.stream, t.type, t.actor_id, t.actor_role, t.correlation_id, t.causation_id, t.reason, t.data, t.hash,
	t.writer_key_id, t.writer_sig
FROM p, unnest(p.req, p.revision, p.event_id, p.schema_version, p.occurred_at, p.type, p.actor_id,
		p.actor_role, p.correlation_id, p.causation_id, p.reason, p.data, p.hash, p.writer_key_id, p.writer_sig)
	WITH ORDINALITY AS t(req, revision, event_id, schema_version, occurred_at, type, actor_id,
		actor_role, correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig, ord)
JOIN req ON req.idx = t.req
CROSS JOIN x
ORDER BY t.ord
RETURNING stream, position, recorded_at`),

		notify:       `SELECT pg_notify($1, '')`,
		hashAt:       r.Replace(`SELECT HEADCOLS FROM EVENTS WHERE stream = $1 AND revision = $2`),
		head:         r.Replace(`SELECT HEADCOLS FROM EVENTS WHERE stream = $1 ORDER BY revision DESC LIMIT 1`),
		byIDs:        r.Replace(`SELECT COLUMNS FROM EVENTS WHERE event_id = ANY($1::uuid[])`),
		streamFwd:    r.Replace(`SELECT COLUMNS FROM EVENTS WHERE stream = $1 AND revision >= $2 AND recorded_at <= $3 ORDER BY revision LIMIT $4`),
		streamBwd:    r.Replace(`SELECT COLUMNS FROM EVENTS WHERE stream = $1 AND revision <= $2 AND recorded_at <= $3 ORDER BY revision DESC LIMIT $4`),
		streamExists: r.Replace(`SELECT EXISTS (SELECT 1 FROM EVENTS WHERE stream = $1 AND revision = 0 AND recorded_at <= $2)`),
		settle:       r.Replace(`SELECT HORIZON1, (SELECT max(position) FROM EVENTS)`),
		readAll:      r.Replace(`SELECT COLUMNS FROM EVENTS WHERE position > $1 AND position < $2 ORDER BY position LIMIT $3`),
		// The second branch finds one event that is committed but not yet
		// final: the caller should poll again soon.
		readPage: r.Replace(`
WITH h AS MATERIALIZED (SELECT HORIZON3 AS horizon)
(SELECT COLUMNS, true FROM EVENTS WHERE position > $1 AND position < (SELECT horizon FROM h) ORDER BY position LIMIT $2)
UNION ALL
(SELECT COLUMNS, false FROM EVENTS WHERE position >= (SELECT horizon FROM h) AND position > $1 ORDER BY position LIMIT 1)`),
		headBelow: r.Replace(`SELECT coalesce(max(position), 0) FROM EVENTS WHERE position < $1`),
		// The backend whose transaction holds the horizon: its xid is the
		// horizon's (none when the horizon is the snapshot's xmax, or the
		// transaction is prepared).
		horizonInfo: r.Replace(`
SELECT h.horizon,
	coalesce((SELECT max(position) FROM EVENTS), 0),
	o.pid, coalesce(extract(epoch FROM clock_timestamp() - o.xact_start), 0)::float8
FROM (SELECT HORIZON1 AS horizon) h
LEFT JOIN LATERAL (
	SELECT pid, xact_start FROM pg_stat_activity
	WHERE backend_xid::text::bigint = (h.horizon >> 20) & 4294967295
	LIMIT 1
) o ON true`),
	}
}

// lockMarker is the name of the transaction-local setting txWriterLock
// sets when it took the events lock of schema before the transaction's
// xid (hex: a setting's name allows only identifier characters).
func lockMarker(schema string) string {
	return "kinerja.events_locked_" + hex.EncodeToString([]byte(schema))
}
