// Package memreadmodel holds every read model of Kinerja Ledger in memory,
// for embedded mode: the SKP summaries, evaluations, score history,
// objection register, employee timeline, directory and the audit trail.
// The service rebuilds them from the event store at start-up and keeps
// them current through the projection runner; they answer exactly as
// adapters/pgreadmodel does (both are held to projections/readmodeltest).
//
// # Sinks and transactions
//
// Each projection is a Sink (projections.Sink) over its own tables. Apply
// stages the writes of its batch in maps private to the batch, then
// publishes them together with the checkpoint under the tables' write
// lock: readers, who take the read lock, see a batch whole or not at all,
// and a batch that fails is dropped without a trace. Publishing costs the
// batch's writes, never a copy of the tables, so a rebuild runs at memory
// speed (see the benchmarks in this package). Any number of readers may
// query while one goroutine applies.
//
// # Memory
//
// The timeline keeps one record per event shared by the employees it
// concerns, and the audit trail one compact entry per event plus the
// tree's nodes from level 2 up (about 32 bytes an entry with its agency
// log's; the leaves and leaf pairs are recomputed, see prunedNodes). The SKP projections keep
// a bounded cache of domain aggregates (Options.CacheSize).
package memreadmodel

import (
	"context"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// Options configures a Model.
type Options struct {
	// History rebuilds the SKPs the projections' caches do not hold:
	// projections.StoreHistory over the event store. Required for the SKP
	// projections (skps, evaluations, scores, objections, timeline) unless
	// every stream is applied from its first event.
	History projections.History
	// Policy supplies ObjectionDecisionSLADays (policy.Default() when its
	// Version is empty).
	Policy policy.Policy
	// CacheSize bounds each SKP projection's cache of aggregates
	// (projections.DefaultCacheSize when ≤ 0).
	CacheSize int
	// Now stamps dead letters (time.Now when nil).
	Now func() time.Time
}

// Model is every in-memory read model, with a Sink and a reader each.
type Model struct {
	directory   *Sink[*directoryTx]
	skps        *Sink[*skpsTx]
	evaluations *Sink[*evaluationsTx]
	scores      *Sink[*scoresTx]
	objections  *Sink[*objectionsTx]
	timeline    *Sink[*timelineTx]
	audit       *Sink[*auditTx]

	dirR   *DirectoryReader
	skpsR  *SKPsReader
	evalsR *EvaluationsReader
	scoreR *ScoresReader
	objR   *ObjectionsReader
	tlR    *TimelineReader
	auditR *AuditReader

	// policyVersion is the policy the projections fold with (in a
	// snapshot's schema).
	policyVersion string
}

// New returns empty read models.
func New(opts Options) *Model {
	if opts.Policy.Version == "" {
		opts.Policy = policy.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Model{policyVersion: opts.Policy.Version}
	{
		t, lock := newDirectoryTables(), &sync.RWMutex{}
		m.directory = &Sink[*directoryTx]{name: directory.Name, policy: directory.Policy, filter: directory.Filter(), tables: t, lock: lock, now: opts.Now,
			apply: func(ctx context.Context, tx *directoryTx, ev projections.Event) error {
				return directory.Apply(ctx, tx, ev)
			}}
		m.dirR = &DirectoryReader{lock: lock, t: t}
	}
	{
		t, lock, p := newSKPsTables(), &sync.RWMutex{}, skps.New(opts.History, opts.CacheSize)
		m.skps = &Sink[*skpsTx]{name: skps.Name, policy: skps.Policy, filter: skps.Filter(), tables: t, lock: lock, now: opts.Now,
			apply: func(ctx context.Context, tx *skpsTx, ev projections.Event) error { return p.Apply(ctx, tx, ev) }, forget: p.Reset}
		m.skpsR = &SKPsReader{lock: lock, t: t}
	}
	{
		t, lock, p := newEvaluationsTables(), &sync.RWMutex{}, evaluations.New(opts.History, opts.CacheSize)
		m.evaluations = &Sink[*evaluationsTx]{name: evaluations.Name, policy: evaluations.Policy, filter: evaluations.Filter(), tables: t, lock: lock, now: opts.Now,
			apply: func(ctx context.Context, tx *evaluationsTx, ev projections.Event) error { return p.Apply(ctx, tx, ev) }, forget: p.Reset}
		m.evalsR = &EvaluationsReader{lock: lock, t: t}
	}
	{
		t, lock, p := newScoresTables(), &sync.RWMutex{}, scores.New(opts.History, opts.CacheSize)
		m.scores = &Sink[*scoresTx]{name: scores.Name, policy: scores.Policy, filter: scores.Filter(), tables: t, lock: lock, now: opts.Now,
			apply: func(ctx context.Context, tx *scoresTx, ev projections.Event) error { return p.Apply(ctx, tx, ev) }, forget: p.Reset}
		m.scoreR = &ScoresReader{lock: lock, t: t}
	}
	{
		t, lock, p := newObjectionsTables(), &sync.RWMutex{}, objections.New(opts.History, opts.CacheSize, opts.Policy.ObjectionDecisionSLADays)
		m.objections = &Sink[*objectionsTx]{name: objections.Name, policy: objections.Policy, filter: objections.Filter(), tables: t, lock: lock, now: opts.Now,
			apply: func(ctx context.Context, tx *objectionsTx, ev projections.Event) error { return p.Apply(ctx, tx, ev) }, forget: p.Reset}
		m.objR = &ObjectionsReader{lock: lock, t: t}
	}
	{
		t, lock, p := newTimelineTables(), &sync.RWMutex{}, timeline.New(opts.History, opts.CacheSize)
		m.timeline = &Sink[*timelineTx]{name: timeline.Name, policy: timeline.Policy, filter: timeline.Filter(), tables: t, lock: lock, now: opts.Now,
			apply: func(ctx context.Context, tx *timelineTx, ev projections.Event) error { return p.Apply(ctx, tx, ev) }, forget: p.Reset}
		m.tlR = &TimelineReader{lock: lock, t: t}
	}
	{
		// The reports' counts, kept by the commits of the three tables
		// they count (built on the first report).
		h := &tallyHub{dirLock: m.dirR.lock, dir: m.dirR.t, skpsLock: m.skpsR.lock, skps: m.skpsR.t, evalsLock: m.evalsR.lock, evals: m.evalsR.t}
		h.dir.tally, h.skps.tally, h.evals.tally = &h.t, &h.t, &h.t
		m.skpsR.hub, m.evalsR.hub = h, h
	}
	{
		t, lock := newAuditTables(), &sync.RWMutex{}
		m.audit = &Sink[*auditTx]{name: audit.Name, policy: projections.Stop, tables: t, lock: lock, now: opts.Now, raw: true,
			apply: func(ctx context.Context, tx *auditTx, ev projections.Event) error { return audit.Apply(ctx, tx, ev) }}
		m.auditR = &AuditReader{lock: lock, t: t}
	}
	return m
}

// Sinks returns every projection's Sink: audit, directory, skps,
// evaluations, scores, objections, timeline.
func (m *Model) Sinks() []projections.Sink {
	return []projections.Sink{m.audit, m.directory, m.skps, m.evaluations, m.scores, m.objections, m.timeline}
}

// DropCaches empties the SKP projections' caches of domain aggregates
// (skps, evaluations, scores, objections, timeline), keeping their tables
// and checkpoints. A rebuild from the whole log fills each cache to its
// bound (Options.CacheSize) with aggregates that live traffic rarely
// touches again (docs/benchmarks.md §15.1: ≈ 0.9 GB of the 1.4 GB heap at
// 20,000 employees); kinerjad drops them once the start-up catch-up is
// done, and the next event of an SKP replays its stream once.
func (m *Model) DropCaches() {
	m.skps.dropCache()
	m.evaluations.dropCache()
	m.scores.dropCache()
	m.objections.dropCache()
	m.timeline.dropCache()
}

// Sink returns the Sink of the projection named name, or nil.
func (m *Model) Sink(name string) projections.Sink {
	for _, s := range m.Sinks() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// Directory returns the directory reader.
func (m *Model) Directory() *DirectoryReader { return m.dirR }

// SKPs returns the SKP summary reader.
func (m *Model) SKPs() *SKPsReader { return m.skpsR }

// Evaluations returns the evaluations reader.
func (m *Model) Evaluations() *EvaluationsReader { return m.evalsR }

// Scores returns the score history reader.
func (m *Model) Scores() *ScoresReader { return m.scoreR }

// Objections returns the objection register reader.
func (m *Model) Objections() *ObjectionsReader { return m.objR }

// Timeline returns the employee timeline reader.
func (m *Model) Timeline() *TimelineReader { return m.tlR }

// Audit returns the audit trail reader (also the audit.Stored a verifier
// compares and the audit.TreeReader a signer signs).
func (m *Model) Audit() *AuditReader { return m.auditR }
