package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
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
)

// shortClaims are the claim durations of these tests: a command of
// longRun outlives both the patience and the staleness of a claim.
var shortClaims = claimTiming{renew: 100 * time.Millisecond, patience: 400 * time.Millisecond, stale: 800 * time.Millisecond, poll: 10 * time.Millisecond}

// countingClaimer counts the Completes of a claimer.
type countingClaimer struct {
	IdempotencyClaimer
	completes atomic.Int64
}

func (c *countingClaimer) Complete(ctx context.Context, key string, claim, rec []byte, now, expires time.Time) (bool, error) {
	c.completes.Add(1)
	return c.IdempotencyClaimer.Complete(ctx, key, claim, rec, now, expires)
}

// slowKeyed runs a keyed command on a that waits before (before) and after
// (after) its append, signalling appended, and answers body.
func slowKeyed(t *testing.T, a *App, k Key, unit string, before, after time.Duration, appended chan<- struct{}, body string) (Answer, bool, error) {
	return a.Keyed(context.Background(), k, func(ctx context.Context) (Answer, bool) {
		time.Sleep(before)
		if _, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-"+unit, domain.NoStream, []domain.NewEvent{{
			Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: time.Now()},
			Event: orgunit.Registered{UnitID: unit, Name: "Bappeda"}}}); err != nil {
			t.Error(err)
		}
		close(appended)
		time.Sleep(after)
		return Answer{Status: 201, Body: []byte(body)}, true
	})
}

// TestKeyedClaimRenewedOnPostgres: two kinerjad (two App instances) on one
// PostgreSQL. A command runs longer than a claim's staleness before its
// append and longer than a waiter's patience after it; a repeat of it sent
// to the other process meanwhile must wait for its answer and replay it,
// never take the live claim over and run the command again (two answers).
// Once the command returned, its claim is no longer renewed.
func TestKeyedClaimRenewedOnPostgres(t *testing.T) {
	url, schema := pgTestSchema(t, "app_renew_")
	a0, idem := pgKeyedApp(t, url, schema)
	a1, _ := pgKeyedApp(t, url, schema)
	counted := &countingClaimer{IdempotencyClaimer: idem}
	a0.cfg.Idempotency = counted
	a0.claimTiming, a1.claimTiming = shortClaims, shortClaims

	k := Key{Caller: "hr", Key: "slow", Fingerprint: Fingerprint("POST", "/v1/units", "S")}
	appended := make(chan struct{})
	type result struct {
		ans      Answer
		replayed bool
		err      error
	}
	first := make(chan result, 1)
	go func() {
		ans, replayed, err := slowKeyed(t, a0, k, "S", 2*shortClaims.stale, 3*shortClaims.patience, appended, "first")
		first <- result{ans, replayed, err}
	}()
	<-appended
	var ran atomic.Bool
	ans, replayed, err := a1.Keyed(context.Background(), k, func(ctx context.Context) (Answer, bool) {
		ran.Store(true)
		return Answer{Status: 201, Body: []byte("second")}, true
	})
	if err != nil {
		t.Fatal(err)
	}
	if ran.Load() || !replayed || string(ans.Body) != "first" {
		t.Fatalf("the repeat ran=%v, replayed=%v, answer %q: it took the live claim over; want the first answer replayed", ran.Load(), replayed, ans.Body)
	}
	r := <-first
	if r.err != nil || r.replayed || string(r.ans.Body) != "first" {
		t.Fatalf("first: %+v", r)
	}
	// The renewals stopped with the command.
	n := counted.completes.Load()
	time.Sleep(5 * shortClaims.renew)
	if m := counted.completes.Load(); m != n {
		t.Fatalf("%d Completes after the command returned; want none", m-n)
	}
}

// TestKeyedClaimNotRenewedOnBolt: on the embedded store (records in the
// event store's file, claimed with the events, this process's alone) a
// long command's claim is not renewed (takeOver takes it at once there, a
// renewal would protect nothing and cost a write), and the answer
// completes it.
func TestKeyedClaimNotRenewedOnBolt(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	counted := &countingClaimer{IdempotencyClaimer: store.Idempotency()}
	h := &domain.Handler{Log: eventlog.New(store), NewID: uuid.New}
	cfg := Config{Idempotency: counted, IdempotencyExclusive: true, Units: &orgunit.Service{Handler: h},
		Employees: &employee.Service{Handler: h}, SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	a := &App{cfg: cfg, claimTiming: shortClaims}
	ctx := context.Background()
	k := Key{Caller: "hr", Key: "slow", Fingerprint: Fingerprint("POST", "/v1/units", "B")}
	s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
	sk := hex.EncodeToString(s[:])
	record := func() ([]byte, keyRecord) {
		raw, ok, err := counted.Get(ctx, sk, time.Now())
		if err != nil || !ok {
			t.Fatalf("record: %v, %v", ok, err)
		}
		var rec keyRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		return raw, rec
	}

	appended := make(chan struct{})
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := slowKeyed(t, a, k, "B", 2*shortClaims.stale, 3*shortClaims.patience, appended, "first")
		done <- err
	}()
	<-appended
	first, rec := record()
	if rec.Status != claimStatus || rec.At.After(start.Add(shortClaims.stale)) {
		t.Fatalf("claim after a slow append: %+v (started %v); want the claim as stamped before the command, not renewed at the append", rec, start)
	}
	time.Sleep(shortClaims.patience)
	if later, _ := record(); !bytes.Equal(first, later) {
		t.Fatalf("claim while the command runs: %s, was %s; want it not renewed", later, first)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a.Close() // the answer is written in the background (answers.go)
	if _, rec := record(); rec.Status != 201 || string(rec.Body) != "first" {
		t.Fatalf("record after the command: %+v; want its answer", rec)
	}
	if n := counted.completes.Load(); n != 1 {
		t.Fatalf("%d Completes; want 1 (the answer's), no renewal", n)
	}
}

// TestKeyedClaimPanicStopsRenewals: a run that appends and then panics
// (net/http recovers a handler's panic) must stop renewing its claim (a
// renewed claim keeps its stamp young, and waiters everywhere would wait
// on it until a restart), and a repeat in this process must proceed.
func TestKeyedClaimPanicStopsRenewals(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	counted := &countingClaimer{IdempotencyClaimer: store.Idempotency()}
	h := &domain.Handler{Log: eventlog.New(store), NewID: uuid.New}
	// Not exclusive: the store stands for a shared one, whose claims are
	// renewed.
	cfg := Config{Idempotency: counted, Units: &orgunit.Service{Handler: h},
		Employees: &employee.Service{Handler: h}, SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	a := &App{cfg: cfg, claimTiming: shortClaims}
	t.Cleanup(func() { a.Close() })
	k := Key{Caller: "hr", Key: "panics", Fingerprint: Fingerprint("POST", "/v1/units", "P")}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the run's panic did not reach the caller")
			}
		}()
		a.Keyed(context.Background(), k, func(ctx context.Context) (Answer, bool) {
			if _, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-P", domain.NoStream, []domain.NewEvent{{
				Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: time.Now()},
				Event: orgunit.Registered{UnitID: "P", Name: "Bappeda"}}}); err != nil {
				t.Error(err)
			}
			time.Sleep(2 * shortClaims.renew) // renewed while it runs
			panic("boom")
		})
	}()
	n := counted.completes.Load()
	time.Sleep(6 * shortClaims.renew)
	if m := counted.completes.Load(); m != n {
		t.Fatalf("%d renewals after the run panicked; want none", m-n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*shortClaims.patience)
	defer cancel()
	var ran atomic.Bool
	if _, _, err := a.Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
		ran.Store(true)
		return Answer{Status: 201, Body: []byte("again")}, true
	}); err != nil || !ran.Load() {
		t.Fatalf("the repeat after the panic: ran %v, %v; want it to proceed", ran.Load(), err)
	}
}

// unknownClaimer commits one renewal but reports an error for it, and
// fails the read that follows: the renewal's outcome stays unknown.
type unknownClaimer struct {
	IdempotencyClaimer
	failComplete, failGet atomic.Bool
}

func (c *unknownClaimer) Complete(ctx context.Context, key string, claim, rec []byte, now, expires time.Time) (bool, error) {
	ok, err := c.IdempotencyClaimer.Complete(ctx, key, claim, rec, now, expires)
	if err == nil && ok && c.failComplete.CompareAndSwap(true, false) {
		c.failGet.Store(true)
		return false, errors.New("connection lost after the commit")
	}
	return ok, err
}

func (c *unknownClaimer) Get(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	if c.failGet.CompareAndSwap(true, false) {
		return nil, false, errors.New("connection lost")
	}
	return c.IdempotencyClaimer.Get(ctx, key, now)
}

// TestKeyedClaimRenewalUnknown: a renewal that committed although its
// swap reported an error, and whose read after failed too, leaves the
// record holding bytes the request cannot be sure of; the answer must
// still complete the claim (before, it completed the old bytes, found
// nothing, and the Put did nothing: the claim stayed without an answer).
func TestKeyedClaimRenewalUnknown(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	flaky := &unknownClaimer{IdempotencyClaimer: store.Idempotency()}
	flaky.failComplete.Store(true)
	h := &domain.Handler{Log: eventlog.New(store), NewID: uuid.New}
	cfg := Config{Idempotency: flaky, Units: &orgunit.Service{Handler: h},
		Employees: &employee.Service{Handler: h}, SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h}}
	cfg.setDefaults()
	a := &App{cfg: cfg, claimTiming: shortClaims}
	t.Cleanup(func() { a.Close() })
	k := Key{Caller: "hr", Key: "unknown", Fingerprint: Fingerprint("POST", "/v1/units", "U")}
	// One renewal (at shortClaims.renew), none after.
	if _, _, err := slowKeyed(t, a, k, "U", 0, shortClaims.renew*3/2, make(chan struct{}), "first"); err != nil {
		t.Fatal(err)
	}
	if flaky.failComplete.Load() {
		t.Fatal("no renewal happened")
	}
	s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
	raw, ok, err := store.Idempotency().Get(context.Background(), hex.EncodeToString(s[:]), time.Now())
	if err != nil || !ok {
		t.Fatalf("record: %v, %v", ok, err)
	}
	var rec keyRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != 201 || string(rec.Body) != "first" {
		t.Fatalf("record after the command: %+v; want its answer", rec)
	}
}
