package deadlinestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

const (
	nipE = "199001012015031001"
	nipA = "198502022010012002"
	nipS = "197503032000031003"
)

var wib = policy.WIB

// backend opens a Backend over the same durable state each time it is
// called (a restart); the returned func closes it.
type opener func(t *testing.T) (deadlines.Backend, func())

func boltOpener(t *testing.T) opener {
	path := filepath.Join(t.TempDir(), "deadlines.db")
	return func(t *testing.T) (deadlines.Backend, func()) {
		b, err := deadlinestore.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		return b, func() { b.Close() }
	}
}

func pgOpener(t *testing.T) opener {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_REQUIRE_INTEGRATION=1 but KINERJA_TEST_POSTGRES_URL is not set")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	schema := "deadlines_test_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
	})
	if _, err := deadlinestore.OpenPostgres(ctx, pool, schema); err == nil {
		t.Fatal("OpenPostgres of an unmigrated schema succeeded")
	}
	if _, err := deadlinestore.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	if applied, err := deadlinestore.Migrate(ctx, pool, schema); err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v", applied, err)
	}
	if _, err := deadlinestore.Migrate(ctx, pool, "Bad-Name"); !errors.Is(err, deadlinestore.ErrBadSchemaName) {
		t.Errorf("Migrate(Bad-Name) = %v", err)
	}
	return func(t *testing.T) (deadlines.Backend, func()) {
		b, err := deadlinestore.OpenPostgres(ctx, pool, schema)
		if err != nil {
			t.Fatal(err)
		}
		return b, func() {}
	}
}

func eachBackend(t *testing.T, run func(t *testing.T, open opener)) {
	t.Run("bolt", func(t *testing.T) { run(t, boltOpener(t)) })
	t.Run("postgres", func(t *testing.T) { run(t, pgOpener(t)) })
}

// stream builds the events of one SKP stream as the runner delivers them.
type stream struct {
	name   string
	events []projections.Event
	pos    *eventstore.Position
}

func (s *stream) add(at time.Time, actor string, e domain.Event) projections.Event {
	*s.pos++
	ev := projections.Event{Event: eventstore.Event{
		EventData: eventstore.EventData{ID: uuid.New(), Type: e.EventType(), SchemaVersion: 1, OccurredAt: at, Actor: eventstore.Actor{ID: actor}},
		Stream:    s.name, Revision: uint64(len(s.events)), Position: *s.pos, RecordedAt: at,
	}, Payload: e}
	s.events = append(s.events, ev)
	return ev
}

// history serves the streams' pasts to the projection's cache.
type history map[string]*stream

func (h history) Stream(_ context.Context, name string, upto uint64) ([]projections.Event, error) {
	s := h[name]
	if s == nil {
		return nil, nil
	}
	return s.events[:min(int(upto)+1, len(s.events))], nil
}

var good = skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Derive(rating.MeetsExpectation, rating.MeetsExpectation)}

// issuedSKP appends to s an SKP of nip whose annual evaluation was
// delivered at delivered.
func issuedSKP(s *stream, nip string, pol policy.Policy, delivered time.Time) []projections.Event {
	est := time.Date(2026, 1, 20, 9, 0, 0, 0, wib)
	id := strings.TrimPrefix(s.name, domain.SKPStreamPrefix)
	d := pol.ObjectionDeadline(delivered)
	return []projections.Event{
		s.add(est.Add(-2*time.Hour), nip, skp.Drafted{SKPID: id, NIP: nip, Year: 2026, Sequence: 1, Approach: "KUANTITATIF",
			PeriodStart: calendar.MustNew(2026, 1, 1), PeriodEnd: calendar.MustNew(2026, 12, 31),
			Employee: skp.Snapshot{Name: "Pegawai " + nip[:4], UnitID: "DINKES"}, AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS,
			Cadence: period.Quarterly, PolicyVersion: "test"}),
		s.add(est.Add(-time.Hour), nip, skp.Submitted{Version: 1}),
		s.add(est, nipA, skp.Established{Version: 1, Deadline: calendar.MustNew(2026, 1, 31), AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, AppraiserSignedAt: est}),
		s.add(delivered.Add(-time.Hour), nipA, skp.RatingAssigned{Period: "2026", Scores: good, Rationale: "ok", AppraiserNIP: nipA}),
		s.add(delivered, nipA, skp.EvaluationIssued{Period: "2026", Scores: good, DeliveredAt: delivered, ObjectionDeadline: &d, AppraiserNIP: nipA}),
	}
}

// finaliser is a FinaliseFunc that records finality in a ledger keyed by
// the firing's ID, as the real one (derived event IDs) does, and counts
// its calls.
type finaliser struct {
	mu     sync.Mutex
	calls  int
	ledger map[string]deadlines.Item
	fail   error
}

func (f *finaliser) finalise(_ context.Context, it deadlines.Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return f.fail
	}
	if f.ledger == nil {
		f.ledger = map[string]deadlines.Item{}
	}
	f.ledger[it.FireID()] = it
	return nil
}

// failingMarks fails MarkFired: a crash after the act, before its record.
type failingMarks struct{ deadlines.Backend }

func (failingMarks) MarkFired(context.Context, deadlines.Item, time.Time, *deadlines.OutboxMessage) (bool, error) {
	return false, errors.New("crashed before the firing was recorded")
}

func TestProcessManager(t *testing.T) {
	eachBackend(t, testProcessManager)
}

func testProcessManager(t *testing.T, open opener) {
	ctx := context.Background()
	pol := policy.Default()
	set := deadlines.DefaultSettings(pol)
	var pos eventstore.Position
	e1 := &stream{name: "skp-" + nipE + "-2026", pos: &pos}
	e2 := &stream{name: "skp-" + nipS + "-2026", pos: &pos}
	h := history{e1.name: e1, e2.name: e2}
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	deadline := pol.ObjectionDeadline(delivered)
	batch := append(issuedSKP(e1, nipE, pol, delivered), issuedSKP(e2, nipS, pol, delivered.Add(24*time.Hour))...)

	b, closeB := open(t)
	sink := deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
	if sink.Name() != deadlines.Name || sink.Policy() != projections.Stop {
		t.Fatalf("sink %s with policy %v", sink.Name(), sink.Policy())
	}
	// A batch that fails half-way keeps nothing: no items, no checkpoint.
	broken := projections.Event{Event: eventstore.Event{EventData: eventstore.EventData{ID: uuid.New(), Type: "skp.mystery.v1"}, Stream: e1.name, Revision: 99, Position: pos + 1}}
	err := sink.Apply(ctx, append(append([]projections.Event{}, batch...), broken)...)
	if !projections.IsPoison(err) {
		t.Fatalf("an undecodable SKP event: %v, want poison", err)
	}
	if cp, _ := sink.Checkpoint(ctx); cp != 0 {
		t.Fatalf("checkpoint %d after a failed batch", cp)
	}
	if items, _ := b.ForRecipient(ctx, nipA); len(items) != 0 {
		t.Fatalf("a failed batch left items: %v", items)
	}
	if err := sink.Apply(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if cp, _ := sink.Checkpoint(ctx); cp != pos {
		t.Fatalf("checkpoint %d, want %d", cp, pos)
	}
	// A redelivery changes nothing.
	if err := sink.Apply(ctx, batch[:3]...); err != nil {
		t.Fatal(err)
	}
	win, err := b.ForRecipient(ctx, nipE)
	if err != nil || len(win) != 1 || win[0].Kind != deadlines.ObjectionWindow || !win[0].Due.Equal(deadline) {
		t.Fatalf("the employee's items: %+v, %v", win, err)
	}
	if rate, _ := b.ForRecipient(ctx, nipA); len(rate) != 0 {
		t.Fatalf("the appraiser waits after rating the year: %+v", rate)
	}

	// Nothing is due before the window closes; at its end the finality
	// of the first evaluation and every reminder then due.
	if due, _ := b.Due(ctx, deadline.Add(-time.Hour), 100); len(due) != 2 {
		// The employees' window reminders, three days before their ends.
		t.Fatalf("due before the window closed: %d", len(due))
	}
	fin := &finaliser{}
	clock := deadline.Add(time.Second)
	newScheduler := func(b deadlines.Backend) *deadlines.Scheduler {
		s, err := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: fin.finalise, Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A crash between the act and its record: the act is repeated after
	// the restart, and (idempotent) recorded once.
	if _, err := newScheduler(failingMarks{b}).Tick(ctx); err == nil {
		t.Fatal("a failed record went unreported")
	}
	if fin.calls != 1 || len(fin.ledger) != 1 {
		t.Fatalf("finalise called %d times, ledger %d", fin.calls, len(fin.ledger))
	}
	closeB()

	b, closeB = open(t) // restart
	defer func() { closeB() }()
	n, err := newScheduler(b).Tick(ctx)
	if err != nil || n != 3 {
		t.Fatalf("first round after the restart fired %d: %v", n, err)
	}
	if fin.calls != 2 || len(fin.ledger) != 1 {
		t.Fatalf("finalise called %d times, ledger %d: want the one act repeated once", fin.calls, len(fin.ledger))
	}
	for _, it := range fin.ledger {
		if it.SKPID != strings.TrimPrefix(e1.name, "skp-") || it.Period != "2026" || !it.FireAt.Equal(deadline.Add(time.Second)) {
			t.Errorf("finalised %+v", it)
		}
	}
	out, err := b.Outbox(ctx, 100)
	if err != nil || len(out) != 2 {
		t.Fatalf("outbox holds %d reminders: %v", len(out), err)
	}
	// Stop and restart: nothing fires twice.
	closeB()
	b, closeB = open(t)
	if n, err := newScheduler(b).Tick(ctx); err != nil || n != 0 {
		t.Fatalf("a restarted scheduler fired %d again: %v", n, err)
	}
	if fin.calls != 2 {
		t.Fatalf("finalise called %d times", fin.calls)
	}
	if ok, _ := b.Fired(ctx, out[0].ID); !ok {
		t.Error("a reminder in the outbox is not recorded as fired")
	}
	// A rebuild (reset and re-apply) keeps what fired.
	sink = deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
	if err := sink.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, _ := sink.Checkpoint(ctx); cp != 0 {
		t.Fatalf("checkpoint %d after a reset", cp)
	}
	if err := sink.Apply(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if n, _ := newScheduler(b).Tick(ctx); n != 0 || fin.calls != 2 {
		t.Fatalf("after a rebuild %d fired again (finalise %d calls)", n, fin.calls)
	}

	// The finality recorded: its item goes; an objection filed on the
	// second SKP: the window item goes, the superior's decision comes.
	fe := e1.add(clock, "system:deadlines", skp.EvaluationFinalised{Period: "2026", Reason: skp.WindowElapsed})
	d2 := pol.ObjectionDeadline(delivered.Add(24 * time.Hour))
	of := e2.add(delivered.Add(48*time.Hour), nipS, skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", FiledAt: delivered.Add(48 * time.Hour), AddressedTo: nipA, AppraiserNIP: nipA, Deadline: d2})
	if err := sink.Apply(ctx, fe, of); err != nil {
		t.Fatal(err)
	}
	if win, _ := b.ForRecipient(ctx, nipE); len(win) != 0 {
		t.Errorf("the employee still waits after finality: %+v", win)
	}
	if sup, _ := b.ForRecipient(ctx, nipS); len(sup) != 0 {
		t.Errorf("the objecting employee still has a window: %+v", sup)
	}
	found := false
	items, _ := b.ForRecipient(ctx, nipA)
	for _, it := range items {
		found = found || (it.Kind == deadlines.DecideObjection && it.ObjectionID == "obj-1")
	}
	if !found {
		t.Error("no decision item for the objection's addressee")
	}
	clock = clock.Add(30 * 24 * time.Hour)
	if _, err := newScheduler(b).Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if fin.calls != 2 {
		t.Errorf("the objected evaluation was finalised (finalise %d calls)", fin.calls)
	}

	// The outbox: published messages go, in order.
	out, _ = b.Outbox(ctx, 100)
	if len(out) < 3 {
		t.Fatalf("outbox holds %d", len(out))
	}
	if err := b.Published(ctx, []string{out[0].ID, out[1].ID}); err != nil {
		t.Fatal(err)
	}
	rest, _ := b.Outbox(ctx, 100)
	if len(rest) != len(out)-2 || rest[0].ID != out[2].ID {
		t.Errorf("outbox after publishing two: %d, first %s", len(rest), rest[0].ID)
	}
}

// A failing act is retried in the next round, not recorded.
func TestSchedulerRetriesAFailedAct(t *testing.T) {
	ctx := context.Background()
	b, err := deadlinestore.OpenBolt(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pol := policy.Default()
	var pos eventstore.Position
	s := &stream{name: "skp-" + nipE + "-2026", pos: &pos}
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	if err := deadlines.NewSink(b, deadlines.NewProjection(history{s.name: s}, 0, deadlines.DefaultSettings(pol))).Apply(ctx, issuedSKP(s, nipE, pol, delivered)...); err != nil {
		t.Fatal(err)
	}
	fin := &finaliser{fail: errors.New("store down")}
	now := pol.ObjectionDeadline(delivered).Add(time.Second)
	sch, _ := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: fin.finalise, Now: func() time.Time { return now }})
	if _, err := sch.Tick(ctx); err == nil {
		t.Fatal("a failed finality went unreported")
	}
	if st := sch.Stats(); st.Failed != 1 || st.LastError == "" {
		t.Errorf("stats %+v", st)
	}
	fin.fail = nil
	if _, err := sch.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if len(fin.ledger) != 1 || sch.Stats().Finalised != 1 {
		t.Errorf("ledger %d, stats %+v", len(fin.ledger), sch.Stats())
	}
	ready := false
	sch2, _ := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: fin.finalise, Now: func() time.Time { return now.Add(time.Hour) }, Ready: func() bool { return ready }})
	if n, _ := sch2.Tick(ctx); n != 0 {
		t.Errorf("a scheduler whose projection is not ready fired %d", n)
	}
}

// Two processes on one PostgreSQL (two kinerjad with in-process
// projections, or a kinerjad and a projector): they take turns on the
// checkpoint, and each item fires once between them.
func TestTwoProcessesOnePostgres(t *testing.T) {
	open := pgOpener(t)
	ctx := context.Background()
	pol := policy.Default()
	var pos eventstore.Position
	h := history{}
	var batch []projections.Event
	for i, nip := range []string{nipE, nipS, "199303032019032003", "199106062016062006"} {
		s := &stream{name: "skp-" + nip + "-2026", pos: &pos}
		h[s.name] = s
		batch = append(batch, issuedSKP(s, nip, pol, time.Date(2027, 1, 4+i, 10, 0, 0, 0, wib))...)
	}
	b1, _ := open(t)
	b2, _ := open(t)
	var wg sync.WaitGroup
	for _, b := range []deadlines.Backend{b1, b2} {
		sink := deadlines.NewSink(b, deadlines.NewProjection(h, 0, deadlines.DefaultSettings(pol)))
		wg.Go(func() {
			for i := 0; i < len(batch); i += 3 {
				if err := sink.Apply(ctx, batch[i:min(i+3, len(batch))]...); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if cp, _ := b1.Checkpoint(ctx); cp != pos {
		t.Fatalf("checkpoint %d, want %d", cp, pos)
	}
	now := time.Date(2027, 3, 1, 0, 0, 0, 0, wib)
	due, _ := b1.Due(ctx, now, 100)
	if len(due) != 8 { // four windows' reminders and four finalities
		t.Fatalf("%d items due", len(due))
	}
	fin := &finaliser{}
	var fired [2]int
	for i, b := range []deadlines.Backend{b1, b2} {
		sch, _ := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: fin.finalise, Now: func() time.Time { return now }})
		wg.Go(func() {
			n, err := sch.Tick(ctx)
			if err != nil {
				t.Error(err)
			}
			fired[i] = n
		})
	}
	wg.Wait()
	if fired[0]+fired[1] != len(due) {
		t.Errorf("the two schedulers recorded %d and %d firings of %d items", fired[0], fired[1], len(due))
	}
	if out, _ := b1.Outbox(ctx, 100); len(out) != 4 {
		t.Errorf("outbox holds %d reminders, want 4", len(out))
	}
	if len(fin.ledger) != 4 {
		t.Errorf("%d evaluations finalised, want 4 (acts repeated: %d calls)", len(fin.ledger), fin.calls)
	}
}

// A store restored from an older copy (head before the checkpoint): the
// process manager starts again from the first event, what fired stays
// recorded.
func TestResetIfAhead(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		b, _ := open(t)
		pol := policy.Default()
		var pos eventstore.Position
		s := &stream{name: "skp-" + nipE + "-2026", pos: &pos}
		if err := deadlines.NewSink(b, deadlines.NewProjection(history{s.name: s}, 0, deadlines.DefaultSettings(pol))).Apply(ctx,
			issuedSKP(s, nipE, pol, time.Date(2027, 1, 4, 10, 0, 0, 0, wib))...); err != nil {
			t.Fatal(err)
		}
		due, _ := b.Due(ctx, time.Date(2027, 3, 1, 0, 0, 0, 0, wib), 10)
		if _, err := b.MarkFired(ctx, due[0], time.Now(), nil); err != nil {
			t.Fatal(err)
		}
		if reset, err := deadlines.ResetIfAhead(ctx, b, pos); reset || err != nil {
			t.Fatalf("reset at the head: %v, %v", reset, err)
		}
		if reset, err := deadlines.ResetIfAhead(ctx, b, pos-2); !reset || err != nil {
			t.Fatalf("no reset behind the checkpoint: %v, %v", reset, err)
		}
		if cp, _ := b.Checkpoint(ctx); cp != 0 {
			t.Errorf("checkpoint %d after the reset", cp)
		}
		if ok, _ := b.Fired(ctx, due[0].FireID()); !ok {
			t.Error("the reset forgot what fired")
		}
	})
}

// Overdue notices (issue 11 follow-up): after the deadline of an item that
// still waits, notices go out once each, across restarts and a rebuild;
// a scheduler that was down sends only the latest notice due; a notice
// not yet due goes away with its item. On both backends.
func TestOverdueNotices(t *testing.T) {
	eachBackend(t, testOverdueNotices)
}

func testOverdueNotices(t *testing.T, open opener) {
	ctx := context.Background()
	pol := policy.Default()
	set := deadlines.DefaultSettings(pol) // 3 notices, weekly
	var pos eventstore.Position
	e1 := &stream{name: "skp-" + nipE + "-2026", pos: &pos}
	h := history{e1.name: e1}
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	filed := delivered.Add(48 * time.Hour)
	batch := append(issuedSKP(e1, nipE, pol, delivered),
		e1.add(filed, nipE, skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", FiledAt: filed, AddressedTo: nipS, AppraiserNIP: nipA, Deadline: pol.ObjectionDeadline(delivered)}))

	b, closeB := open(t)
	sink := deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
	if err := sink.Apply(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	inbox, err := b.ForRecipient(ctx, nipS)
	if err != nil || len(inbox) != 1 || inbox[0].Kind != deadlines.DecideObjection || inbox[0].Notice != 0 {
		t.Fatalf("the superior's inbox lists %+v (%v): want the decision alone, not its notices", inbox, err)
	}
	due := inbox[0].Due
	var clock time.Time
	tick := func(b deadlines.Backend) int {
		t.Helper()
		s, err := deadlines.NewScheduler(deadlines.SchedulerConfig{Backend: b, Finalise: (&finaliser{}).finalise, Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	sent := func(b deadlines.Backend) []deadlines.Reminder {
		t.Helper()
		out, err := b.Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var rs []deadlines.Reminder
		for _, m := range out {
			var r deadlines.Reminder
			if err := json.Unmarshal(m.Body, &r); err != nil {
				t.Fatal(err)
			}
			if r.Item.Kind == deadlines.DecideObjection {
				rs = append(rs, r)
			}
		}
		return rs
	}

	clock = due.Add(-3 * 24 * time.Hour) // the reminder
	tick(b)
	clock = due // the deadline's last second: no notice yet
	tick(b)
	if rs := sent(b); len(rs) != 1 || rs[0].Stage != deadlines.StageReminder || rs[0].Overdue {
		t.Fatalf("before the deadline passed: %+v", rs)
	}
	clock = due.Add(time.Second) // the first notice
	if n := tick(b); n != 1 {
		t.Fatalf("a second after the deadline %d fired", n)
	}
	closeB()
	b, closeB = open(t) // restart
	defer func() { closeB() }()
	if n := tick(b); n != 0 {
		t.Fatalf("a restart fired %d again", n)
	}
	// A rebuild keeps what fired.
	sink = deadlines.NewSink(b, deadlines.NewProjection(h, 0, set))
	if err := sink.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sink.Apply(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if n := tick(b); n != 0 {
		t.Fatalf("a rebuild fired %d again", n)
	}
	// Down for three weeks: notices 2 and 3 are both due; only 3 goes out.
	clock = due.Add(time.Second).AddDate(0, 0, 21)
	if n := tick(b); n != 1 {
		t.Fatalf("after three weeks down %d fired, want the latest notice only", n)
	}
	rs := sent(b)
	if len(rs) != 3 {
		t.Fatalf("%d messages: %+v", len(rs), rs)
	}
	for i, want := range []int{0, 1, 3} {
		r := rs[i]
		wantStage := deadlines.StageOverdueNotice
		if want == 0 {
			wantStage = deadlines.StageReminder
		}
		if r.Item.Notice != want || r.Stage != wantStage || r.Overdue != (want > 0) || r.Item.Recipient != nipS || r.ReminderID != r.Item.FireID() {
			t.Errorf("message %d: notice %d stage %s overdue %v to %s, want notice %d", i, r.Item.Notice, r.Stage, r.Overdue, r.Item.Recipient, want)
		}
	}
	// At most three: nothing more, however long it waits.
	clock = clock.AddDate(0, 3, 0)
	if n := tick(b); n != 0 {
		t.Fatalf("%d fired after the last notice", n)
	}
}

// A decision made before the next notice takes the notice with it.
func TestOverdueNoticeGoesWithItsItem(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		pol := policy.Default()
		var pos eventstore.Position
		e1 := &stream{name: "skp-" + nipE + "-2026", pos: &pos}
		h := history{e1.name: e1}
		delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
		filed := delivered.Add(48 * time.Hour)
		batch := append(issuedSKP(e1, nipE, pol, delivered),
			e1.add(filed, nipE, skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", FiledAt: filed, AddressedTo: nipS, AppraiserNIP: nipA, Deadline: pol.ObjectionDeadline(delivered)}))
		b, closeB := open(t)
		defer closeB()
		sink := deadlines.NewSink(b, deadlines.NewProjection(h, 0, deadlines.DefaultSettings(pol)))
		if err := sink.Apply(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		inbox, _ := b.ForRecipient(ctx, nipS)
		if len(inbox) != 1 {
			t.Fatalf("inbox %+v", inbox)
		}
		decided := inbox[0].Due.Add(time.Hour)
		if err := sink.Apply(ctx, e1.add(decided, nipS, skp.ObjectionDecided{ObjectionID: "obj-1", Period: "2026", Outcome: skp.Upheld, DecisionText: "tetap", Previous: good, Result: good, Final: true})); err != nil {
			t.Fatal(err)
		}
		due, err := b.Due(ctx, inbox[0].Due.AddDate(1, 0, 0), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range due {
			if it.Kind == deadlines.DecideObjection {
				t.Errorf("a decided objection still has %s due", it.Key)
			}
		}
	})
}
