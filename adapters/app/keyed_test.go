package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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

// TestKeyedLogRace covers the second line of defence: the events were
// appended after the repeat loaded the stream, so the store refuses the
// repeated IDs and the command stops with AppliedError.
func TestKeyedLogRace(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ids := &keyedIDs{seed: sum("test")}
	log := keyedLog{inner: eventlog.New(store), ids: ids}
	ev := func(name string) []domain.NewEvent {
		return []domain.NewEvent{{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
			Event: orgunit.Registered{UnitID: "R", Name: name}}}
	}
	if _, err := log.Append(context.Background(), "unit-R", domain.NoStream, ev("first")); err != nil {
		t.Fatal(err)
	}
	// A second attempt decided on a stale load (NoStream) with other
	// content but the same derived IDs.
	_, err = log.Append(context.Background(), "unit-R", domain.NoStream, ev("second"))
	var applied *AppliedError
	if !errors.As(err, &applied) || applied.Stream != "unit-R" || !errors.Is(err, ErrApplied) {
		t.Fatalf("Append of repeated IDs = %v, want AppliedError", err)
	}
	if _, _, _, err := log.Load(context.Background(), "unit-R"); !errors.As(err, &applied) {
		t.Fatalf("Load of a stream with the request's events = %v, want AppliedError", err)
	}
	n := 0
	for _, err := range store.ReadStream(context.Background(), "unit-R", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("appended %d events, want 1", n)
	}
}

// memIdem is an in-memory IdempotencyStore for the unit tests.
type memIdem struct {
	mu   sync.Mutex
	recs map[string][]byte
	puts int
}

func (m *memIdem) Get(_ context.Context, key string, _ time.Time) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.recs[key]
	return b, ok, nil
}

func (m *memIdem) Put(_ context.Context, key string, rec []byte, _, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string][]byte{}
	}
	if _, ok := m.recs[key]; !ok {
		m.recs[key] = rec
	}
	m.puts++
	return nil
}

func (m *memIdem) DeleteExpired(context.Context, time.Time) (int, error) { return 0, nil }

func TestKeyed(t *testing.T) {
	idem := &memIdem{}
	cfg := Config{Idempotency: idem}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	ctx := context.Background()
	runs := 0
	run := func(status int, keep bool) func(context.Context) (Answer, bool) {
		return func(context.Context) (Answer, bool) {
			runs++
			return Answer{Status: status, Body: []byte("first"), Header: map[string]string{"Location": "/x"}}, keep
		}
	}
	k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}

	// Not kept (a 5xx, a retryable refusal, a form with problems): the
	// repeat runs again.
	if _, replayed, err := a.Keyed(ctx, k, run(500, false)); err != nil || replayed || idem.puts != 0 {
		t.Fatalf("unkept run: replayed %v, %v, %d puts", replayed, err, idem.puts)
	}
	// Kept: the repeat gets the first answer without running.
	a.Keyed(ctx, k, run(201, true))
	ans, replayed, err := a.Keyed(ctx, k, run(201, true))
	if err != nil || !replayed || runs != 2 || ans.Status != 201 || string(ans.Body) != "first" || ans.Header["Location"] != "/x" {
		t.Fatalf("repeat = %+v, replayed %v, %v, %d runs", ans, replayed, err, runs)
	}
	// The same key with another request; another caller's same key.
	other := k
	other.Fingerprint = Fingerprint("POST", "/v1/units", `{"id":"B"}`)
	if _, _, err := a.Keyed(ctx, other, run(201, true)); !errors.Is(err, ErrKeyReused) {
		t.Errorf("key reused with another request = %v, want ErrKeyReused", err)
	}
	bob := k
	bob.Caller = "bob"
	if _, replayed, err := a.Keyed(ctx, bob, run(201, true)); err != nil || replayed {
		t.Errorf("bob's key = replayed %v, %v: keys are scoped to the caller", replayed, err)
	}
	// Keys: 1 to 200 printable ASCII characters.
	for _, bad := range []string{"", strings.Repeat("k", MaxKeyLen+1), "k\x00", "kunci-é"} {
		bk := k
		bk.Key = bad
		if _, _, err := a.Keyed(ctx, bk, run(201, true)); !errors.Is(err, domain.ErrValidation) {
			t.Errorf("key %q = %v, want a validation error", bad, err)
		}
	}
}

// A keyed run's services derive their IDs from (caller, key,
// fingerprint): the same request always appends the same event IDs, and
// another request other ones.
func TestKeyedIDs(t *testing.T) {
	h := &domain.Handler{NewID: uuid.New}
	units := &orgunit.Service{Handler: h}
	cfg := Config{Idempotency: &memIdem{}, Units: units, Employees: &employee.Service{Handler: h}, SKPs: &skp.Service{Handler: h},
		Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	idsOf := func(k Key) (first, second uuid.UUID) {
		a.Keyed(context.Background(), k, func(ctx context.Context) (Answer, bool) {
			svc := a.Services(ctx)
			first, second = svc.Units.Handler.NewID(), svc.SKPs.Handler.NewID()
			return Answer{}, false
		})
		return
	}
	k := Key{Caller: "alice", Key: "k", Fingerprint: "f"}
	a1, a2 := idsOf(k)
	b1, b2 := idsOf(k)
	if a1 != b1 || a2 != b2 || a1 == a2 {
		t.Errorf("the same request derived %v %v, then %v %v", a1, a2, b1, b2)
	}
	k.Fingerprint = "g"
	if c1, _ := idsOf(k); c1 == a1 {
		t.Error("another request derived the same IDs")
	}
	if a.Services(context.Background()).Units != units {
		t.Error("outside a keyed run the services are not the configured ones")
	}
}

// memClaimer is a memIdem that can claim a key with a command's events:
// the fake "event store" commits the claim when the run calls appendWith.
type memClaimer struct {
	memIdem
	completes int
}

type claimKey struct{}

type memClaim struct {
	key       string
	rec       []byte
	committed bool
}

func (m *memClaimer) Claim(ctx context.Context, key string, claim []byte, _, _ time.Time) (context.Context, func() bool) {
	c := &memClaim{key: key, rec: claim}
	return context.WithValue(ctx, claimKey{}, c), func() bool { return c.committed }
}

func (m *memClaimer) Complete(_ context.Context, key string, claim, rec []byte, _, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !bytes.Equal(m.recs[key], claim) {
		return false, nil
	}
	m.recs[key] = rec
	m.completes++
	return true, nil
}

// appendWith stands for an append made under ctx: it commits the claim.
func (m *memClaimer) appendWith(ctx context.Context) {
	c := ctx.Value(claimKey{}).(*memClaim)
	m.Put(ctx, c.key, c.rec, time.Time{}, time.Time{})
	m.mu.Lock()
	m.puts-- // counted as the claim, not as a Put
	m.mu.Unlock()
	c.committed = true
}

// TestKeyedClaim: with an IdempotencyClaimer a command that appends
// completes its claim instead of a second Put; a claim whose answer was
// lost still refuses the key with another request, and lets the same
// request run again (its events then recognise it); a command that appends
// nothing stores its answer with Put.
func TestKeyedClaim(t *testing.T) {
	idem := &memClaimer{}
	cfg := Config{Idempotency: idem}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	ctx := context.Background()
	k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/skps/1/feedback", "{}")}
	runs := 0
	appending := func(ctx context.Context) (Answer, bool) {
		runs++
		idem.appendWith(ctx)
		return Answer{Status: 201, Body: []byte("first")}, true
	}
	if _, replayed, err := a.Keyed(ctx, k, appending); err != nil || replayed || idem.completes != 1 || idem.puts != 0 {
		t.Fatalf("first: replayed %v, %v, %d completes, %d puts", replayed, err, idem.completes, idem.puts)
	}
	ans, replayed, err := a.Keyed(ctx, k, appending)
	if err != nil || !replayed || runs != 1 || ans.Status != 201 || string(ans.Body) != "first" {
		t.Fatalf("repeat = %+v, replayed %v, %v, %d runs", ans, replayed, err, runs)
	}

	// The answer was lost (a crash before Complete was flushed): only the
	// claim is stored.
	k2 := k
	k2.Key = "k-2"
	lost := func(ctx context.Context) (Answer, bool) {
		idem.appendWith(ctx)
		return Answer{}, false // say, a 5xx after the append
	}
	if _, _, err := a.Keyed(ctx, k2, lost); err != nil {
		t.Fatal(err)
	}
	other := k2
	other.Fingerprint = Fingerprint("POST", "/v1/skps/2/feedback", "{}")
	if _, _, err := a.Keyed(ctx, other, appending); !errors.Is(err, ErrKeyReused) {
		t.Errorf("claimed key with another request = %v, want ErrKeyReused", err)
	}
	reran := false
	if _, replayed, err := a.Keyed(ctx, k2, func(context.Context) (Answer, bool) {
		reran = true
		return Answer{Status: 201, Body: []byte("reconstructed")}, false
	}); err != nil || replayed || !reran {
		t.Errorf("claimed key, same request: replayed %v, %v, ran %v; want it run again", replayed, err, reran)
	}

	// Nothing appended (a 4xx): no claim committed, the answer is Put.
	k3 := k
	k3.Key = "k-3"
	if _, _, err := a.Keyed(ctx, k3, func(context.Context) (Answer, bool) {
		return Answer{Status: 422, Body: []byte("no")}, true
	}); err != nil || idem.puts != 1 {
		t.Fatalf("4xx: %v, %d puts, want 1", err, idem.puts)
	}
	if ans, replayed, _ := a.Keyed(ctx, k3, appending); !replayed || ans.Status != 422 {
		t.Errorf("4xx repeat = %+v, replayed %v", ans, replayed)
	}
}

// sweepCounter is a memIdem that counts DeleteExpired calls.
type sweepCounter struct {
	memIdem
	sweeps atomic.Int32
	swept  chan struct{}
}

func (s *sweepCounter) DeleteExpired(ctx context.Context, _ time.Time) (int, error) {
	s.sweeps.Add(1)
	select {
	case s.swept <- struct{}{}:
	default:
	}
	return 0, ctx.Err()
}

// TestSweepIdempotency: the expired records are removed by the sweeper
// goroutine, at once and then every interval, and never inside a keyed
// request; the sweeper returns when its context ends.
func TestSweepIdempotency(t *testing.T) {
	idem := &sweepCounter{swept: make(chan struct{}, 1)}
	cfg := Config{Idempotency: idem}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	ctx := context.Background()
	for i := range 3 {
		k := Key{Caller: "alice", Key: fmt.Sprint("k-", i), Fingerprint: "f"}
		if _, _, err := a.Keyed(ctx, k, func(context.Context) (Answer, bool) { return Answer{Status: 201}, true }); err != nil {
			t.Fatal(err)
		}
	}
	if n := idem.sweeps.Load(); n != 0 {
		t.Fatalf("%d sweeps inside keyed requests; want 0 (the sweeper's job)", n)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.SweepIdempotency(sctx, 5*time.Millisecond)
	}()
	for range 3 {
		select {
		case <-idem.swept:
		case <-time.After(10 * time.Second):
			t.Fatalf("the sweeper swept %d times in 10 s; want one every 5 ms", idem.sweeps.Load())
		}
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sweeper did not return when its context ended")
	}
	n := idem.sweeps.Load()
	time.Sleep(20 * time.Millisecond)
	if idem.sweeps.Load() != n {
		t.Fatal("a sweep after the sweeper returned")
	}
}
