package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/witness"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
	"github.com/kinerja-ledger/kinerja/projections/scores"
)

// WitnessFile is the default witness file in the data directory. In
// production put it elsewhere (--witness-file): a witness restored along
// with the store from the same backup witnesses nothing.
const WitnessFile = "witness.json"

// WitnessConfig says where the signed checkpoints are witnessed.
type WitnessConfig struct {
	// File is the witness file (required).
	File string
	// NATSURL, when set, adds a JetStream witness on that server.
	NATSURL string
	// NATSStream and NATSSubject name its stream and subject (defaults in
	// witness.JetStreamConfig).
	NATSStream, NATSSubject string
}

// OpenWitnesses returns the configured witnesses as a set, and a function
// that closes them.
func OpenWitnesses(ctx context.Context, c WitnessConfig) (*audit.WitnessSet, func() error, error) {
	ws := []audit.Witness{witness.NewFile(c.File)}
	closeAll := func() error { return nil }
	if c.NATSURL != "" {
		j, err := witness.OpenJetStream(ctx, witness.JetStreamConfig{URL: c.NATSURL, Stream: c.NATSStream, Subject: c.NATSSubject})
		if err != nil {
			return nil, nil, err
		}
		ws = append(ws, j)
		closeAll = j.Close
	}
	return audit.NewWitnessSet(ws...), closeAll, nil
}

// StartupCheck compares the store with the witness before a process that
// writes to it serves anything (kinerjad, the projector).
type StartupCheck struct {
	Store     eventstore.Store
	AuditKeys []*merkle.Verifier
	Witness   *audit.WitnessSet
	// AcceptRollback, when not empty, is the operator's reason to start on
	// a store that is behind or disagrees with the witness; the override is
	// appended to the ledger as an audit.rollback_accepted.v1 event with
	// both checkpoints, and witnessed.
	AcceptRollback string
	Now            func() time.Time
	Logger         *slog.Logger
}

// Run returns the witness record the process may trust (its checkpoint
// authenticates the history below it once the trail's root is compared
// with it; nil when there is none), or an error that must stop the process:
// the store is behind or disagrees with the newest witnessed checkpoint
// (an *audit.RollbackError, unless AcceptRollback), a witness cannot be
// read, or the store cannot.
func (c StartupCheck) Run(ctx context.Context) (*audit.WitnessRecord, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	rec, ok, err := c.Witness.Latest(ctx)
	if err != nil {
		return nil, err
	}
	var latest *audit.WitnessRecord
	if ok {
		latest = &rec
	}
	err = audit.CheckWitness(ctx, c.Store, latest, c.AuditKeys)
	if err == nil && latest == nil && c.Witness.Len() > 0 {
		// A store without signed checkpoints and a witness without
		// records: witness that now, before anything is signed. The
		// first checkpoint is appended to the store before the witness
		// records it; a crash between the two would otherwise leave a
		// store with a checkpoint and a witness with none, which is what
		// a lost witness looks like, and the service would refuse to
		// start after an ordinary crash. With this record, such a store
		// is one ahead of its witness, as after any later crash.
		if _, werr := c.Witness.Record(ctx, audit.WitnessRecord{}); werr != nil {
			return nil, fmt.Errorf("witness the empty ledger: %w", werr)
		}
		return nil, nil
	}
	if err == nil {
		return latest, nil
	}
	if !errors.Is(err, audit.ErrRollback) {
		return nil, err
	}
	if c.AcceptRollback == "" {
		return nil, fmt.Errorf("%w (witness: %s). Refusing to serve. If this store is the one to keep (a restore you intended), start with --accept-rollback REASON: the override is recorded in the audit trail", err, c.Witness.Names())
	}
	res, d, aerr := audit.RecordRollbackAccepted(ctx, c.Store, c.AcceptRollback, err, latest, c.Now())
	if aerr != nil {
		return nil, aerr
	}
	next := audit.WitnessRecord{Override: &audit.Override{Reason: c.AcceptRollback, Problem: err.Error(), Previous: latest, Position: res.Position}}
	trusted := (*audit.WitnessRecord)(nil)
	if cp, ok, lerr := audit.LedgerCheckpoint(ctx, c.Store); lerr != nil {
		return nil, lerr
	} else if ok && audit.OpenCheckpoint(cp.Checkpoint, c.AuditKeys...) == nil {
		// A checkpoint of the accepted store that the audit key signed.
		next.Checkpoint, next.Revision, next.EventID = cp.Checkpoint, cp.Revision, cp.EventID
		trusted = &next
	}
	written, werr := c.Witness.Record(ctx, next)
	if werr != nil {
		return nil, fmt.Errorf("accepted rollback recorded at position %d, but the witness could not be updated: %w", res.Position, werr)
	}
	c.Logger.Warn("rollback_accepted", "reason", c.AcceptRollback, "problem", d.Problem, "position", uint64(res.Position), "witness_seq", written.Seq)
	if trusted != nil {
		trusted.Seq = written.Seq
	}
	return trusted, nil
}

// Guard is what a process that writes to the ledger knows of its
// integrity: the witnessed checkpoint the start-up trusted, what the
// start-up found wrong below it, and (once set) the audit signer's and the
// witness's problems. It is safe for concurrent use.
type Guard struct {
	// Witness is the set the signer records checkpoints with.
	Witness *audit.WitnessSet

	mu      sync.Mutex
	trusted *audit.WitnessRecord
	problem error
	engaged bool // Halt refuses events (after the start-up catch-up)
	signer  *audit.Signer
	// checked is the last trail whose root CheckRoot compared with the
	// trusted checkpoint's and found equal (nil: none yet).
	checked audit.TreeReader
}

// OpenGuard opens the witnesses of c and runs the start-up check of the
// store against them (see StartupCheck). The returned function closes the
// witnesses.
func OpenGuard(ctx context.Context, c IntegrityConfig, store eventstore.Store, auditKeys []*merkle.Verifier, log *slog.Logger) (*Guard, func() error, error) {
	set, closeWitness, err := OpenWitnesses(ctx, c.Witnesses())
	if err != nil {
		return nil, nil, err
	}
	trusted, err := StartupCheck{Store: store, AuditKeys: auditKeys, Witness: set, AcceptRollback: c.AcceptRollback, Logger: log}.Run(ctx)
	if err != nil {
		closeWitness()
		return nil, nil, err
	}
	g := &Guard{Witness: set, trusted: trusted}
	log.Info("witness_checked", "witness", set.Names(), "witnessed_size", g.CoveredSize())
	return g, closeWitness, nil
}

// SetSigner makes the signer's problems the guard's too.
func (g *Guard) SetSigner(s *audit.Signer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.signer = s
}

// CoveredSize is the size of the trusted witnessed checkpoint (0: none,
// or its root did not match).
func (g *Guard) CoveredSize() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trusted == nil {
		return 0
	}
	return g.trusted.Checkpoint.Size
}

// Witnessed returns a copy of the trusted witnessed checkpoint, or nil
// when there is none (or its root did not match).
func (g *Guard) Witnessed() *audit.Checkpoint {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trusted == nil || g.trusted.Checkpoint.Size == 0 {
		return nil
	}
	c := g.trusted.Checkpoint
	return &c
}

// Cover returns, for eventstore.AuthenticatedStore.Covering, the entries
// the trusted checkpoint covers (see audit.CoverFirst), or nil when there
// is none.
func (g *Guard) Cover() func() func(eventstore.Event) bool {
	n := g.CoveredSize()
	if n == 0 {
		return nil
	}
	return audit.CoverFirst(n)
}

// CheckRoot compares the trail's root at the witnessed size with the
// witnessed root, once the trail holds that many entries, and remembers a
// mismatch as the guard's problem (the trusted checkpoint is then dropped:
// it authenticates nothing). It returns the mismatch.
func (g *Guard) CheckRoot(ctx context.Context, trail audit.TreeReader, log *slog.Logger) error {
	g.mu.Lock()
	trusted := g.trusted
	g.mu.Unlock()
	if trusted == nil {
		return nil
	}
	size, err := trail.Size(ctx)
	if err != nil || size < trusted.Checkpoint.Size {
		return err // not projected that far yet: the signer proves it later
	}
	if err := audit.CheckWitnessRoot(ctx, trail, trusted); err != nil {
		log.Error("history_changed", "err", err, "witnessed_size", trusted.Checkpoint.Size)
		g.mu.Lock()
		g.problem, g.trusted, g.checked = err, nil, nil
		g.mu.Unlock()
		return err
	}
	g.mu.Lock()
	if g.trusted == trusted && trusted.Checkpoint.Note != "" && trusted.Checkpoint.Size > 0 {
		g.checked = trail // CheckWitnessRoot compared its root
	}
	g.mu.Unlock()
	return nil
}

// Fail records problem as the guard's (when it has none yet): the
// background history check of a loaded read-model snapshot found the
// history below it changed (Snapshots.CheckHistory). Problem reports it
// from then on: kinerja_integrity_ok drops to 0, no snapshot is written,
// and the halted projections stop.
func (g *Guard) Fail(problem error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.problem == nil {
		g.problem = problem
	}
}

// Engage turns the halt on (see Halt): called once the start-up catch-up
// is done, so that a rebuild with every signature checked still projects
// what authenticates.
func (g *Guard) Engage() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.engaged = true
}

// Halt wraps the audit and score projections and the deadline process
// manager among sinks so that, once the guard is engaged and knows that
// the history below the witnessed checkpoint changed, they stop (each
// refuses the next event as poison, as their Stop policy says): what they
// would add to, or act on, could not be trusted.
func (g *Guard) Halt(sinks []projections.Sink) []projections.Sink {
	out := make([]projections.Sink, len(sinks))
	for i, s := range sinks {
		out[i] = s
		// One agency group of a split projection is named
		// "<projection>#<g>/<G>" (pgreadmodel.GroupKey).
		name, _, _ := strings.Cut(s.Name(), "#")
		if name == audit.Name || name == scores.Name || name == deadlines.Name {
			out[i] = halting{Sink: s, g: g}
		}
	}
	return out
}

// halting is a Sink halted by its guard's start-up problem, if it has one.
type halting struct {
	projections.Sink
	g *Guard
}

// Apply refuses the first event after the checkpoint while the guard is
// engaged with a start-up problem.
func (h halting) Apply(ctx context.Context, events ...projections.Event) error {
	h.g.mu.Lock()
	cause := h.g.problem
	if !h.g.engaged {
		cause = nil
	}
	h.g.mu.Unlock()
	if cause == nil {
		return h.Sink.Apply(ctx, events...)
	}
	cp, err := h.Checkpoint(ctx)
	if err != nil {
		return err
	}
	for _, ev := range events {
		if ev.Position > cp {
			return projections.Poison(ev.Event, fmt.Errorf("integrity: %w", cause))
		}
	}
	return nil
}

// Problem returns the first integrity problem known: the start-up's
// comparison with the witness, the signer's refusal to sign, a witness
// that cannot be written; nil when there is none.
func (g *Guard) Problem() error {
	g.mu.Lock()
	problem, signer := g.problem, g.signer
	g.mu.Unlock()
	if problem != nil {
		return fmt.Errorf("integrity: %w", problem)
	}
	if signer != nil {
		if err := signer.Problem(); err != nil {
			return fmt.Errorf("audit signer: %w", err)
		}
		if err := signer.WitnessProblem(); err != nil {
			return fmt.Errorf("witness: %w", err)
		}
	}
	return nil
}

// Readiness adds the integrity problem, if any, to a /readyz answer as
// degraded (docs/operations.md, "Integrity in /readyz"): the history is
// the same for every instance over the store, so taking this one out of
// rotation would fix nothing, while the reads that check out still
// serve. The affected projections are halted and listed on their own.
func (g *Guard) Readiness(rd httpapi.Readiness) httpapi.Readiness {
	if err := g.Problem(); err != nil {
		if rd.Status == httpapi.ReadyOK {
			rd.Status = httpapi.ReadyDegraded
		}
		rd.Reasons = append(rd.Reasons, err.Error())
	}
	return rd
}

// Gauge is the metric kinerja_integrity_ok: 1 while Problem is nil, 0
// once a problem is found (the health endpoint says which).
func (g *Guard) Gauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kinerja_integrity_ok",
		Help: "1 while the history checks out (the start-up comparison with the witness, the audit signer's proof, the witness writes), 0 once a problem is found; /readyz says which.",
	}, func() float64 {
		if g.Problem() != nil {
			return 0
		}
		return 1
	})
}

// AnchorTrail is a trail StreamAnchors can look entries up in.
type AnchorTrail interface {
	audit.TreeReader
	Entries(ctx context.Context, q audit.Query) ([]audit.Entry, error)
}

// StreamAnchors returns, for eventlog.Cached.AnchorStreams, each stream's
// last event that the trusted checkpoint covers, with the chain hash its
// trail entry holds; nil when there is no trusted checkpoint or trail is
// not the trail whose root CheckRoot last compared with it and found
// equal. trail must be held in this process's memory (memreadmodel: its
// leaves are computed from the entries when they are added or loaded): the
// entries below the checkpoint's size are then as the signed checkpoint
// has them. A trail read from a database is not (it may have changed since
// its root was compared). Once the guard has a problem (the history
// changed, the checkpoint was dropped) no anchor is given.
func (g *Guard) StreamAnchors(trail AnchorTrail) func(ctx context.Context, stream string) (eventstore.Head, bool) {
	size := g.CoveredSize()
	g.mu.Lock()
	checked := g.checked != nil && g.checked == audit.TreeReader(trail)
	g.mu.Unlock()
	if size == 0 || !checked {
		return nil
	}
	return func(ctx context.Context, stream string) (eventstore.Head, bool) {
		if !audit.InTrail(stream) || g.Problem() != nil || g.CoveredSize() != size {
			return eventstore.Head{}, false
		}
		es, err := trail.Entries(ctx, audit.Query{Stream: stream, Before: size, BeforeSet: true, Desc: true, Limit: 1})
		if err != nil || len(es) != 1 || es[0].Stream != stream || es[0].Seq >= size {
			return eventstore.Head{}, false
		}
		return eventstore.Head{Exists: true, Revision: es[0].Revision, Hash: es[0].EventHash}, true
	}
}
