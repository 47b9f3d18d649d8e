package deadlinestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

type noVerifier struct{}

func (noVerifier) Verify(context.Context) (audit.Report, error) { return audit.Report{}, nil }

// agency is a generated agency on a bbolt event store with the
// application layer over it, as kinerjad wires it in embedded mode.
type agency struct {
	store *boltstore.Store
	clock *domaintest.Clock
	app   *app.App
	now   time.Time // the seed's business now
}

func newAgency(t *testing.T) *agency {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	now := seed.EndOf(2026, policy.WIB)
	clock := domaintest.NewClock(now.Add(time.Hour))
	store, err := boltstore.Open(filepath.Join(dir, "kinerja.db"), boltstore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	idem, err := boltstore.OpenIdempotency(filepath.Join(dir, "idempotency.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idem.Close() })
	pol := policy.Default()
	handler := &domain.Handler{Log: eventlog.New(store), Now: clock.Now, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	svc := seed.NewServices(handler, pol)
	model := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: store}, Now: clock.Now})
	a, err := app.New(app.Config{
		Units: svc.Units, Employees: svc.Employees, SKPs: svc.SKPs, Distribution: svc.Distribution, Store: store,
		Directory: model.Directory(), SKPList: model.SKPs(), Audit: model.Audit(), Verifier: noVerifier{},
		Idempotency: idem, Policy: pol, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, seed.Config{Employees: 40, Seed: 7, Year: 2026, Now: now, Objections: 0.2}, svc); err != nil {
		t.Fatal(err)
	}
	return &agency{store: store, clock: clock, app: a, now: now}
}

// catchUp applies the store's events after the sink's checkpoint.
func (g *agency) catchUp(t *testing.T, sink *deadlines.Sink) {
	t.Helper()
	ctx := context.Background()
	cp, err := sink.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batch []projections.Event
	for ev, err := range g.store.ReadAll(ctx, eventstore.ReadAllOptions{After: cp, Filter: deadlines.Filter()}) {
		if err != nil {
			t.Fatal(err)
		}
		e, err := projections.Decode(ev)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	if len(batch) > 0 {
		if err := sink.Apply(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
}

// finalisations counts the skp.evaluation_finalised.v1 events per SKP
// stream, and those recorded by the process manager.
func (g *agency) finalisations(t *testing.T) (perStream map[string]int, bySystem int) {
	t.Helper()
	perStream = map[string]int{}
	for ev, err := range g.store.ReadAll(context.Background(), eventstore.ReadAllOptions{Filter: eventstore.Filter{TypePrefixes: []string{"skp.evaluation_finalised."}}}) {
		if err != nil {
			t.Fatal(err)
		}
		perStream[ev.Stream]++
		if ev.Actor.ID == authz.SystemDeadlinesID {
			bySystem++
			if ev.Actor.Role != string(domain.RoleSystem) {
				t.Errorf("the process manager recorded finality as %s", ev.Actor.Role)
			}
		}
	}
	return perStream, bySystem
}

// Over a generated agency, the process manager records the finality of
// every evaluation whose window passed with no objection, as the system,
// once: across a crash between the append and the record of the firing,
// and across a restart.
func TestProcessManagerFinalisesAnAgency(t *testing.T) {
	ctx := context.Background()
	g := newAgency(t)
	pol := policy.Default()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	sink := deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: g.store}, 0, deadlines.DefaultSettings(pol)))
	g.catchUp(t, sink)
	before, bySystem := g.finalisations(t)
	if bySystem != 0 {
		t.Fatalf("the seed recorded %d finalities as the system", bySystem)
	}
	due, err := b.Due(ctx, g.clock.Now(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var timers []deadlines.Item
	for _, it := range due {
		if it.Kind == deadlines.FinaliseEvaluation {
			timers = append(timers, it)
		}
	}
	if len(timers) == 0 {
		t.Fatal("the agency has no evaluation waiting for its finality: the test tests nothing")
	}
	t.Logf("%d items due, %d of them finality timers; %d finalities recorded by the seed", len(due), len(timers), len(before))
	// Each timer is one the domain agrees with: issued, window passed, no
	// objection open, finality not recorded.
	for _, it := range timers {
		if _, err := g.app.Config().SKPs.Read(ctx, authz.SystemDeadlines(), it.SKPID, skp.AsOf{}); err == nil {
			t.Errorf("the system may read SKP %s: it is authorised to record finality only", it.SKPID)
		}
		if before[domain.SKPStream(it.SKPID)] != 0 {
			t.Errorf("a timer for %s, whose finality is recorded", it.SKPID)
		}
	}

	// Round 1 crashes after every act, before any firing is recorded.
	sch, _ := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: failingMarks{b}, Finalise: g.app.FinaliseAsSystem, Now: g.clock.Now})
	if _, err := sch.Tick(ctx); err == nil {
		t.Fatal("the crash went unreported")
	}
	if _, n := g.finalisations(t); n != len(timers) {
		t.Fatalf("%d finalities recorded by the first round, want %d", n, len(timers))
	}
	b.Close()

	// Restart: the acts are repeated, and append nothing.
	b, err = deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sink = deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: g.store}, 0, deadlines.DefaultSettings(pol)))
	sch, _ = deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: g.app.FinaliseAsSystem, Now: g.clock.Now})
	if _, err := sch.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	after, n := g.finalisations(t)
	if n != len(timers) {
		t.Fatalf("%d finalities by the system after the repeat, want %d", n, len(timers))
	}
	for s, c := range after {
		if c != 1 {
			t.Errorf("%s holds %d finalities", s, c)
		}
	}
	// The finalities reach the process manager: no timer is left.
	g.catchUp(t, sink)
	g.clock.Advance(24 * time.Hour)
	due, _ = b.Due(ctx, g.clock.Now(), 10_000)
	for _, it := range due {
		if it.Kind == deadlines.FinaliseEvaluation {
			t.Errorf("a timer is left after finality: %+v", it)
		}
	}
	if _, err := sch.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n2 := g.finalisations(t); n2 != n {
		t.Errorf("%d finalities after another round, want %d", n2, n)
	}
	// The idempotency record lost (a new store) changes nothing either:
	// the derived event ID is found in the stream.
	if err := g.app.FinaliseAsSystem(ctx, timers[0]); err != nil {
		t.Fatalf("a repeated finality: %v", err)
	}
	if _, n3 := g.finalisations(t); n3 != n {
		t.Errorf("a repeated finality appended: %d, want %d", n3, n)
	}
	if err := g.app.FinaliseAsSystem(ctx, deadlines.Item{Kind: deadlines.RatePeriod}); err == nil {
		t.Error("a rating item was finalised")
	}
}

// The projector's finality (deadlines.Finaliser, on the domain service
// without the application layer): the event's ID is the firing's, each
// elapsed window is finalised once by the system, however often fired.
func TestFinaliserWithoutTheApplicationLayer(t *testing.T) {
	ctx := context.Background()
	g := newAgency(t)
	b, err := deadlinestore.OpenBolt(filepath.Join(t.TempDir(), "deadlines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sink := deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: g.store}, 0, deadlines.DefaultSettings(policy.Default())))
	g.catchUp(t, sink)
	fin := deadlines.Finaliser(g.app.Config().SKPs)
	due, _ := b.Due(ctx, g.clock.Now(), 10_000)
	fired := 0
	for _, it := range due {
		if it.Kind != deadlines.FinaliseEvaluation {
			if err := fin(ctx, it); err == nil {
				t.Errorf("a %s item was finalised", it.Kind)
			}
			continue
		}
		for range 2 {
			if err := fin(ctx, it); err != nil {
				t.Fatalf("finalise %s: %v", it.SKPID, err)
			}
		}
		fired++
		found := false
		for ev, err := range g.store.ReadStream(ctx, domain.SKPStream(it.SKPID), eventstore.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID.String() == it.FireID() {
				found = ev.Type == "skp.evaluation_finalised.v1" && ev.Actor.ID == authz.SystemDeadlinesID
			}
		}
		if !found {
			t.Errorf("%s: no finality under the firing's ID", it.SKPID)
		}
	}
	perStream, bySystem := g.finalisations(t)
	if fired == 0 || bySystem != fired {
		t.Fatalf("%d finalities by the system for %d timers", bySystem, fired)
	}
	for s, n := range perStream {
		if n != 1 {
			t.Errorf("%s holds %d finalities", s, n)
		}
	}
}
