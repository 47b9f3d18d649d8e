package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// ev is an event with a fresh ID.
func ev(n int) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.Must(uuid.NewV7()), Type: "unit.created.v1", SchemaVersion: 1,
		OccurredAt: time.Date(2026, 3, 3, 9, 30, 0, 0, time.UTC), Actor: eventstore.Actor{ID: "hr-admin", Role: "HR_ADMIN"},
		Data: fmt.Appendf(nil, `{"n":%d}`, n),
	}
}

func openStore(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openInStore opens a store in a temporary directory (closed when the test
// ends) and the idempotency records in its file.
func openInStore(t *testing.T) (*boltstore.Store, *boltstore.Idempotency) {
	t.Helper()
	s := openStore(t, filepath.Join(t.TempDir(), "kinerja.db"))
	t.Cleanup(func() { s.Close() })
	return s, s.Idempotency()
}

var (
	idemNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	idemExp = idemNow.Add(30 * 24 * time.Hour)
)

// TestClaimCommitsWithEvents: a claim made under Claim's context is in the
// store's file when the append returns (no second write), and survives a
// reopen; it is written only by an append that wrote events.
func TestClaimCommitsWithEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kinerja.db")
	s := openStore(t, path)
	idem := s.Idempotency()

	cctx, claimed := idem.Claim(ctx, "k1", []byte("claim-1"), idemNow, idemExp)
	e := ev(1)
	if _, err := s.Append(cctx, "acct-1", eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	if !claimed() {
		t.Fatal("claimed() = false after the append committed")
	}
	if got, ok, err := idem.Get(ctx, "k1", idemNow); !ok || err != nil || string(got) != "claim-1" {
		t.Fatalf("Get(k1) = %q, %v, %v; want the claim", got, ok, err)
	}

	// A refused append (wrong expected revision) writes no claim.
	rctx, rclaimed := idem.Claim(ctx, "k2", []byte("claim-2"), idemNow, idemExp)
	if _, err := s.Append(rctx, "acct-1", eventstore.NoStream, ev(2)); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("append to an existing stream with NoStream: %v", err)
	}
	// Nor does a repeat of appended event IDs (nothing written).
	if _, err := s.Append(rctx, "acct-1", eventstore.NoStream, e); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if rclaimed() {
		t.Fatal("a claim took with an append that wrote nothing")
	}
	if _, ok, _ := idem.Get(ctx, "k2", idemNow); ok {
		t.Fatal("a claim was written by an append that wrote nothing")
	}

	// Another request's claim under a taken key does not take.
	octx, oclaimed := idem.Claim(ctx, "k1", []byte("other"), idemNow, idemExp)
	if _, err := s.Append(octx, "acct-2", eventstore.NoStream, ev(3)); err != nil {
		t.Fatal(err)
	}
	if oclaimed() {
		t.Fatal("a second claim under an unexpired key took")
	}

	// Complete replaces only the request's own claim.
	if ok, err := idem.Complete(ctx, "k1", []byte("other"), []byte("answer-other"), idemNow, idemExp); ok || err != nil {
		t.Fatalf("Complete with another claim = %v, %v; want false", ok, err)
	}
	if ok, err := idem.Complete(ctx, "k1", []byte("claim-1"), []byte("answer-1"), idemNow, idemExp); !ok || err != nil {
		t.Fatalf("Complete = %v, %v; want true", ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path)
	defer s.Close()
	if got, ok, err := s.Idempotency().Get(ctx, "k1", idemNow); !ok || err != nil || string(got) != "answer-1" {
		t.Fatalf("after reopen Get(k1) = %q, %v, %v; want answer-1", got, ok, err)
	}
	// A claim is for the store it was made with: another store's append
	// does not write it.
	other := openStore(t, filepath.Join(t.TempDir(), "other.db"))
	defer other.Close()
	xctx, xclaimed := s.Idempotency().Claim(ctx, "k3", []byte("claim-3"), idemNow, idemExp)
	if _, err := other.Append(xctx, "acct-1", eventstore.NoStream, ev(4)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := other.Idempotency().Get(ctx, "k3", idemNow); ok || xclaimed() {
		t.Fatal("another store's append wrote the claim")
	}
}

// TestClaimRace: two requests race with one key, each appending its own
// events under its own claim: one claim takes, the other is refused, and
// the record is the winner's.
func TestClaimRace(t *testing.T) {
	ctx := context.Background()
	s, idem := openInStore(t)
	for round := range 20 {
		key := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		took := make([]bool, 2)
		for i := range 2 {
			wg.Go(func() {
				c, claimed := idem.Claim(ctx, key, fmt.Appendf(nil, "claim-%d", i), idemNow, idemExp)
				if _, err := s.Append(c, fmt.Sprintf("acct-%d-%d", round, i), eventstore.NoStream, ev(i)); err != nil {
					t.Error(err)
				}
				took[i] = claimed()
			})
		}
		wg.Wait()
		if took[0] == took[1] {
			t.Fatalf("round %d: claims took %v, want exactly one", round, took)
		}
		winner := 0
		if took[1] {
			winner = 1
		}
		if got, _, _ := idem.Get(ctx, key, idemNow); string(got) != fmt.Sprintf("claim-%d", winner) {
			t.Fatalf("round %d: record %q, want the winner's claim-%d", round, got, winner)
		}
	}
}

// TestIdempotencyInStorePutsAndSweep: the port's Put (first wins), PutMany
// and DeleteExpired on the store's file, with appends going on; a sweep of
// more records than one transaction removes them all.
func TestIdempotencyInStorePutsAndSweep(t *testing.T) {
	ctx := context.Background()
	s, idem := openInStore(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := idem.Put(ctx, "same", fmt.Appendf(nil, "v%d", i), idemNow, idemExp); err != nil {
				t.Error(err)
			}
			if _, err := s.Append(ctx, fmt.Sprintf("acct-%d", i), eventstore.NoStream, ev(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	first, ok, err := idem.Get(ctx, "same", idemNow)
	if !ok || err != nil {
		t.Fatalf("Get(same) = %v, %v", ok, err)
	}
	// A write of records alone appended nothing: readers that trust an
	// unchanged Commits (eventlog.Cached) keep their copies.
	c0 := s.Commits()
	if err := idem.Put(ctx, "same", []byte("late"), idemNow, idemExp); err != nil {
		t.Fatal(err)
	}
	if s.Commits() != c0 {
		t.Error("a write of idempotency records alone changed Commits")
	}
	if again, _, _ := idem.Get(ctx, "same", idemNow); string(again) != string(first) {
		t.Fatalf("a later Put replaced %q with %q", first, again)
	}
	if err := idem.Put(ctx, "", []byte("x"), idemNow, idemExp); err == nil {
		t.Fatal("Put with an empty key succeeded")
	}
	if err := idem.PutMany(ctx, idemNow, []string{"a", "b"}, [][]byte{[]byte("a")}, []time.Time{idemExp}); err == nil {
		t.Fatal("PutMany with fewer records than keys succeeded")
	}
	const n = 2500
	keys, recs, exps := make([]string, n), make([][]byte, n), make([]time.Time, n)
	for i := range n {
		keys[i], recs[i], exps[i] = fmt.Sprintf("old-%d", i), []byte("r"), idemNow.Add(time.Hour)
	}
	if err := idem.PutMany(ctx, idemNow, keys, recs, exps); err != nil {
		t.Fatal(err)
	}
	later := idemNow.Add(2 * time.Hour)
	if got, err := idem.DeleteExpired(ctx, later); got != n || err != nil {
		t.Fatalf("DeleteExpired = %d, %v; want %d", got, err, n)
	}
	if _, ok, _ := idem.Get(ctx, "same", later); !ok {
		t.Fatal("the sweep removed an unexpired record")
	}
	if h, _ := s.Head(ctx); h != 16 {
		t.Fatalf("head %d, want 16", h)
	}
}

// TestMigrateFromIdempotencyFile: a data directory of an earlier build
// keeps its records in idempotency.db; MigrateFrom copies the unexpired
// ones into the store's file (a record already there is kept), renames
// the old file, and does nothing the second time.
func TestMigrateFromIdempotencyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	legacy := filepath.Join(dir, "idempotency.db")
	old, err := boltstore.OpenIdempotency(legacy)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2300 // more than one transaction's worth
	for i := range n {
		if err := old.Put(ctx, fmt.Sprintf("k%d", i), fmt.Appendf(nil, "answer-%d", i), idemNow, idemExp); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Put(ctx, "expired", []byte("gone"), idemNow.Add(-48*time.Hour), idemNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := old.Put(ctx, "both", []byte("old"), idemNow, idemExp); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, filepath.Join(dir, "kinerja.db"))
	defer s.Close()
	idem := s.Idempotency()
	if err := idem.Put(ctx, "both", []byte("new"), idemNow, idemExp); err != nil {
		t.Fatal(err)
	}
	got, err := idem.MigrateFrom(ctx, legacy, idemNow)
	if err != nil || got != n+1 {
		t.Fatalf("MigrateFrom = %d, %v; want %d", got, err, n+1)
	}
	for _, i := range []int{0, 999, 1000, n - 1} {
		if rec, ok, err := idem.Get(ctx, fmt.Sprintf("k%d", i), idemNow); !ok || err != nil || string(rec) != fmt.Sprintf("answer-%d", i) {
			t.Fatalf("Get(k%d) after migration = %q, %v, %v", i, rec, ok, err)
		}
	}
	if rec, _, _ := idem.Get(ctx, "both", idemNow); string(rec) != "new" {
		t.Fatalf("the store's own record was replaced by the migrated one: %q", rec)
	}
	if _, ok, _ := idem.Get(ctx, "expired", idemNow.Add(-2*time.Hour)); ok {
		t.Fatal("an expired record was migrated")
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old file is still in place: %v", err)
	}
	if _, err := os.Stat(legacy + boltstore.MigratedSuffix); err != nil {
		t.Fatalf("the old file was not kept under its new name: %v", err)
	}
	if got, err := idem.MigrateFrom(ctx, legacy, idemNow); got != 0 || err != nil {
		t.Fatalf("second MigrateFrom = %d, %v; want 0, nil", got, err)
	}
}

// TestIdempotencySweepChunks: the appends share the transactions of a
// sweep, so one removes at most a couple of hundred records (1,000 dirtied
// up to ~4 MB of pages in a commit the appends waited for).
func TestIdempotencySweepChunks(t *testing.T) {
	ctx := context.Background()
	s, idem := openInStore(t)
	const n, most = 600, 200
	keys, recs, exps := make([]string, n), make([][]byte, n), make([]time.Time, n)
	for i := range n {
		keys[i], recs[i], exps[i] = fmt.Sprintf("old-%d", i), []byte("r"), idemNow.Add(time.Hour)
	}
	if err := idem.PutMany(ctx, idemNow, keys, recs, exps); err != nil {
		t.Fatal(err)
	}
	tx0 := s.WriteTxsForTest()
	if got, err := idem.DeleteExpired(ctx, idemNow.Add(2*time.Hour)); got != n || err != nil {
		t.Fatalf("DeleteExpired = %d, %v; want %d", got, err, n)
	}
	txs := s.WriteTxsForTest() - tx0
	if txs < (n+most-1)/most {
		t.Fatalf("the sweep of %d records took %d transactions: more than %d records in one", n, txs, most)
	}
	t.Logf("the sweep of %d records took %d transactions", n, txs)
}

// TestMigrateTwiceKeepsBothCopies: after a downgrade (which writes a new
// idempotency.db) and an upgrade, the second migration keeps the first
// one's copy: it renames the file to a name of its own. The first record
// wins: the one migrated first stays, even though the second file holds a
// newer record under the key.
func TestMigrateTwiceKeepsBothCopies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	legacy := filepath.Join(dir, "idempotency.db")
	writeLegacy := func(rec string) {
		old, err := boltstore.OpenIdempotency(legacy)
		if err != nil {
			t.Fatal(err)
		}
		if err := old.Put(ctx, "k", []byte(rec), idemNow, idemExp); err != nil {
			t.Fatal(err)
		}
		if err := old.Put(ctx, "only-"+rec, []byte(rec), idemNow, idemExp); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, filepath.Join(dir, "kinerja.db"))
	defer s.Close()
	idem := s.Idempotency()
	for _, rec := range []string{"first", "second"} {
		writeLegacy(rec)
		if got, err := idem.MigrateFrom(ctx, legacy, idemNow); got != 2 || err != nil {
			t.Fatalf("MigrateFrom (%s) = %d, %v; want 2, nil", rec, got, err)
		}
	}
	for name, want := range map[string]string{legacy + boltstore.MigratedSuffix: "first", legacy + boltstore.MigratedSuffix + ".2": "second"} {
		old, err := boltstore.OpenIdempotency(name)
		if err != nil {
			t.Fatal(err)
		}
		rec, ok, err := old.Get(ctx, "only-"+want, idemNow)
		old.Close()
		if !ok || err != nil || string(rec) != want {
			t.Fatalf("%s holds %q, %v, %v; want the %s migration's file", filepath.Base(name), rec, ok, err, want)
		}
	}
	if rec, _, _ := idem.Get(ctx, "k", idemNow); string(rec) != "first" {
		t.Fatalf("record %q, want the first migrated (first wins)", rec)
	}
	if _, ok, _ := idem.Get(ctx, "only-second", idemNow); !ok {
		t.Fatal("the second migration did not copy its new key")
	}
}
