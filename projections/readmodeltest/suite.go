package readmodeltest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

func testJourney(t *testing.T, cfg Config) {
	j, b, evs := Setup(t, cfg, 5)
	CheckGolden(t, Take(t, b), cfg.Update)
	t.Run("Directory", func(t *testing.T) { checkDirectory(t, b) })
	t.Run("SKPs", func(t *testing.T) { checkSKPs(t, j, b) })
	t.Run("DomainReplay", func(t *testing.T) { checkDomainReplay(t, j, b, evs) })
	t.Run("Evaluations", func(t *testing.T) { checkEvaluations(t, j, b) })
	t.Run("Scores", func(t *testing.T) { checkScores(t, j, b) })
	t.Run("Objections", func(t *testing.T) { checkObjections(t, j, b) })
	t.Run("Timeline", func(t *testing.T) { checkTimeline(t, j, b) })
	t.Run("Reports", func(t *testing.T) { checkReports(t, j, b) })
	t.Run("Audit", func(t *testing.T) { checkAudit(t, j, b, evs) })
}

// testEveryPrefix applies the journey one event at a time and, after each
// event of an SKP, holds that SKP's rows to the domain's replay of its
// stream up to that event: the projections apply only the events that
// shape their rows, and this is what proves that they need no others.
func testEveryPrefix(t *testing.T, cfg Config) {
	j := RunJourney(t, cfg.Store)
	evs := Events(t, j.Store)
	b := cfg.Open(t, projections.StoreHistory{Store: j.Store})
	byStream := map[string][]projections.Event{}
	for _, ev := range evs {
		for _, s := range b.Sinks {
			if s.Filter().Match(ev.Stream, ev.Type) {
				if err := s.Apply(context.Background(), ev); err != nil {
					t.Fatalf("%s: apply %s@%d: %v", s.Name(), ev.Stream, ev.Revision, err)
				}
			}
		}
		if strings.HasPrefix(ev.Stream, "skp-") {
			byStream[ev.Stream] = append(byStream[ev.Stream], ev)
			checkReplay(t, b, byStream[ev.Stream])
		}
	}
}

func testRedelivery(t *testing.T, cfg Config) {
	_, b, evs := Setup(t, cfg, 5)
	before := Take(t, b)
	Project(t, b, evs, 3)
	Project(t, b, evs, len(evs))
	Project(t, b, evs[len(evs)/3:len(evs)/2], 1)
	SameSnapshot(t, "delivering every event again", before, Take(t, b))
}

// poisonFor returns an event that s selects and cannot apply: a domain
// event whose payload does not decode, or (for the audit trail, which
// reads envelopes only) a signed-checkpoint event without a checkpoint.
func poisonFor(s projections.Sink, pos eventstore.Position) projections.Event {
	ev := eventstore.Event{EventData: eventstore.EventData{ID: uuid.MustParse("00000000-0000-4000-8000-00000000dead"), SchemaVersion: 1,
		OccurredAt: start.UTC(), Actor: eventstore.Actor{ID: hrAdmin, Role: "HR_ADMIN"}, Data: []byte(`{"unit_id": 42`)},
		Position: pos, RecordedAt: start.UTC()}
	prefixes := s.Filter().StreamPrefixes
	if len(prefixes) == 0 || s.Name() == audit.Name {
		ev.Stream, ev.Type = audit.CheckpointStream, audit.CheckpointEventType
		return projections.Event{Event: ev}
	}
	ev.Stream = prefixes[0] + "POISON"
	ev.Type = map[string]string{"unit-": "unit.registered.v1", "employee-": "employee.registered.v1", "skp-": "skp.drafted.v1",
		"distribution-": "distribution.deviation_justified.v1"}[prefixes[0]]
	return projections.Event{Event: ev}
}

func selected(s projections.Sink, evs []projections.Event) []projections.Event {
	var out []projections.Event
	for _, ev := range evs {
		if s.Filter().Match(ev.Stream, ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

func testFailedApply(t *testing.T, cfg Config) {
	j := RunJourney(t, cfg.Store)
	evs := Events(t, j.Store)
	h := projections.StoreHistory{Store: j.Store}
	b := cfg.Open(t, h)
	half := len(evs) / 2
	Project(t, b, evs[:half], 4)
	before := Take(t, b)
	head := evs[len(evs)-1].Position
	ctx := context.Background()
	for _, s := range b.Sinks {
		batch := selected(s, evs[half:])
		batch = append(batch[:min(5, len(batch)):min(5, len(batch))], poisonFor(s, head+1))
		err := s.Apply(ctx, batch...)
		var p *projections.PoisonError
		if !errors.As(err, &p) || p.Event.ID != batch[len(batch)-1].ID {
			t.Errorf("%s: Apply(good events, poison) = %v, want a *PoisonError naming the poison event", s.Name(), err)
		}
	}
	SameSnapshot(t, "a failed Apply", before, Take(t, b))
	// The same events without the poison apply, and the result is the
	// one of a backend that never failed.
	Project(t, b, evs[half:], 4)
	ref := cfg.Open(t, h)
	Project(t, ref, evs, 50)
	SameSnapshot(t, "failing, then applying", Take(t, ref), Take(t, b))
}

// flakyHistory fails while fail is set, and counts the streams read.
type flakyHistory struct {
	h     projections.History
	fail  atomic.Bool
	calls atomic.Int64
}

func (f *flakyHistory) Stream(ctx context.Context, stream string, upto uint64) ([]projections.Event, error) {
	if f.fail.Load() {
		return nil, errors.New("history unavailable")
	}
	f.calls.Add(1)
	return f.h.Stream(ctx, stream, upto)
}

// testTransientHistory starts projecting in the middle of the ledger (as
// after a restart from a checkpoint, with empty caches): the SKP
// projections must rebuild SKPs from history. While history fails, Apply
// fails with a transient error and changes nothing; then it succeeds, and
// each stream is read from history once, not once per event.
func testTransientHistory(t *testing.T, cfg Config) {
	j := RunJourney(t, cfg.Store)
	evs := Events(t, j.Store)
	mid := len(evs) / 2
	fh := &flakyHistory{h: projections.StoreHistory{Store: j.Store}}
	fh.fail.Store(true)
	b := cfg.Open(t, fh)
	before := Take(t, b)
	ctx := context.Background()
	skpSinks := 0
	for _, s := range b.Sinks {
		if !usesHistory(s) {
			continue
		}
		skpSinks++
		err := s.Apply(ctx, selected(s, evs[mid:])...)
		if err == nil || projections.IsPoison(err) {
			t.Errorf("%s: Apply while history fails = %v, want a transient error", s.Name(), err)
		}
	}
	SameSnapshot(t, "an Apply that failed on history", before, Take(t, b))
	fh.fail.Store(false)
	for _, s := range b.Sinks {
		if usesHistory(s) {
			ProjectInto(t, s, evs[mid:], 16)
		}
	}
	streams := map[string]bool{}
	for _, ev := range evs[mid:] {
		if strings.HasPrefix(ev.Stream, "skp-") && ev.Revision > 0 {
			streams[ev.Stream] = true
		}
	}
	if max := int64(len(streams) * skpSinks); fh.calls.Load() > max {
		t.Errorf("history read %d times for %d SKP streams and %d SKP projections: want at most one read per stream and projection", fh.calls.Load(), len(streams), skpSinks)
	}
	ref := cfg.Open(t, projections.StoreHistory{Store: j.Store})
	for _, s := range ref.Sinks {
		if usesHistory(s) {
			ProjectInto(t, s, evs[mid:], 7)
		}
	}
	SameSnapshot(t, "history failing, then working", Take(t, ref), Take(t, b))
}

// usesHistory reports whether s is one of the projections that rebuild
// SKPs from history: those reading SKP streams, except the audit trail.
func usesHistory(s projections.Sink) bool {
	return s.Name() != audit.Name && s.Filter().Match("skp-x", "skp.drafted.v1")
}

func testDeadLetter(t *testing.T, cfg Config) {
	_, b, evs := Setup(t, cfg, 5)
	before := Take(t, b)
	ctx := context.Background()
	head := evs[len(evs)-1].Position
	for _, s := range b.Sinks {
		poison := poisonFor(s, head+1)
		err := s.Apply(ctx, poison)
		if !projections.IsPoison(err) {
			t.Fatalf("%s: Apply(poison) = %v, want a *PoisonError", s.Name(), err)
		}
		if err := s.DeadLetter(ctx, poison, err); err != nil {
			t.Fatalf("%s: DeadLetter: %v", s.Name(), err)
		}
		// A redelivery of the dead-lettered event changes nothing.
		if err := s.Apply(ctx, poison); err != nil {
			t.Errorf("%s: Apply(dead-lettered event) = %v, want it skipped", s.Name(), err)
		}
		if err := s.DeadLetter(ctx, poison, errors.New("again")); err != nil {
			t.Errorf("%s: DeadLetter again: %v", s.Name(), err)
		}
		cp, err := s.Checkpoint(ctx)
		if err != nil || cp != head+1 {
			t.Errorf("%s: Checkpoint after DeadLetter = %d, %v; want %d", s.Name(), cp, err, head+1)
		}
		dl, err := s.DeadLetters(ctx)
		if err != nil {
			t.Fatalf("%s: DeadLetters: %v", s.Name(), err)
		}
		if len(dl) != 1 {
			t.Fatalf("%s: DeadLetters = %+v, want one", s.Name(), dl)
		}
		d := dl[0]
		if d.Projection != s.Name() || d.Position != head+1 || d.EventID != poison.ID.String() || d.Stream != poison.Stream ||
			d.Type != poison.Type || d.Error == "" || d.At.IsZero() {
			t.Errorf("%s: dead letter = %+v, want the poison event at %d with its error", s.Name(), d, head+1)
		}
	}
	after := Take(t, b)
	for name := range after.Checkpoints {
		after.Checkpoints[name] = before.Checkpoints[name]
	}
	SameSnapshot(t, "dead-lettering", before, after)
}

func testReset(t *testing.T, cfg Config) {
	_, b, evs := Setup(t, cfg, 5)
	golden := Take(t, b)
	ctx := context.Background()
	for _, s := range b.Sinks {
		if s.Name() == audit.Name && b.AuditAppendOnly {
			if err := s.Reset(ctx); err == nil {
				t.Errorf("audit: Reset = nil, want a refusal: the trail is append-only")
			}
			continue
		}
		if err := s.Reset(ctx); err != nil {
			t.Fatalf("%s: Reset: %v", s.Name(), err)
		}
		if cp, err := s.Checkpoint(ctx); err != nil || cp != 0 {
			t.Errorf("%s: Checkpoint after Reset = %d, %v; want 0", s.Name(), cp, err)
		}
		if dl, err := s.DeadLetters(ctx); err != nil || len(dl) != 0 {
			t.Errorf("%s: DeadLetters after Reset = %v, %v; want none", s.Name(), dl, err)
		}
	}
	empty := Take(t, b)
	if len(empty.Units) != 0 || len(empty.SKPs) != 0 || len(empty.Objections) != 0 || len(empty.Employees) != 0 {
		t.Errorf("after Reset: %d units, %d employees, %d SKPs, %d objections; want none", len(empty.Units), len(empty.Employees), len(empty.SKPs), len(empty.Objections))
	}
	if got, err := b.Evaluations.ForPeriod(ctx, []string{"DINKES", "PUSKESMAS1", "PUSKESMAS2", "DISDIK", "SD1"}, "2026"); err != nil || len(got) != 0 {
		t.Errorf("after Reset: evaluations = %v, %v; want none", got, err)
	}
	if got, err := b.Timeline.ForEmployee(ctx, nipP[0], 0, 0); err != nil || len(got) != 0 {
		t.Errorf("after Reset: timeline = %v, %v; want none", got, err)
	}
	if n, err := b.Audit.Size(ctx); err != nil || (n == 0) == b.AuditAppendOnly {
		t.Errorf("after Reset: audit size = %d, %v (append-only %v)", n, err, b.AuditAppendOnly)
	}
	Project(t, b, evs, 11)
	SameSnapshot(t, "Reset and rebuild", golden, Take(t, b))
}

func testConcurrentReaders(t *testing.T, cfg Config) {
	j := RunJourney(t, cfg.Store)
	evs := Events(t, j.Store)
	b := cfg.Open(t, projections.StoreHistory{Store: j.Store})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var reads atomic.Int64
	fail := make(chan error, 16)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var err error
				switch i {
				case 0:
					_, _, err = b.SKPs.List(ctx, skps.Query{Limit: 5, Units: []string{"DINKES", "PUSKESMAS1"}})
				case 1:
					_, err = b.Audit.Entries(ctx, audit.Query{Stream: "skp-" + nipP[0] + "-2026"})
				case 2:
					_, err = reports.Progress(ctx, b.Directory, b.SKPs, "PEMKOT", 2026)
					if errors.Is(err, directory.ErrNotFound) {
						err = nil // not projected yet
					}
				case 3:
					_, err = b.Objections.List(ctx, objections.Query{Status: "OPEN"})
				}
				if err != nil && ctx.Err() == nil {
					fail <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	var wwg sync.WaitGroup
	for _, s := range b.Sinks {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			if err := projectInto(s, evs, 3); err != nil {
				fail <- err
			}
		}()
	}
	wwg.Wait()
	time.Sleep(10 * time.Millisecond)
	cancel()
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Errorf("reader: %v", err)
	}
	if reads.Load() == 0 {
		t.Error("no read completed while projecting")
	}
	ref := cfg.Open(t, projections.StoreHistory{Store: j.Store})
	Project(t, ref, evs, 100)
	SameSnapshot(t, "projecting under concurrent reads", Take(t, ref), Take(t, b))
}

// diff fails with a cmp diff when got differs from want.
func diff(tb testing.TB, what string, want, got any) {
	tb.Helper()
	if d := cmp.Diff(want, got); d != "" {
		tb.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func sorted(xs ...string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

var defaultPolicy = policy.Default()
