package pgidempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// claimStores returns an idempotency store and an event store on the same
// database, each in its own fresh schema.
func claimStores(t *testing.T, opts pgstore.Options) (*pgidempotency.Store, *pgstore.Store) {
	t.Helper()
	p, schema := pool(t)
	ctx := context.Background()
	if err := pgidempotency.Migrate(ctx, p, schema); err != nil {
		t.Fatal(err)
	}
	idem, err := pgidempotency.Open(ctx, p, schema)
	if err != nil {
		t.Fatal(err)
	}
	opts.Schema = schema + "_ev"
	t.Cleanup(func() { p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+opts.Schema+" CASCADE") })
	if _, err := pgstore.Migrate(ctx, p, opts.Schema); err != nil {
		t.Fatal(err)
	}
	es, err := pgstore.Open(ctx, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	return idem, es
}

func event() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "skp.feedback_given.v1", SchemaVersion: 1,
		OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"}, Data: []byte(`{"n":1}`)}
}

// streamLen counts the events stored in stream (0 when it does not exist).
func streamLen(t *testing.T, es *pgstore.Store, stream string) int {
	t.Helper()
	n := 0
	for _, err := range es.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func get(t *testing.T, s *pgidempotency.Store, key string) (string, bool) {
	t.Helper()
	rec, ok, err := s.Get(context.Background(), key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return string(rec), ok
}

// The claim commits with the events; Complete replaces it with the answer.
func TestClaimCommitsWithTheEvents(t *testing.T) {
	idem, es := claimStores(t, pgstore.Options{})
	ctx := context.Background()
	now := time.Now()
	cctx, claimed := idem.Claim(ctx, "k1", []byte("claim"), now, now.Add(time.Hour))
	if claimed() {
		t.Fatal("claimed before any append")
	}
	if _, err := es.Append(cctx, "skp-1", eventstore.NoStream, event(), event()); err != nil {
		t.Fatal(err)
	}
	if !claimed() {
		t.Fatal("claimed() = false after the append committed")
	}
	if rec, ok := get(t, idem, "k1"); !ok || rec != "claim" {
		t.Fatalf("after the append: %q, %v; want the claim", rec, ok)
	}
	if ok, err := idem.Complete(ctx, "k1", []byte("claim"), []byte("answer"), now, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("Complete = %v, %v", ok, err)
	}
	if rec, ok := get(t, idem, "k1"); !ok || rec != "answer" {
		t.Fatalf("after Complete: %q, %v; want the answer", rec, ok)
	}
	// An append without the claim's context writes no record.
	if _, err := es.Append(ctx, "skp-2", eventstore.NoStream, event()); err != nil {
		t.Fatal(err)
	}
	if rec, ok := get(t, idem, "k1"); !ok || rec != "answer" {
		t.Fatalf("after an unkeyed append: %q, %v", rec, ok)
	}
}

// Crash consistency: both or neither. A claim statement that fails rolls
// its events back; an append refused by its head check writes no claim.
func TestClaimAndEventsBothOrNeither(t *testing.T) {
	for _, opts := range []pgstore.Options{{}, {NoGroupCommit: true}} {
		t.Run(fmt.Sprintf("NoGroupCommit=%v", opts.NoGroupCommit), func(t *testing.T) {
			idem, es := claimStores(t, opts)
			ctx := context.Background()
			now := time.Now()
			// A nil record violates NOT NULL: the claim's INSERT fails.
			bad, claimed := idem.Claim(ctx, "bad", nil, now, now.Add(time.Hour))
			if _, err := es.Append(bad, "skp-bad", eventstore.NoStream, event()); err == nil {
				t.Fatal("append with a failing claim succeeded")
			}
			if n := streamLen(t, es, "skp-bad"); n != 0 {
				t.Fatalf("failing claim left %d events", n)
			}
			if claimed() {
				t.Fatal("claimed() = true after the transaction rolled back")
			}
			if _, ok := get(t, idem, "bad"); ok {
				t.Fatal("failing claim stored a record")
			}
			// The store is still usable and the stream still new.
			if _, err := es.Append(ctx, "skp-bad", eventstore.NoStream, event()); err != nil {
				t.Fatal(err)
			}

			// Head check fails: no events, no claim.
			cctx, claimed := idem.Claim(ctx, "stale", []byte("claim"), now, now.Add(time.Hour))
			_, err := es.Append(cctx, "skp-bad", eventstore.Exact(7), event())
			if !errors.As(err, new(*eventstore.WrongExpectedRevisionError)) {
				t.Fatalf("append at a stale revision: %v", err)
			}
			if _, ok := get(t, idem, "stale"); ok || claimed() {
				t.Fatal("a refused append stored its claim")
			}
			if n := streamLen(t, es, "skp-bad"); n != 1 {
				t.Fatalf("stream has %d events, want 1", n)
			}
		})
	}
}

// Group commit: claims ride in the batch's transaction; a failing claim
// fails only its own append (the batch falls back to one by one).
func TestClaimsInAGroupCommit(t *testing.T) {
	idem, es := claimStores(t, pgstore.Options{})
	ctx := context.Background()
	now := time.Now()
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	claimed := make([]func() bool, n)
	for i := range n {
		rec := []byte(fmt.Sprint("claim-", i))
		if i%8 == 3 {
			rec = nil // fails
		}
		var cctx context.Context
		cctx, claimed[i] = idem.Claim(ctx, fmt.Sprint("k", i), rec, now, now.Add(time.Hour))
		wg.Go(func() {
			_, errs[i] = es.Append(cctx, fmt.Sprint("skp-", i), eventstore.NoStream, event(), event())
		})
	}
	wg.Wait()
	for i := range n {
		rec, ok := get(t, idem, fmt.Sprint("k", i))
		events := streamLen(t, es, fmt.Sprint("skp-", i))
		if i%8 == 3 {
			if errs[i] == nil || ok || events != 0 || claimed[i]() {
				t.Errorf("append %d with a failing claim: err %v, record %v, %d events, claimed %v", i, errs[i], ok, events, claimed[i]())
			}
			continue
		}
		if errs[i] != nil || !ok || rec != fmt.Sprint("claim-", i) || events != 2 || !claimed[i]() {
			t.Errorf("append %d: err %v, record %q %v, %d events, claimed %v", i, errs[i], rec, ok, events, claimed[i]())
		}
	}
}

// A claim that finds another's unexpired record does not take: its append
// commits but claimed() stays false and the record is untouched; Complete
// with a claim that is not the stored record changes nothing.
func TestClaimThatDidNotTake(t *testing.T) {
	for _, opts := range []pgstore.Options{{}, {NoGroupCommit: true}} {
		t.Run(fmt.Sprintf("NoGroupCommit=%v", opts.NoGroupCommit), func(t *testing.T) {
			idem, es := claimStores(t, opts)
			ctx := context.Background()
			now := time.Now()
			actx, aClaimed := idem.Claim(ctx, "k", []byte("claim-A"), now, now.Add(time.Hour))
			if _, err := es.Append(actx, "skp-a", eventstore.NoStream, event()); err != nil {
				t.Fatal(err)
			}
			bctx, bClaimed := idem.Claim(ctx, "k", []byte("claim-B"), now, now.Add(time.Hour))
			if _, err := es.Append(bctx, "skp-b", eventstore.NoStream, event()); err != nil {
				t.Fatal(err)
			}
			if !aClaimed() || bClaimed() {
				t.Fatalf("claimed: A %v, B %v; want A only", aClaimed(), bClaimed())
			}
			if rec, _ := get(t, idem, "k"); rec != "claim-A" {
				t.Fatalf("record = %q, want A's claim", rec)
			}
			// B completes with its own claim bytes: not the stored record.
			if ok, err := idem.Complete(ctx, "k", []byte("claim-B"), []byte("answer-B"), now, now.Add(time.Hour)); err != nil || ok {
				t.Fatalf("B's Complete = %v, %v; want false", ok, err)
			}
			if rec, _ := get(t, idem, "k"); rec != "claim-A" {
				t.Fatalf("after B's Complete: %q, want A's claim", rec)
			}
			if ok, err := idem.Complete(ctx, "k", []byte("claim-A"), []byte("answer-A"), now, now.Add(time.Hour)); err != nil || !ok {
				t.Fatalf("A's Complete = %v, %v", ok, err)
			}
			// A second Complete of the same claim finds the answer, not the claim.
			if ok, err := idem.Complete(ctx, "k", []byte("claim-A"), []byte("answer-A2"), now, now.Add(time.Hour)); err != nil || ok {
				t.Fatalf("repeated Complete = %v, %v; want false", ok, err)
			}
			if rec, _ := get(t, idem, "k"); rec != "answer-A" {
				t.Fatalf("record = %q, want A's answer", rec)
			}
		})
	}
}
