package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// Tables returns the tables of the projection named name (nil for an
// unknown name), as Migrate creates them and a rebuild copies them.
func Tables(name string) []string {
	switch name {
	case directory.Name:
		return []string{"units", "employees", "justifications"}
	case skps.Name:
		return []string{"skps", "skp_counts", "skp_coverage"}
	case evaluations.Name:
		return []string{"evaluations"}
	case scores.Name:
		return []string{"score_entries"}
	case objections.Name:
		return []string{"objections"}
	case timeline.Name:
		return []string{"timeline_items"}
	case audit.Name:
		return []string{"audit_entries", "audit_nodes", "audit_frontier", "audit_checkpoints",
			"audit_agency_keys", "audit_agency_entries", "audit_agency_nodes", "audit_agency_frontier", "audit_agency_checkpoints"}
	}
	return nil
}

// Names lists the projections, in the order Sinks returns them.
func Names() []string {
	return []string{audit.Name, directory.Name, skps.Name, evaluations.Name, scores.Name, objections.Name, timeline.Name}
}

// names resolves a projection's table names: in schema, with suffix for the
// tables a rebuild fills ("" for the live ones).
type names struct {
	schema, suffix string
}

func (n names) t(table string) string { return pgx.Identifier{n.schema, table + n.suffix}.Sanitize() }

// projector binds a projection's logic to its tables.
type projector interface {
	// begin starts staging one Apply's writes in tx.
	begin(tx pgx.Tx, n names) stager
	// forget drops the projection's caches (after Reset).
	forget()
}

// stager stages the writes of one Apply.
type stager interface {
	// load reads, in one query per table, the rows applying events will
	// read, so that apply does not query per event.
	load(ctx context.Context, events []projections.Event) error
	// apply applies one event to the staged rows.
	apply(ctx context.Context, ev projections.Event) error
	// flush queues the staged writes (a few multi-row statements).
	flush(b *pgx.Batch) error
}

// copier is a stager that writes rows that only append (the audit
// entries, the timeline) with COPY, which costs PostgreSQL less per row
// than INSERT … SELECT FROM unnest (measured: the audit trail rebuilds
// about a quarter faster).
type copier interface {
	copies() []copyRows
}

// copyRows is one table's rows for COPY: n rows, row(i, w) writing the
// values of the i-th in the order of cols.
type copyRows struct {
	table string
	cols  []string
	n     int
	row   func(i int, w *copyRow) error
}

// ErrAppendOnly is returned by the audit Sink's Reset when the trail it
// would empty is not empty: the audit tables reject DELETE and TRUNCATE.
// Rebuild the trail into fresh tables instead (StartRebuild).
var ErrAppendOnly = errors.New("pgreadmodel: the audit trail is append-only")

// Sink is a projection bound to PostgreSQL tables: a projections.Sink.
// Each Apply is one short transaction that skips events at or below the
// checkpoint, applies the rest through the projection's logic onto rows
// staged in memory, writes them with a few multi-row statements sent in
// one round trip, and stores the new checkpoint with them.
type Sink struct {
	db     *DB
	name   string
	key    string // the checkpoint row: name, or name@g<n> for a rebuild
	n      names
	policy projections.Policy
	filter eventstore.Filter
	raw    bool // envelopes only: no decoding (audit)
	proj   projector
	// groups is the number of agency groups of a splittable projection's
	// live Sink (1: ungrouped; 0: not splittable, or a rebuild's Sink),
	// and group this Sink's (groups.go).
	group, groups int

	mu sync.Mutex // one writer per Sink; the row lock orders Sinks of several processes
	// committed is the last checkpoint this Sink committed (0: none yet),
	// guarded by mu: the stored one may never be found behind it.
	committed eventstore.Position
}

// ErrCheckpointBehind is the error of an Apply or DeadLetter that finds
// the stored checkpoint behind the one this Sink committed: commits it
// acknowledged are gone (the database was restored from an older copy, or
// lost transactions in a crash), or another process reset the projection.
// The runner goes on from what it acknowledged in memory, so applying the
// batch would leave a hole: the Sink refuses instead, and the projection
// stays failing until the projector restarts and resumes from the stored
// checkpoint.
var ErrCheckpointBehind = errors.New("pgreadmodel: the stored checkpoint went back behind what this process committed")

// notBehind checks the stored checkpoint cp (called with mu held).
func (s *Sink) notBehind(cp eventstore.Position) error {
	if cp < s.committed {
		return fmt.Errorf("%w: %s stored %d, committed %d; restart the projector to resume from the stored checkpoint", ErrCheckpointBehind, s.name, cp, s.committed)
	}
	return nil
}

var _ projections.Sink = (*Sink)(nil)

// Name implements projections.Sink: the projection's name, or for one
// agency group of it, the group's key ("timeline#1/3").
func (s *Sink) Name() string {
	if s.grouped() {
		return s.key
	}
	return s.name
}

// Policy implements projections.Sink.
func (s *Sink) Policy() projections.Policy { return s.policy }

// Filter implements projections.Sink.
func (s *Sink) Filter() eventstore.Filter { return s.filter }

func (s *Sink) wrap(what string, err error) error {
	var p *projections.PoisonError
	if errors.As(err, &p) {
		return err
	}
	return fmt.Errorf("pgreadmodel: %s: %s: %w", s.name, what, err)
}

// Checkpoint implements projections.Sink.
func (s *Sink) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	if s.groups == 1 {
		return s.groupedCheckpoint(ctx)
	}
	var pos int64
	err := s.db.pool.QueryRow(ctx, `SELECT position FROM `+s.db.names.t("checkpoints")+` WHERE projection = $1`, s.key).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap("checkpoint", err)
	}
	return eventstore.Position(pos), nil
}

// begin starts the transaction of one Apply, DeadLetter or Reset: it locks
// the checkpoint row (creating it at 0), which orders writers of several
// processes.
//
// The transaction commits synchronously (it waits for the WAL flush), and
// must: an Apply that returned nil is acknowledged, and the runner and its
// subscription go on from it in memory, so a commit that a crash of
// PostgreSQL took back would never be delivered again. (It once set
// synchronous_commit = off, on the belief that the runner re-delivered from
// the checkpoint that survived; it does not, and the audit trail lost the
// batches committed in the WAL writer's last 200 ms before a crash:
// docs/projections.md, "Acknowledged means durable".)
//
// A rebuild's Sink (s.n.suffix != "") is the exception: its transactions
// commit with synchronous_commit = off. What it writes is read by nobody
// until Swap, whose own transaction commits synchronously and so flushes
// the WAL of every rebuild commit before it (the WAL is one sequence). A
// crash of PostgreSQL before the swap takes back a suffix of the rebuild's
// commits, rows and checkpoint together (a consistent shorter rebuild),
// and the rebuild cannot go on past that hole: its next Apply finds the
// stored checkpoint behind what it committed and refuses
// (ErrCheckpointBehind), as does the catch-up Swap retries after
// ErrNotCaughtUp, so the run fails with nothing swapped; a Swap that finds
// the shorter rebuild still at or past the live checkpoint swaps in tables
// that are consistent with the checkpoint it swaps in. What it saves is
// the wait for one WAL flush per batch and per rebuilt projection.
func (s *Sink) begin(ctx context.Context) (pgx.Tx, eventstore.Position, error) {
	tx, err := s.db.pool.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	cp := s.db.names.t("checkpoints")
	b := &pgx.Batch{}
	if s.n.suffix != "" {
		b.Queue(`SET LOCAL synchronous_commit = off`)
	}
	// The schema version, first, in the transaction that writes: Open
	// checked it once, but a migration may have run since (a table this
	// build does not keep, as skp_counts was to a build before 0005, would
	// drift for good). The migration runner locks schema_migrations, so
	// this read waits for a migration in progress and sees its version.
	var version int
	b.Queue(`SELECT coalesce(max(version), 0) FROM ` + pgx.Identifier{s.db.opts.Schema, "schema_migrations"}.Sanitize()).
		QueryRow(func(r pgx.Row) error { return r.Scan(&version) })
	// A splittable projection's writers first read its pinned number of
	// agency groups (groups.go), in the same round trip.
	var pinned int64
	if s.groups > 0 {
		s.queueLayout(b, &pinned)
	}
	b.Queue(`INSERT INTO `+cp+` (projection, position) VALUES ($1, 0) ON CONFLICT (projection) DO NOTHING`, s.key)
	var pos int64
	b.Queue(`SELECT position FROM `+cp+` WHERE projection = $1 FOR UPDATE`, s.key).QueryRow(func(r pgx.Row) error { return r.Scan(&pos) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, 0, err
	}
	if version != SchemaVersion() {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, 0, &VersionError{Schema: s.db.opts.Schema, Have: version, Want: SchemaVersion()}
	}
	if s.groups > 0 {
		if err := s.checkLayout(pinned); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return nil, 0, err
		}
	}
	if f := s.db.opts.Fence; f != nil {
		if err := f(ctx, tx); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return nil, 0, err
		}
	}
	return tx, eventstore.Position(pos), nil
}

// Apply implements projections.Sink. Events at or below the checkpoint are
// skipped; events the filter does not select move the checkpoint only. An
// event without a payload is decoded first (an undecodable one is a
// *projections.PoisonError). On any error the transaction rolls back:
// nothing of the batch, and no checkpoint, is stored.
func (s *Sink) Apply(ctx context.Context, events ...projections.Event) (err error) {
	if len(events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One agency group of several applies only its group's events; the
	// agencies are the audit trail's, read before the transaction.
	var agencies map[eventstore.Position]string
	if s.grouped() {
		if agencies, err = s.agencies(ctx, events); err != nil {
			return err
		}
	}
	tx, cp, err := s.begin(ctx)
	if err != nil {
		return s.wrap("begin", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := s.notBehind(cp); err != nil {
		return err
	}
	last := cp
	sel := make([]projections.Event, 0, len(events))
	for _, ev := range events {
		if ev.Position <= last {
			continue
		}
		if s.filter.Match(ev.Stream, ev.Type) && (!s.grouped() || s.mine(agencies, ev.Position)) {
			if ev.Payload == nil && !s.raw {
				if ev, err = projections.Decode(ev.Event); err != nil {
					return err
				}
			}
			sel = append(sel, ev)
		}
		last = ev.Position
	}
	if last == cp {
		return tx.Rollback(ctx)
	}
	b := &pgx.Batch{}
	if len(sel) > 0 {
		st := s.proj.begin(tx, s.n)
		if err := st.load(ctx, sel); err != nil {
			return s.wrap("load", err)
		}
		for _, ev := range sel {
			if err := st.apply(ctx, ev); err != nil {
				return s.wrap(fmt.Sprintf("apply %s@%d", ev.Stream, ev.Revision), err)
			}
		}
		if err := st.flush(b); err != nil {
			return s.wrap("flush", err)
		}
		if c, ok := st.(copier); ok {
			for _, cp := range c.copies() {
				if cp.n == 0 {
					continue
				}
				if err := copyIn(ctx, tx, s.n.t(cp.table), cp); err != nil {
					return s.wrap("copy into "+cp.table, err)
				}
			}
		}
	}
	b.Queue(`UPDATE `+s.db.names.t("checkpoints")+` SET position = $2, updated_at = now() WHERE projection = $1`, s.key, int64(last))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return s.wrap("write", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap("commit", err)
	}
	s.committed = last
	return nil
}

// DeadLetter implements projections.Sink.
func (s *Sink) DeadLetter(ctx context.Context, ev projections.Event, cause error) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// One agency group of several records only its group's dead letters;
	// another group's event moves its checkpoint only.
	record := true
	if s.grouped() {
		agencies, err := s.agencies(ctx, []projections.Event{ev})
		if err != nil {
			return err
		}
		record = !s.filter.Match(ev.Stream, ev.Type) || s.mine(agencies, ev.Position)
	}
	tx, cp, err := s.begin(ctx)
	if err != nil {
		return s.wrap("begin", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := s.notBehind(cp); err != nil {
		return err
	}
	if ev.Position <= cp {
		return tx.Rollback(ctx)
	}
	msg := "unknown"
	if cause != nil {
		msg = cause.Error()
	}
	b := &pgx.Batch{}
	if record {
		b.Queue(`INSERT INTO `+s.db.names.t("dead_letters")+` (projection, position, event_id, stream, type, error) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (projection, position) DO NOTHING`, s.key, int64(ev.Position), ev.ID.String(), ev.Stream, ev.Type, msg)
	}
	b.Queue(`UPDATE `+s.db.names.t("checkpoints")+` SET position = $2, updated_at = now() WHERE projection = $1`, s.key, int64(ev.Position))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return s.wrap("dead letter", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap("commit", err)
	}
	s.committed = ev.Position
	return nil
}

// DeadLetters implements projections.Sink.
func (s *Sink) DeadLetters(ctx context.Context) ([]projections.DeadLetterRecord, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT position, event_id, stream, type, error, at FROM `+s.db.names.t("dead_letters")+`
		WHERE projection = $1 ORDER BY position`, s.key)
	if err != nil {
		return nil, s.wrap("dead letters", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (projections.DeadLetterRecord, error) {
		d := projections.DeadLetterRecord{Projection: s.name}
		var pos int64
		err := r.Scan(&pos, &d.EventID, &d.Stream, &d.Type, &d.Error, &d.At)
		d.Position, d.At = eventstore.Position(pos), d.At.UTC()
		return d, err
	})
	if err != nil {
		return nil, s.wrap("dead letters", err)
	}
	return out, nil
}

// Reset implements projections.Sink: it deletes the projection's rows, dead
// letters and checkpoint in one transaction. The audit trail refuses with
// ErrAppendOnly unless it is empty.
func (s *Sink) Reset(ctx context.Context) (err error) {
	if s.grouped() {
		// The tables hold every group's rows, and a row does not say its
		// group: one group cannot empty only its own.
		return fmt.Errorf("pgreadmodel: %s: one agency group cannot be reset alone; rebuild the projection (StartRebuild)", s.key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, _, err := s.begin(ctx)
	if err != nil {
		return s.wrap("begin", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if s.name == audit.Name {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+s.n.t("audit_entries")).Scan(&n); err != nil {
			return s.wrap("reset", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %d entries in %s; rebuild into fresh tables (StartRebuild) instead", ErrAppendOnly, n, s.n.t("audit_entries"))
		}
	} else {
		b := &pgx.Batch{}
		for _, t := range Tables(s.name) {
			b.Queue(`DELETE FROM ` + s.n.t(t))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return s.wrap("reset", err)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM `+s.db.names.t("dead_letters")+` WHERE projection = $1`, s.key)
	b.Queue(`UPDATE `+s.db.names.t("checkpoints")+` SET position = 0, updated_at = now() WHERE projection = $1`, s.key)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return s.wrap("reset", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap("commit", err)
	}
	s.proj.forget()
	s.committed = 0
	return nil
}
