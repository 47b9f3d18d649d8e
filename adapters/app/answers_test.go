package app

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// gatedIdem is a boltstore.Idempotency whose writes wait for a gate, so
// that a test can hold an answer between its return and its write.
type gatedIdem struct {
	*boltstore.Idempotency
	gate   chan struct{} // closed: writes go through
	mu     sync.Mutex
	writes int // Put or PutMany calls that went through
}

func (g *gatedIdem) wait(ctx context.Context) error {
	select {
	case <-g.gate:
		g.mu.Lock()
		g.writes++
		g.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gatedIdem) Put(ctx context.Context, key string, rec []byte, now, exp time.Time) error {
	if err := g.wait(ctx); err != nil {
		return err
	}
	return g.Idempotency.Put(ctx, key, rec, now, exp)
}

func (g *gatedIdem) PutMany(ctx context.Context, now time.Time, keys []string, recs [][]byte, exps []time.Time) error {
	if err := g.wait(ctx); err != nil {
		return err
	}
	return g.Idempotency.PutMany(ctx, now, keys, recs, exps)
}

// TestKeyedAnswerInBackground: an answer whose events are committed is
// returned before its record is written (it used to wait for a second
// fsync); until it is written a repeat in this process gets it from
// memory, a reused key is still refused, and Close stores it. After a
// crash that lost it, the repeat of the same request records nothing
// twice. An answer without events (a 4xx) is durable when Keyed returns.
func TestKeyedAnswerInBackground(t *testing.T) {
	dir := t.TempDir()
	store, err := boltstore.Open(filepath.Join(dir, "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	idemFile, err := boltstore.OpenIdempotency(filepath.Join(dir, "idempotency.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idemFile.Close()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	newApp := func(idem IdempotencyStore) *App {
		h := &domain.Handler{Log: eventlog.New(store), NewID: uuid.New}
		cfg := Config{Idempotency: idem, Units: &orgunit.Service{Handler: h}, Employees: &employee.Service{Handler: h},
			SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}, Now: func() time.Time { return now },
			IdempotencyExclusive: true}
		cfg.setDefaults()
		return &App{cfg: cfg}
	}
	ctx := context.Background()
	runs := 0
	// register appends a unit's first event through the keyed services,
	// as a command does; a repeat of an applied request answers as the
	// API does (reconstructed, not kept).
	register := func(a *App, unit string) func(context.Context) (Answer, bool) {
		return func(ctx context.Context) (Answer, bool) {
			runs++
			ev := domain.NewEvent{Meta: domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
				Event: orgunit.Registered{UnitID: unit, Name: "Biro " + unit}}
			_, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-"+unit, domain.NoStream, []domain.NewEvent{ev})
			if errors.Is(err, ErrApplied) {
				return Answer{Status: 200, Body: []byte("reconstructed")}, false
			}
			if err != nil {
				t.Errorf("append: %v", err)
				return Answer{Status: 500}, false
			}
			return Answer{Status: 201, Body: []byte("first " + unit)}, true
		}
	}
	keyed := func(a *App, k Key, run func(context.Context) (Answer, bool)) (Answer, bool, error) {
		type result struct {
			ans      Answer
			replayed bool
			err      error
		}
		c := make(chan result, 1)
		go func() {
			ans, replayed, err := a.Keyed(ctx, k, run)
			c <- result{ans, replayed, err}
		}()
		select {
		case r := <-c:
			return r.ans, r.replayed, r.err
		case <-time.After(10 * time.Second):
			t.Fatal("Keyed waited for the answer's write")
			return Answer{}, false, nil
		}
	}
	events := func(unit string) int {
		n := 0
		for _, err := range store.ReadStream(ctx, "unit-"+unit, eventstore.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	stored := func(k Key) (keyRecord, bool) {
		s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
		raw, ok, err := idemFile.Get(ctx, hexKey(s), now)
		if err != nil {
			t.Fatal(err)
		}
		var rec keyRecord
		if ok {
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatal(err)
			}
		}
		return rec, ok
	}

	// 1. The answer is returned while its write waits at the gate.
	g := &gatedIdem{Idempotency: idemFile, gate: make(chan struct{})}
	a := newApp(g)
	k := Key{Caller: "hr", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", `{"id":"A"}`)}
	if ans, replayed, err := keyed(a, k, register(a, "A")); err != nil || replayed || ans.Status != 201 {
		t.Fatalf("first = %+v, replayed %v, %v", ans, replayed, err)
	}
	// A double submit meanwhile gets the same answer, from memory.
	ans, replayed, err := keyed(a, k, register(a, "A"))
	if err != nil || !replayed || ans.Status != 201 || string(ans.Body) != "first A" || runs != 1 {
		t.Fatalf("repeat before the write = %+v, replayed %v, %v, %d runs", ans, replayed, err, runs)
	}
	other := k
	other.Fingerprint = Fingerprint("POST", "/v1/units", `{"id":"B"}`)
	if _, _, err := keyed(a, other, register(a, "B")); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("key reused before the write = %v, want ErrKeyReused", err)
	}
	if _, ok := stored(k); ok {
		t.Fatal("the record was written through the closed gate")
	}
	// 2. Close waits for the write; the record then survives a restart.
	close(g.gate)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if rec, ok := stored(k); !ok || rec.Status != 201 || string(rec.Body) != "first A" {
		t.Fatalf("after Close the record = %+v, %v", rec, ok)
	}
	restarted := newApp(idemFile)
	if ans, replayed, err := keyed(restarted, k, register(restarted, "A")); err != nil || !replayed || string(ans.Body) != "first A" || runs != 1 {
		t.Fatalf("repeat after a restart = %+v, replayed %v, %v, %d runs", ans, replayed, err, runs)
	}
	if n := events("A"); n != 1 {
		t.Fatalf("unit A has %d events, want 1", n)
	}
	// After Close an answer is written in its request.
	k3 := Key{Caller: "hr", Key: "k-3", Fingerprint: "f3"}
	if _, _, err := keyed(a, k3, register(a, "C")); err != nil {
		t.Fatal(err)
	}
	if _, ok := stored(k3); !ok {
		t.Error("after Close the answer was not written in its request")
	}

	// 3. A crash before the write: the process that answered is gone
	// (its write never passes the gate), a new one finds no record. The
	// repeat runs, meets its own events (the store takes the repeated
	// append of the same IDs as the one already made, or refuses it), and
	// appends nothing.
	stuck := &gatedIdem{Idempotency: idemFile, gate: make(chan struct{})}
	crashed := newApp(stuck)
	defer func() { close(stuck.gate); crashed.Close() }()
	k2 := Key{Caller: "hr", Key: "k-2", Fingerprint: "f2"}
	if _, _, err := keyed(crashed, k2, register(crashed, "D")); err != nil {
		t.Fatal(err)
	}
	after := newApp(idemFile)
	runs = 0
	ans, replayed, err = keyed(after, k2, register(after, "D"))
	if err != nil || replayed || (string(ans.Body) != "reconstructed" && string(ans.Body) != "first D") || runs != 1 {
		t.Fatalf("repeat after the crash = %+v, replayed %v, %v, %d runs", ans, replayed, err, runs)
	}
	if n := events("D"); n != 1 {
		t.Fatalf("unit D has %d events after the repeat, want 1", n)
	}

	// 4. No events (a 4xx): durable before Keyed returns.
	k4 := Key{Caller: "hr", Key: "k-4", Fingerprint: "f4"}
	fresh := newApp(idemFile)
	if _, _, err := keyed(fresh, k4, func(context.Context) (Answer, bool) { return Answer{Status: 422, Body: []byte("no")}, true }); err != nil {
		t.Fatal(err)
	}
	if rec, ok := stored(k4); !ok || rec.Status != 422 {
		t.Errorf("4xx record after Keyed = %+v, %v; want it written", rec, ok)
	}
}

func hexKey(s [32]byte) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 64)
	for i, c := range s {
		b[2*i], b[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(b)
}
