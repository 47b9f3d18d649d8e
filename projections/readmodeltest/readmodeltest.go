// Package readmodeltest is the one test suite every read-model backend
// passes (adapters/memreadmodel and adapters/pgreadmodel), so that they
// answer identically.
//
// Run drives the real domain services (units, employees, SKPs,
// distribution justifications) over a real event store through a year of
// appraisal: units with sub-units, employees with valid NIPs and effective
// dated reporting lines, SKPs drafted, submitted, returned, established
// (one late, one amended), cancelled and drafted again, quarterly and
// annual ratings, a revision with a reason, issue, objections with
// explanations, a CHANGED decision and a withdrawal, a justified
// distribution deviation and a signed audit checkpoint. It projects every
// event through the backend's Sinks and checks every reader and report:
// against hand-written expectations, against the domain's own replay, and
// against one golden file (testdata/journey.golden.json) that both
// backends must reproduce byte for byte. It also checks that a
// redelivery changes nothing, a failed Apply leaves nothing, a poison
// event is a *projections.PoisonError, DeadLetter records and advances,
// and Reset empties.
//
// A backend's test calls Run with a Config; `go test -update` (a flag the
// backend's test defines and passes as Config.Update) rewrites the golden
// file.
package readmodeltest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
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

// Backend is a read-model backend under test: its Sinks and readers.
type Backend struct {
	// Sinks are every projection's Sink (audit, directory, skps,
	// evaluations, scores, objections, timeline).
	Sinks []projections.Sink
	// Readers.
	Directory interface {
		directory.Reader
		directory.JustificationReader
		directory.Searcher
	}
	SKPs        skps.Reader
	Evaluations evaluations.Reader
	Scores      scores.Reader
	Objections  objections.Reader
	Timeline    timeline.Reader
	Audit       AuditReader
	// AuditAppendOnly says that the audit Sink refuses Reset (its storage
	// rejects deletion, as PostgreSQL's triggers do); the suite then checks
	// that Reset fails and keeps the trail.
	AuditAppendOnly bool
}

// AuditReader is the audit trail's query side as the suite uses it.
type AuditReader interface {
	audit.Reader
	audit.Stored
	// The agency logs (issue 15).
	audit.AgencyReader
	audit.AgencyTrail
}

// Sink returns the Sink named name, failing the test when there is none.
func (b *Backend) Sink(tb testing.TB, name string) projections.Sink {
	tb.Helper()
	for _, s := range b.Sinks {
		if s.Name() == name {
			return s
		}
	}
	tb.Fatalf("backend has no sink %q", name)
	return nil
}

// StoreFunc opens an empty event store whose RecordedAt comes from now, and
// the domain's EventLog over it (for example boltstore and eventlog). The
// store is closed by the test's cleanup.
type StoreFunc func(tb testing.TB, now func() time.Time) (eventstore.Store, domain.EventLog)

// OpenFunc opens an empty backend whose SKP projections rebuild what their
// caches miss from h, with the default policy (policy.Default()). It is
// called several times per test; each call must return independent, empty
// read models.
type OpenFunc func(tb testing.TB, h projections.History) *Backend

// Config configures Run.
type Config struct {
	// Store opens the event store the journey writes to.
	Store StoreFunc
	// Open opens a backend.
	Open OpenFunc
	// Update rewrites the golden file instead of comparing with it.
	Update bool
}

// Run runs the suite against a backend.
func Run(t *testing.T, cfg Config) {
	t.Run("Journey", func(t *testing.T) { testJourney(t, cfg) })
	t.Run("EveryPrefixEqualsDomainReplay", func(t *testing.T) { testEveryPrefix(t, cfg) })
	t.Run("Redelivery", func(t *testing.T) { testRedelivery(t, cfg) })
	t.Run("FailedApplyLeavesNothing", func(t *testing.T) { testFailedApply(t, cfg) })
	t.Run("TransientHistoryFailure", func(t *testing.T) { testTransientHistory(t, cfg) })
	t.Run("DeadLetter", func(t *testing.T) { testDeadLetter(t, cfg) })
	t.Run("Reset", func(t *testing.T) { testReset(t, cfg) })
	t.Run("ConcurrentReaders", func(t *testing.T) { testConcurrentReaders(t, cfg) })
	t.Run("Search", func(t *testing.T) { testSearch(t, cfg) })
	t.Run("AuditAgencies", func(t *testing.T) { testAuditAgencies(t, cfg) })
	t.Run("ProgressAtManyUnits", func(t *testing.T) { testProgressAtManyUnits(t, cfg) })
}

// Events returns every event of store in the global order, decoded.
func Events(tb testing.TB, store eventstore.Store) []projections.Event {
	tb.Helper()
	var out []projections.Event
	for ev, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			tb.Fatal(err)
		}
		e, err := projections.Decode(ev)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Project applies events to every Sink of b as a runner would: each Sink
// gets the events its filter selects, in batches of at most batch.
func Project(tb testing.TB, b *Backend, events []projections.Event, batch int) {
	tb.Helper()
	for _, s := range b.Sinks {
		ProjectInto(tb, s, events, batch)
	}
}

// ProjectInto applies events to one Sink, as Project does.
func ProjectInto(tb testing.TB, s projections.Sink, events []projections.Event, batch int) {
	tb.Helper()
	if err := projectInto(s, events, batch); err != nil {
		tb.Fatal(err)
	}
}

func projectInto(s projections.Sink, events []projections.Event, batch int) error {
	f := s.Filter()
	var sel []projections.Event
	for _, ev := range events {
		if f.Match(ev.Stream, ev.Type) {
			sel = append(sel, ev)
		}
	}
	for i := 0; i < len(sel); i += batch {
		if err := s.Apply(context.Background(), sel[i:min(i+batch, len(sel))]...); err != nil {
			return fmt.Errorf("%s: apply: %w", s.Name(), err)
		}
	}
	return nil
}

// Setup writes the journey into a fresh store, opens a backend and
// projects everything, the audit checkpoint included; it returns the
// journey, the backend and the events.
func Setup(tb testing.TB, cfg Config, batch int) (*Journey, *Backend, []projections.Event) {
	tb.Helper()
	j := RunJourney(tb, cfg.Store)
	b := cfg.Open(tb, projections.StoreHistory{Store: j.Store})
	Project(tb, b, Events(tb, j.Store), batch)
	signCheckpoint(tb, j, b.Audit)
	evs := Events(tb, j.Store)
	Project(tb, b, evs, batch)
	return j, b, evs
}

// RunJourney writes the journey into a fresh store from open and returns
// what it recorded.
func RunJourney(tb testing.TB, open StoreFunc) *Journey {
	tb.Helper()
	return runJourney(tb, open)
}

// checkpoints returns every Sink's checkpoint by name.
func checkpoints(tb testing.TB, b *Backend) map[string]eventstore.Position {
	tb.Helper()
	out := map[string]eventstore.Position{}
	for _, s := range b.Sinks {
		cp, err := s.Checkpoint(context.Background())
		if err != nil {
			tb.Fatalf("%s: checkpoint: %v", s.Name(), err)
		}
		out[s.Name()] = cp
	}
	return out
}
