package pgreadmodel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/domain/policy"
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

// Options configures Open.
type Options struct {
	// Schema holds the read models (DefaultSchema when empty); it must have
	// been migrated (Migrate).
	Schema string
	// History rebuilds the SKPs the projections' caches do not hold:
	// projections.StoreHistory over the event store. Required for the SKP
	// projections (skps, evaluations, scores, objections, timeline).
	History projections.History
	// Policy supplies ObjectionDecisionSLADays (policy.Default() when its
	// Version is empty).
	Policy policy.Policy
	// CacheSize bounds each SKP projection's cache of aggregates
	// (projections.DefaultCacheSize when ≤ 0).
	CacheSize int
	// Fence, when set, runs in every Apply, DeadLetter and Reset
	// transaction right after the checkpoint row is locked; an error rolls
	// the transaction back. Shared projectors pass their partition lock's
	// check (adapters/pglease), so that an owner that lost its lock cannot
	// commit.
	Fence func(ctx context.Context, tx pgx.Tx) error
}

// DB is the read models in one PostgreSQL schema: a Sink per projection,
// the readers, status and rebuilds. It is safe for concurrent use.
type DB struct {
	pool  connPool // every query escapes text (text.go)
	opts  Options
	names names // the live tables
	sinks []*Sink
}

// Open returns the read models of opts.Schema over pool. It never changes
// the database: a schema that is not migrated to SchemaVersion is a
// *VersionError that says what to run.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*DB, error) {
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if err := checkSchemaName(opts.Schema); err != nil {
		return nil, err
	}
	if opts.Policy.Version == "" {
		opts.Policy = policy.Default()
	}
	v, err := schemaVersion(ctx, pool, opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: open %s: %w", opts.Schema, err)
	}
	if v != SchemaVersion() {
		return nil, &VersionError{Schema: opts.Schema, Have: v, Want: SchemaVersion()}
	}
	db := &DB{pool: connPool{pool}, opts: opts, names: names{schema: opts.Schema}}
	for _, name := range Names() {
		s := db.newSink(name, name, names{schema: opts.Schema})
		if Splittable(name) {
			s.groups = 1
		}
		db.sinks = append(db.sinks, s)
	}
	return db, nil
}

// newSink returns the Sink of projection name, checkpointed under key,
// writing the tables n names.
func (db *DB) newSink(name, key string, n names) *Sink {
	s := &Sink{db: db, name: name, key: key, n: n}
	h, size := db.opts.History, db.opts.CacheSize
	switch name {
	case audit.Name:
		s.policy, s.raw, s.proj = projections.Stop, true, auditProjector{}
	case directory.Name:
		s.policy, s.filter, s.proj = directory.Policy, directory.Filter(), directoryProjector{}
	case skps.Name:
		s.policy, s.filter, s.proj = skps.Policy, skps.Filter(), &skpsProjector{p: skps.New(h, size)}
	case evaluations.Name:
		s.policy, s.filter, s.proj = evaluations.Policy, evaluations.Filter(), &evaluationsProjector{p: evaluations.New(h, size)}
	case scores.Name:
		s.policy, s.filter, s.proj = scores.Policy, scores.Filter(), &scoresProjector{p: scores.New(h, size)}
	case objections.Name:
		s.policy, s.filter, s.proj = objections.Policy, objections.Filter(), &objectionsProjector{p: objections.New(h, size, db.opts.Policy.ObjectionDecisionSLADays)}
	case timeline.Name:
		s.policy, s.filter, s.proj = timeline.Policy, timeline.Filter(), &timelineProjector{p: timeline.New(h, size)}
	}
	return s
}

// Schema returns the schema of the read models.
func (db *DB) Schema() string { return db.opts.Schema }

// Sinks returns every projection's Sink: audit, directory, skps,
// evaluations, scores, objections, timeline.
func (db *DB) Sinks() []projections.Sink {
	out := make([]projections.Sink, len(db.sinks))
	for i, s := range db.sinks {
		out[i] = s
	}
	return out
}

// Sink returns the Sink of the projection named name, or nil.
func (db *DB) Sink(name string) *Sink {
	for _, s := range db.sinks {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Directory returns the directory reader.
func (db *DB) Directory() *DirectoryReader { return &DirectoryReader{db: db} }

// SKPs returns the SKP summary reader.
func (db *DB) SKPs() *SKPsReader { return &SKPsReader{db: db} }

// Evaluations returns the evaluations reader.
func (db *DB) Evaluations() *EvaluationsReader { return &EvaluationsReader{db: db} }

// Scores returns the score history reader.
func (db *DB) Scores() *ScoresReader { return &ScoresReader{db: db} }

// Objections returns the objection register reader.
func (db *DB) Objections() *ObjectionsReader { return &ObjectionsReader{db: db} }

// Timeline returns the employee timeline reader.
func (db *DB) Timeline() *TimelineReader { return &TimelineReader{db: db} }

// Audit returns the audit trail reader (also the audit.Stored a verifier
// compares and the audit.TreeReader a signer signs).
func (db *DB) Audit() *AuditReader { return &AuditReader{db: db} }

// Status is a projection's progress, for `kinerjactl projections status`.
type Status struct {
	// Projection is the projection's name.
	Projection string `json:"projection"`
	// Position is the checkpoint (0 before the first event).
	Position eventstore.Position `json:"position"`
	// Generation counts the rebuilds swapped in (1 for the tables Migrate
	// created).
	Generation int `json:"generation"`
	// UpdatedAt is when the checkpoint last moved (zero if never).
	UpdatedAt time.Time `json:"updated_at"`
	// DeadLetters is the number of dead letters.
	DeadLetters int `json:"dead_letters"`
	// Rebuilding names the generation being built, when a rebuild is in
	// progress (or was abandoned): its checkpoint row exists.
	Rebuilding string `json:"rebuilding,omitempty"`
	// RebuildPosition is that rebuild's checkpoint.
	RebuildPosition eventstore.Position `json:"rebuild_position,omitempty"`
	// Groups is the number of agency groups with a checkpoint, when the
	// projection is projected in agency groups (then Position is the
	// least of theirs).
	Groups int `json:"agency_groups,omitempty"`
}

// Status returns the status of every projection, in the order of Names.
// The lag in events and seconds is the caller's to compute against the
// store's head.
func (db *DB) Status(ctx context.Context) ([]Status, error) {
	rows, err := db.pool.Query(ctx, `SELECT c.projection, c.position, c.generation, c.updated_at,
		(SELECT count(*) FROM `+db.names.t("dead_letters")+` d WHERE d.projection = c.projection)
		FROM `+db.names.t("checkpoints")+` c`)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: status: %w", err)
	}
	type row struct {
		key        string
		pos        int64
		gen        int
		updated    time.Time
		deadLetter int
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.key, &x.pos, &x.gen, &x.updated, &x.deadLetter)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: status: %w", err)
	}
	out := make([]Status, 0, len(Names()))
	for _, name := range Names() {
		st := Status{Projection: name, Generation: 1}
		groups := 1
		for _, r := range got {
			if r.key == layoutKey(name) {
				groups = int(r.pos)
			}
		}
		var inGroups int
		for _, r := range got {
			switch {
			case r.key == name:
				st.Generation = r.gen
				if groups > 1 {
					st.DeadLetters += r.deadLetter // a rebuild's, swapped in
				} else {
					st.Position, st.UpdatedAt, st.DeadLetters = eventstore.Position(r.pos), r.updated.UTC(), r.deadLetter
				}
			case len(r.key) > len(name) && r.key[:len(name)+1] == name+"@":
				st.Rebuilding, st.RebuildPosition = r.key, eventstore.Position(r.pos)
			case groups > 1 && strings.HasPrefix(r.key, name+"#") && strings.HasSuffix(r.key, fmt.Sprintf("/%d", groups)):
				// Agency groups (groups.go): the projection has read what
				// every group has; its dead letters are all the groups'.
				if inGroups == 0 || eventstore.Position(r.pos) < st.Position {
					st.Position = eventstore.Position(r.pos)
				}
				if inGroups == 0 || r.updated.Before(st.UpdatedAt) {
					st.UpdatedAt = r.updated.UTC()
				}
				st.DeadLetters += r.deadLetter
				st.Groups++
				inGroups++
			}
		}
		if groups > 1 && inGroups < groups {
			st.Position = 0 // a group has not started
		}
		out = append(out, st)
	}
	return out, nil
}

// errNoRows tells a missing row from a failure.
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
