package boltstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestClaimFaultAfterEvents: a failure in the transaction after the
// events were written and before the claim (where a crash between the two
// writes would fall when they were two files) leaves neither: the events
// and the claim commit together or not at all.
func TestClaimFaultAfterEvents(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "kinerja.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	idem := s.Idempotency()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	e := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "unit.created.v1", SchemaVersion: 1, OccurredAt: now,
		Actor: eventstore.Actor{ID: "hr-admin"}, Data: []byte(`{}`)}
	crash := errors.New("crash after the events")
	s.faultAfterEvents = func() error { return crash }
	cctx, claimed := idem.Claim(ctx, "k", []byte("claim"), now, now.Add(time.Hour))
	if _, err := s.Append(cctx, "acct-1", eventstore.NoStream, e); !errors.Is(err, errStorage) {
		t.Fatalf("append with the fault = %v, want the fault", err)
	}
	if claimed() {
		t.Fatal("claimed() after an aborted transaction")
	}
	if h, _ := s.Head(ctx); h != 0 {
		t.Fatalf("head %d after the aborted transaction: the events were written without their claim", h)
	}
	if _, ok, _ := idem.Get(ctx, "k", now); ok {
		t.Fatal("the claim was written without its events")
	}
	s.faultAfterEvents = nil
	if _, err := s.Append(cctx, "acct-1", eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := idem.Get(ctx, "k", now); !ok || !claimed() {
		t.Fatal("the retried append wrote no claim")
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Fatalf("head %d, want 1", h)
	}
}

// TestIdemOpFailureIsItsOwn: a write of idempotency records that fails in
// a group commit fails alone; the appends sharing the transaction commit
// (they all failed with it before). Writes bbolt would refuse are refused
// before they are queued, with a clear error, writing nothing.
func TestIdemOpFailureIsItsOwn(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "kinerja.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	e := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "unit.created.v1", SchemaVersion: 1, OccurredAt: now,
		Actor: eventstore.Actor{ID: "hr-admin"}, Data: []byte(`{}`)}
	prepared, err := eventstore.Prepare("acct-1", []eventstore.EventData{e}, s.opts.Limits)
	if err != nil {
		t.Fatal(err)
	}
	failed := errors.New("the op failed")
	op := &appendReq{ctx: ctx, op: func(*bolt.Tx) error { return failed }, done: make(chan struct{})}
	app := &appendReq{ctx: ctx, stream: "acct-1", expected: eventstore.NoStream, events: prepared, done: make(chan struct{})}
	s.commit([]*appendReq{op, app}) // one group commit, as the committer would make it
	if !errors.Is(op.err, failed) {
		t.Fatalf("op error %v, want its own failure", op.err)
	}
	if app.err != nil {
		t.Fatalf("the append sharing the transaction failed with the op: %v", app.err)
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Fatalf("head %d, want 1", h)
	}

	idem := s.Idempotency()
	long := strings.Repeat("k", bolt.MaxKeySize)
	tx0 := s.WriteTxsForTest()
	if err := idem.Put(ctx, long, []byte("r"), now, now.Add(time.Hour)); err == nil || errors.Is(err, errStorage) {
		t.Fatalf("Put with a %d-byte key = %v, want a refusal before the commit", len(long), err)
	}
	if err := idem.PutMany(ctx, now, []string{"a", long}, [][]byte{nil, nil}, []time.Time{now, now}); err == nil || errors.Is(err, errStorage) {
		t.Fatalf("PutMany with a %d-byte key = %v, want a refusal before the commit", len(long), err)
	}
	if _, err := idem.Complete(ctx, long, []byte("c"), []byte("r"), now, now.Add(time.Hour)); err == nil || errors.Is(err, errStorage) {
		t.Fatalf("Complete with a %d-byte key = %v, want a refusal before the commit", len(long), err)
	}
	cctx, claimed := idem.Claim(ctx, long, []byte("claim"), now, now.Add(time.Hour))
	e.ID = uuid.Must(uuid.NewV7())
	if _, err := s.Append(cctx, "acct-2", eventstore.NoStream, e); err == nil || errors.Is(err, errStorage) {
		t.Fatalf("append with a %d-byte claim key = %v, want a refusal before the commit", len(long), err)
	}
	if claimed() {
		t.Fatal("claimed() after a refused claim")
	}
	if txs := s.WriteTxsForTest() - tx0; txs != 0 {
		t.Fatalf("%d transactions committed for refused writes", txs)
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Fatalf("head %d after the refused append, want 1", h)
	}
}
