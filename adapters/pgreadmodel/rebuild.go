package pgreadmodel

import (
	"context"
	"errors"
	"fmt"

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
// the audit tables), named <table>__g<generation>, and the rebuild
// checkpoints under "<projection>@g<generation>". Swap, in one transaction:
// locks the live checkpoint row (waiting for the live Sink's transaction),
// requires the rebuild's checkpoint to be at or past the live one, drops the
// old tables (the audit trail's are kept, renamed
// <table>__retired_g<generation>: its triggers forbid deleting a trail),
// renames the new ones to the live names, moves the checkpoint and the dead
// letters. Readers and the live Sink name the tables, so they see the new
// ones as soon as the swap commits; the live Sink resumes from the swapped
// checkpoint (its caches rebuild what they no longer match). A live Sink
// of an older binary (whose logic the rebuild replaced) should be
// restarted. Swap waits at most 5 s for its locks (lock_timeout), so that
// a long reader cannot stall the service behind it; retry later.
type Rebuild struct {
	db   *DB
	name string
	gen  int
	sink *Sink
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
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(err)
	}
	return &Rebuild{db: db, name: name, gen: next, sink: db.newSink(name, key, n)}, nil
}

// Sink returns the Sink that fills the new tables. Its Name is the
// projection's; it checkpoints separately from the live Sink.
func (r *Rebuild) Sink() *Sink { return r.sink }

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

// Swap makes the rebuilt tables the live ones, in one transaction (see
// Rebuild). It fails with ErrNotCaughtUp while the rebuild's checkpoint is
// behind the live one, and with ErrRebuildSuperseded when another rebuild
// was swapped in meanwhile.
func (r *Rebuild) Swap(ctx context.Context) (err error) {
	db := r.db
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgreadmodel: swap %s: %w", r.name, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	wrap := func(err error) error { return fmt.Errorf("pgreadmodel: swap %s: %w", r.name, err) }
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		return wrap(err)
	}
	cp := db.names.t("checkpoints")
	var live, rebuilt int64
	var gen int
	if err := tx.QueryRow(ctx, `SELECT position, generation FROM `+cp+` WHERE projection = $1 FOR UPDATE`, r.name).Scan(&live, &gen); err != nil {
		return wrap(err)
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
	b.Queue(`DELETE FROM `+cp+` WHERE projection = $1`, r.sink.key)
	b.Queue(`DELETE FROM `+db.names.t("dead_letters")+` WHERE projection = $1`, r.name)
	b.Queue(`UPDATE `+db.names.t("dead_letters")+` SET projection = $2 WHERE projection = $1`, r.sink.key, r.name)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return wrap(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err)
	}
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
