package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// ErrNotCaughtUp is returned (wrapped) by Rebuild.Swap while the rebuilt
// tables are behind the live ones: apply more events to the rebuild's Sink
// and swap again.
var ErrNotCaughtUp = errors.New("pgreadmodel: the rebuild has not caught up with the live projection")

// ErrRebuildSuperseded is returned by Rebuild.Swap when another rebuild of
// the projection was swapped in since this one started.
var ErrRebuildSuperseded = errors.New("pgreadmodel: another rebuild was swapped in")

// Rebuild builds one projection from zero into fresh tables while the live
// tables keep serving, then swaps them in, in one transaction. It is what
// `kinerjactl projections rebuild NAME` runs:
//
//	rb, err := db.StartRebuild(ctx, "skps")   // fresh tables skps__g2 (DDL)
//	err = rb.Run(ctx, store, 5000)            // apply everything, then Swap
//
// or, driving the Sink yourself:
//
//	sink := rb.Sink()                          // a projections.Sink on the new tables
//	... apply events from sink.Checkpoint() on ...
//	err = rb.Swap(ctx)                         // ErrNotCaughtUp: apply more, retry
//
// The new tables are copies of the live ones' structure
// (CREATE TABLE … (LIKE … INCLUDING ALL), plus the append-only triggers of
// the audit tables), named <table>__g<generation>, but without their
// secondary indexes (neither unique nor behind a constraint), nor, for the
// tables a Sink only appends to, their keys, which Swap builds over the
// filled tables before it swaps (see "Deferred keys" and "Deferred
// indexes" below). The rebuild checkpoints under "<projection>@g<generation>".
// Swap, after building those indexes, in one transaction:
// locks the live checkpoint row (waiting for the live Sink's transaction),
// requires the rebuild's checkpoint to be at or past the live one, drops the
// old tables (the audit trail's are kept, renamed
// <table>__retired_g<generation>: its triggers forbid deleting a trail),
// renames the new ones to the live names, moves the checkpoint and the dead
// letters. Readers and the live Sink name the tables, so they see the new
// ones as soon as the swap commits; the live Sink resumes from the swapped
// checkpoint (its caches rebuild what they no longer match). A live Sink
// of an older binary (whose logic the rebuild replaced) should be
// restarted. StartRebuild and Swap refuse (ErrSchemaVersion) unless the
// schema is at this build's version (checkSchemaVersion): a rebuild by an
// older build must not swap its tables in after a migration. Swap waits at most 5 s for its locks (lock_timeout), so that
// a long reader cannot stall the service behind it; retry later.
type Rebuild struct {
	db      *DB
	name    string
	gen     int
	sink    *Sink
	swapped atomic.Bool
}

// StartRebuild creates fresh tables for the projection named name and
// returns a Rebuild whose Sink fills them. Tables left by an abandoned
// rebuild of the same generation are dropped first. Like Migrate, it runs
// DDL, and only when called.
func (db *DB) StartRebuild(ctx context.Context, name string) (_ *Rebuild, err error) {
	tables := Tables(name)
	if tables == nil {
		return nil, fmt.Errorf("pgreadmodel: rebuild: unknown projection %q", name)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: rebuild %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	wrap := func(err error) error { return fmt.Errorf("pgreadmodel: rebuild %s: %w", name, err) }
	// A build whose tables are not the schema's would copy too few
	// (checkSchemaVersion).
	if err := db.checkSchemaVersion(ctx, tx); err != nil {
		return nil, wrap(err)
	}
	cp := db.names.t("checkpoints")
	if _, err := tx.Exec(ctx, `INSERT INTO `+cp+` (projection, position) VALUES ($1, 0) ON CONFLICT (projection) DO NOTHING`, name); err != nil {
		return nil, wrap(err)
	}
	var gen int
	if err := tx.QueryRow(ctx, `SELECT generation FROM `+cp+` WHERE projection = $1 FOR UPDATE`, name).Scan(&gen); err != nil {
		return nil, wrap(err)
	}
	next := gen + 1
	n := names{schema: db.opts.Schema, suffix: fmt.Sprintf("__g%d", next)}
	key := fmt.Sprintf("%s@g%d", name, next)
	b := &pgx.Batch{}
	for _, t := range tables {
		b.Queue(`DROP TABLE IF EXISTS ` + n.t(t))
		b.Queue(`CREATE TABLE ` + n.t(t) + ` (LIKE ` + db.names.t(t) + ` INCLUDING ALL)`)
		if name == audit.Name {
			fn := db.names.t("audit_append_only")
			b.Queue(`CREATE TRIGGER ` + pgx.Identifier{t + n.suffix + "_append_only"}.Sanitize() + ` BEFORE UPDATE OR DELETE ON ` + n.t(t) +
				` FOR EACH STATEMENT EXECUTE FUNCTION ` + fn + `()`)
			b.Queue(`CREATE TRIGGER ` + pgx.Identifier{t + n.suffix + "_no_truncate"}.Sanitize() + ` BEFORE TRUNCATE ON ` + n.t(t) +
				` FOR EACH STATEMENT EXECUTE FUNCTION ` + fn + `()`)
		}
	}
	b.Queue(`DELETE FROM `+db.names.t("dead_letters")+` WHERE projection = $1`, key)
	b.Queue(`INSERT INTO `+cp+` (projection, position, generation) VALUES ($1, 0, $2)
		ON CONFLICT (projection) DO UPDATE SET position = 0, updated_at = now()`, key, next)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrap(err)
	}
	if err := dropSecondaryIndexes(ctx, tx, n, tables); err != nil {
		return nil, wrap(err)
	}
	if err := dropAppendOnlyKeys(ctx, tx, n, tables); err != nil {
		return nil, wrap(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(err)
	}
	return &Rebuild{db: db, name: name, gen: next, sink: db.newSink(name, key, n)}, nil
}

// Sink returns the Sink that fills the new tables. Its Name is the
// projection's; it checkpoints separately from the live Sink.
func (r *Rebuild) Sink() *Sink { return r.sink }

// Name returns the projection the rebuild builds.
func (r *Rebuild) Name() string { return r.name }

// Swapped reports whether Swap swapped the rebuild in.
func (r *Rebuild) Swapped() bool { return r.swapped.Load() }

// Generation returns the generation the rebuild builds.
func (r *Rebuild) Generation() int { return r.gen }

// CatchUp applies to the rebuild's Sink, in batches of batch events (5,000
// when ≤ 0), every event of store after its checkpoint, up to the events
// committed when the read began. A poison event fails the catch-up for the
// Stop policy and is dead-lettered for DeadLetter.
func (r *Rebuild) CatchUp(ctx context.Context, store eventstore.Store, batch int) error {
	if batch <= 0 {
		batch = 5000
	}
	// The projection runner's catch-up: the same apply, retry and poison
	// policy as the live projections.
	if _, err := projections.CatchUp(ctx, store, r.sink, projections.CatchUpOptions{Batch: batch}); err != nil {
		return fmt.Errorf("pgreadmodel: rebuild %s: %w", r.name, err)
	}
	return nil
}

// Run catches up from store and swaps, catching up again while the live
// projection is ahead.
func (r *Rebuild) Run(ctx context.Context, store eventstore.Store, batch int) error {
	for {
		if err := r.CatchUp(ctx, store, batch); err != nil {
			return err
		}
		err := r.Swap(ctx)
		if !errors.Is(err, ErrNotCaughtUp) {
			return err
		}
	}
}

// RunAll runs several rebuilds (of different projections) from one read
// of store: each batch of events is read, authenticated and decoded once
// and applied to every rebuild's Sink concurrently, each Sink writing its
// rows and its checkpoint in its own transactions, in order, as Run does.
// Then each is swapped in (Swap; the swaps concurrently), catching up
// again for those still behind their live projection. A rebuild that fails
// (a poison event under the Stop policy, a persisting error) does not hold
// up the others while they read; RunAll then returns the error, and the
// rebuilds not yet swapped should be aborted (Abort); until they are, the
// live tables are untouched. This is `kinerjactl projections rebuild all`:
// reading the log once instead of once per projection saves the signature
// verifications and the decoding of six reads (docs/benchmarks.md,
// section 21). progress, when set, is called after each batch.
func RunAll(ctx context.Context, store eventstore.Store, rbs []*Rebuild, batch int, progress func(pos eventstore.Position, read int)) error {
	return runAll(ctx, store, store, nil, rbs, batch, progress)
}

// runAll is RunAll reading first for the first catch-up and rest for the
// later ones (of the rebuilds still behind their live projection), and
// calling check, when set, after the first catch-up and before any swap:
// its error fails the run with nothing swapped.
func runAll(ctx context.Context, first, rest eventstore.Store, check func() error, rbs []*Rebuild, batch int, progress func(pos eventstore.Position, read int)) error {
	if batch <= 0 {
		batch = 5000
	}
	left := slices.Clone(rbs)
	// The log is read ahead of the Sinks (readahead.go), so that reading
	// the next batch overlaps applying this one.
	first, rest = readAhead{first}, readAhead{rest}
	store := first
	for len(left) > 0 {
		sinks := make([]projections.Sink, len(left))
		names := make([]string, len(left))
		for i, r := range left {
			sinks[i], names[i] = r.sink, r.name
		}
		if _, err := projections.CatchUpAll(ctx, store, sinks, projections.CatchUpOptions{Batch: batch, Progress: progress}); err != nil {
			return fmt.Errorf("pgreadmodel: rebuild %s: %w", strings.Join(names, ", "), err)
		}
		if check != nil {
			if err := check(); err != nil {
				return fmt.Errorf("pgreadmodel: rebuild %s: %w", strings.Join(names, ", "), err)
			}
			check = nil
		}
		store = rest
		// The swaps (each first building its tables' deferred indexes)
		// run concurrently: they touch different tables and checkpoint
		// rows, and index builds of several tables keep the server's
		// cores busy.
		errs := make([]error, len(left))
		var wg sync.WaitGroup
		for i, r := range left {
			wg.Go(func() { errs[i] = r.Swap(ctx) })
		}
		wg.Wait()
		var behind []*Rebuild
		for i, r := range left {
			if errors.Is(errs[i], ErrNotCaughtUp) {
				behind = append(behind, r)
				errs[i] = nil
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		left = behind
	}
	return nil
}

// Swap makes the rebuilt tables the live ones, in one transaction (see
// Rebuild). It fails with ErrNotCaughtUp while the rebuild's checkpoint is
// behind the live one, with ErrRebuildSuperseded when another rebuild
// was swapped in meanwhile, and with ErrSchemaVersion when the schema is
// not (or no longer) at this build's version (checkSchemaVersion).
func (r *Rebuild) Swap(ctx context.Context) (err error) {
	db := r.db
	wrap := func(err error) error { return fmt.Errorf("pgreadmodel: swap %s: %w", r.name, err) }
	// The deferred indexes are built before the swap's transaction, which
	// holds the live checkpoint's lock: the live Sink is not held up while
	// they build.
	if err := r.buildIndexes(ctx); err != nil {
		return wrap(err)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// The schema version first, before lock_timeout (a migration in
	// progress is waited for, however long) and before any other lock, in
	// the order of the Sink's transactions (Sink.begin): see
	// checkSchemaVersion.
	if err := db.checkSchemaVersion(ctx, tx); err != nil {
		return wrap(err)
	}
	// The swap's commit is synchronous whatever the role's or the session's
	// default says: it is what flushes the WAL of the rebuild's
	// asynchronous commits (Sink.begin) before the new tables go live.
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'; SET LOCAL synchronous_commit = on`); err != nil {
		return wrap(err)
	}
	cp := db.names.t("checkpoints")
	// A projection projected in G > 1 agency groups (groups.go): the live
	// tables are as far as the furthest group, and every group resumes
	// from the rebuild's checkpoint. The layout row is locked FOR UPDATE
	// first, in the order every writer takes its locks (layout, then its
	// checkpoint row), which waits for the writers' open transactions
	// (they hold it FOR SHARE).
	groups := 1
	if Splittable(r.name) {
		var g int64
		err := tx.QueryRow(ctx, `SELECT position FROM `+cp+` WHERE projection = $1 FOR UPDATE`, layoutKey(r.name)).Scan(&g)
		if err != nil && !errNoRows(err) {
			return wrap(err)
		}
		groups = max(int(g), 1)
	}
	var live, rebuilt int64
	var gen int
	if err := tx.QueryRow(ctx, `SELECT position, generation FROM `+cp+` WHERE projection = $1 FOR UPDATE`, r.name).Scan(&live, &gen); err != nil {
		return wrap(err)
	}
	if groups > 1 {
		live = 0 // the ungrouped row is not written under G > 1
		for i := range groups {
			var p int64
			err := tx.QueryRow(ctx, `SELECT position FROM `+cp+` WHERE projection = $1 FOR UPDATE`, GroupKey(r.name, i, groups)).Scan(&p)
			if err != nil && !errNoRows(err) {
				return wrap(err)
			}
			live = max(live, p)
		}
	}
	if gen+1 != r.gen {
		return wrap(fmt.Errorf("%w (generation %d is live; this rebuild built %d)", ErrRebuildSuperseded, gen, r.gen))
	}
	err = tx.QueryRow(ctx, `SELECT position FROM `+cp+` WHERE projection = $1 FOR UPDATE`, r.sink.key).Scan(&rebuilt)
	if errNoRows(err) {
		rebuilt, err = 0, nil
	}
	if err != nil {
		return wrap(err)
	}
	if rebuilt < live {
		return wrap(fmt.Errorf("%w: rebuilt to %d, live at %d", ErrNotCaughtUp, rebuilt, live))
	}
	// A table swapped in has every index of the live one (buildIndexes ran
	// above; this checks it in the swap's snapshot, so that no table goes
	// live without an index its readers rely on).
	for _, t := range Tables(r.name) {
		keys, err := missing(ctx, tx, tableKeys, asSet, db.names.t(t), r.sink.n.t(t))
		if err != nil {
			return wrap(err)
		}
		if len(keys) > 0 {
			return wrap(fmt.Errorf("%s lacks the keys %q of %s", r.sink.n.t(t), keys, db.names.t(t)))
		}
		idx, err := missing(ctx, tx, secondaryIndexes, asMultiset, db.names.t(t), r.sink.n.t(t))
		if err != nil {
			return wrap(err)
		}
		if len(idx) > 0 {
			return wrap(fmt.Errorf("%s lacks the indexes %q of %s", r.sink.n.t(t), idx, db.names.t(t)))
		}
	}
	b := &pgx.Batch{}
	for _, t := range Tables(r.name) {
		if r.name == audit.Name {
			b.Queue(`ALTER TABLE ` + db.names.t(t) + ` RENAME TO ` + pgx.Identifier{fmt.Sprintf("%s__retired_g%d", t, gen)}.Sanitize())
		} else {
			b.Queue(`DROP TABLE ` + db.names.t(t))
		}
		b.Queue(`ALTER TABLE ` + r.sink.n.t(t) + ` RENAME TO ` + pgx.Identifier{t}.Sanitize())
	}
	b.Queue(`UPDATE `+cp+` SET position = $2, generation = $3, updated_at = now() WHERE projection = $1`, r.name, rebuilt, r.gen)
	for i := range groups {
		if groups > 1 {
			key := GroupKey(r.name, i, groups)
			b.Queue(`INSERT INTO `+cp+` (projection, position) VALUES ($1, $2) ON CONFLICT (projection) DO UPDATE SET position = $2, updated_at = now()`, key, rebuilt)
			b.Queue(`DELETE FROM `+db.names.t("dead_letters")+` WHERE projection = $1`, key)
		}
	}
	b.Queue(`DELETE FROM `+cp+` WHERE projection = $1`, r.sink.key)
	b.Queue(`DELETE FROM `+db.names.t("dead_letters")+` WHERE projection = $1`, r.name)
	b.Queue(`UPDATE `+db.names.t("dead_letters")+` SET projection = $2 WHERE projection = $1`, r.sink.key, r.name)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return wrap(err)
	}
	if f := swapBeforeCommit; f != nil {
		if err := f(ctx, tx); err != nil {
			return wrap(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err)
	}
	r.swapped.Store(true)
	// The live Sink's caches describe the same events (the ledger did not
	// change), but drop them anyway: a rebuild usually follows a change of
	// logic.
	if s := db.Sink(r.name); s != nil {
		s.mu.Lock()
		s.proj.forget()
		s.mu.Unlock()
	}
	return nil
}

// checkSchemaVersion fails with a *VersionError (ErrSchemaVersion) unless
// the schema's version, read in tx, is this build's. A rebuild writes the
// tables of its build (Tables) and swaps them in whole: run by a build
// older than the schema (the rebuild caught up at version 5, migration
// 0006 committed before its Swap), the tables the migration added and the
// old build does not know (skp_coverage beside skps and skp_counts) would
// stay as the migration filled them from the rows the swap replaced, and
// drift for good. The migration runner locks schema_migrations (ACCESS
// EXCLUSIVE), so this read waits for a migration in progress and sees its
// version; and the share lock it leaves on the table until tx ends makes
// a migration that starts later wait for tx (it then migrates the tables
// tx swapped in). StartRebuild checks too, so that such a build does not
// spend a catch-up it cannot swap; the rebuild's Sink checks in each of
// its transactions (Sink.begin).
func (db *DB) checkSchemaVersion(ctx context.Context, tx pgx.Tx) error {
	var version int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+pgx.Identifier{db.opts.Schema, "schema_migrations"}.Sanitize()).Scan(&version); err != nil {
		return err
	}
	if version != SchemaVersion() {
		return &VersionError{Schema: db.opts.Schema, Have: version, Want: SchemaVersion()}
	}
	return nil
}

// swapBeforeCommit, when set (by tests: export_test.go), runs in Swap's
// transaction just before it commits.
var swapBeforeCommit func(ctx context.Context, tx pgx.Tx) error

// Abort drops the rebuild's tables, checkpoint and dead letters. The live
// projection is untouched.
func (r *Rebuild) Abort(ctx context.Context) error {
	b := &pgx.Batch{}
	for _, t := range Tables(r.name) {
		b.Queue(`DROP TABLE IF EXISTS ` + r.sink.n.t(t))
	}
	b.Queue(`DELETE FROM `+r.db.names.t("checkpoints")+` WHERE projection = $1`, r.sink.key)
	b.Queue(`DELETE FROM `+r.db.names.t("dead_letters")+` WHERE projection = $1`, r.sink.key)
	tx, err := r.db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgreadmodel: abort rebuild %s: %w", r.name, err)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("pgreadmodel: abort rebuild %s: %w", r.name, err)
	}
	return tx.Commit(ctx)
}

// Deferred keys. The tables a Sink only appends to, by COPY or INSERT
// without ON CONFLICT, and never reads by their keys while it fills them
// (appendOnlyKeyTables), lose their primary keys and unique constraints
// too while a rebuild fills them: maintaining those row by row cost
// PostgreSQL more than the rows (measured, docs/benchmarks.md: the audit
// entries' COPY with their two keys 0.62–0.81 s of backend CPU for 137,777
// rows, without them 0.25 s and 0.10 s for building both afterwards; the
// timeline items' 1.17–1.41 s with the key on (nip, position), inserted in
// no order, against 0.38 + 0.25 s). Swap adds them before anything else,
// each built by one sorted pass, and the swap's transaction checks they
// are there; a duplicate key (a repeated audit seq or position, the same
// timeline item twice) fails the build of the key and so the swap: nothing
// is swapped in, as if the row had been refused when written. Once built
// (a swap retried after ErrNotCaughtUp), the rows applied later are checked
// as they are written.
//
// Tables made UNLOGGED for the build and SET LOGGED at the swap were
// measured too and rejected: with wal_level = replica (this server's),
// SET LOGGED rewrites the table into the WAL, which cost more than the WAL
// the unlogged build saved (the audit entries: 0.71 s + 0.32 s against
// 0.81 s logged), and a crash of PostgreSQL would empty an unlogged table
// under a checkpoint row that survived.

// appendOnlyKeyTables are the tables whose keys a rebuild defers.
var appendOnlyKeyTables = map[string]bool{
	"audit_entries":        true, // COPY
	"audit_nodes":          true, // COPY
	"audit_agency_entries": true, // COPY
	"audit_agency_nodes":   true, // COPY
	"timeline_items":       true, // COPY
}

// tableKeys returns the definitions (pg_get_constraintdef: "PRIMARY KEY
// (seq)", "UNIQUE (position)") and names of table's primary key and unique
// constraints.
func tableKeys(ctx context.Context, q dbQuerier, table string) (defs, names []string, err error) {
	rows, err := q.Query(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY 2`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, nil, err
		}
		defs, names = append(defs, def), append(names, name)
	}
	return defs, names, rows.Err()
}

// dropAppendOnlyKeys drops, in tx, the keys of the rebuild's append-only
// tables (appendOnlyKeyTables).
func dropAppendOnlyKeys(ctx context.Context, tx pgx.Tx, n names, tables []string) error {
	b := &pgx.Batch{}
	for _, t := range tables {
		if !appendOnlyKeyTables[t] {
			continue
		}
		_, keys, err := tableKeys(ctx, tx, n.t(t))
		if err != nil {
			return err
		}
		for _, k := range keys {
			b.Queue(`ALTER TABLE ` + n.t(t) + ` DROP CONSTRAINT ` + pgx.Identifier{k}.Sanitize())
		}
	}
	return tx.SendBatch(ctx, b).Close()
}

// Deferred indexes. A rebuild fills its tables from nothing with hundreds of
// thousands of rows; maintaining every secondary index row by row costs
// PostgreSQL more than the rows themselves (the audit trail's entries carry
// four: per actor, stream, type and time), and an SKP's row, updated by
// each batch that touches it, cannot be updated in place (HOT) while its
// status and parties are indexed. So StartRebuild drops from the fresh
// tables the indexes that neither enforce a constraint nor are unique, and
// Swap builds them, each by one sorted pass over the filled table, before
// it swaps. The primary keys and unique constraints stay from the start,
// but for the append-only tables ("Deferred keys" above): they are
// guarantees, ON CONFLICT needs them, and a Sink's load reads by them (a
// stager reads its tables by unique key only: that is what keeps the
// rebuild's reads indexed).

// secondaryIndexes returns the access-method part of the definitions
// ("USING btree (nip)", from pg_get_indexdef) of table's indexes that are
// neither unique nor behind a constraint, and their names.
func secondaryIndexes(ctx context.Context, q dbQuerier, table string) (defs, names []string, err error) {
	rows, err := q.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid = $1::regclass AND NOT i.indisunique AND NOT i.indisprimary
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY 1`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, nil, err
		}
		i := strings.Index(def, " USING ")
		if i < 0 {
			return nil, nil, fmt.Errorf("index %s: unexpected definition %q", name, def)
		}
		defs, names = append(defs, def[i+1:]), append(names, name)
	}
	return defs, names, rows.Err()
}

// dbQuerier is a transaction or a pool.
type dbQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// dropSecondaryIndexes drops, in tx, the secondary indexes that CREATE
// TABLE … (LIKE … INCLUDING ALL) copied onto the rebuild's tables.
func dropSecondaryIndexes(ctx context.Context, tx pgx.Tx, n names, tables []string) error {
	b := &pgx.Batch{}
	for _, t := range tables {
		_, idx, err := secondaryIndexes(ctx, tx, n.t(t))
		if err != nil {
			return err
		}
		for _, name := range idx {
			b.Queue(`DROP INDEX ` + name)
		}
	}
	return tx.SendBatch(ctx, b).Close()
}

// lister lists a table's definitions of one kind (tableKeys,
// secondaryIndexes) and their names.
type lister func(ctx context.Context, q dbQuerier, table string) (defs, names []string, err error)

// matching says how the definitions of a rebuilt table answer for the
// live table's.
type matching int

const (
	// asSet: a definition of live is there when rebuilt has it at all
	// (the keys: a key is a guarantee, one of each kind enforces it).
	asSet matching = iota
	// asMultiset: each definition of rebuilt answers for one of live (the
	// secondary indexes: live may carry two alike, and rebuilt then
	// needs both).
	asMultiset
)

// missing returns the definitions that list gives for live and not, by
// the rule match, for rebuilt: the keys (tableKeys, asSet) or the
// secondary indexes (secondaryIndexes, asMultiset) that a rebuild's table
// still lacks.
func missing(ctx context.Context, q dbQuerier, list lister, match matching, live, rebuilt string) ([]string, error) {
	want, _, err := list(ctx, q, live)
	if err != nil {
		return nil, err
	}
	have, _, err := list(ctx, q, rebuilt)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range want {
		i := slices.Index(have, d)
		if i < 0 {
			out = append(out, d)
		} else if match == asMultiset {
			have = slices.Delete(have, i, i+1)
		}
	}
	return out, nil
}

// buildIndexes creates on the rebuild's tables the keys (deferred for the
// append-only tables) and the secondary indexes of the live tables they
// lack, in one transaction. It is idempotent: a Swap
// retried after ErrNotCaughtUp finds them built.
func (r *Rebuild) buildIndexes(ctx context.Context) error {
	tx, err := r.db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '128MB'`); err != nil {
		return err
	}
	built := false
	for _, t := range Tables(r.name) {
		keys, err := missing(ctx, tx, tableKeys, asSet, r.db.names.t(t), r.sink.n.t(t))
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if _, err := tx.Exec(ctx, `ALTER TABLE `+r.sink.n.t(t)+` ADD `+strings.Join(keys, `, ADD `)); err != nil {
				return fmt.Errorf("build the keys of %s %q: %w", r.sink.n.t(t), keys, err)
			}
			built = true
		}
		idx, err := missing(ctx, tx, secondaryIndexes, asMultiset, r.db.names.t(t), r.sink.n.t(t))
		if err != nil {
			return err
		}
		for _, def := range idx {
			if _, err := tx.Exec(ctx, `CREATE INDEX ON `+r.sink.n.t(t)+` `+def); err != nil {
				return fmt.Errorf("build index %s %s: %w", r.sink.n.t(t), def, err)
			}
			built = true
		}
	}
	if !built {
		return nil
	}
	return tx.Commit(ctx)
}
