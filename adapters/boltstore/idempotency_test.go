package boltstore_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
)

func TestIdempotencyFirstWinsAndSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "idempotency.db")
	s, err := boltstore.OpenIdempotency(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	exp := now.Add(30 * 24 * time.Hour)
	if _, ok, err := s.Get(ctx, "k1", now); ok || err != nil {
		t.Fatalf("Get(missing) = ok %v, %v; want false, nil", ok, err)
	}
	if err := s.Put(ctx, "k1", []byte("first"), now, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k1", []byte("second"), now.Add(time.Minute), exp.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Get(ctx, "k1", now); !ok || err != nil || string(got) != "first" {
		t.Fatalf("Get(k1) = %q, %v, %v; want first", got, ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	s, err = boltstore.OpenIdempotency(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, ok, err := s.Get(ctx, "k1", now.Add(29*24*time.Hour)); !ok || err != nil || string(got) != "first" {
		t.Fatalf("after reopen Get(k1) = %q, %v, %v; want first", got, ok, err)
	}
	// Expired: invisible, replaceable, and swept.
	later := exp.Add(time.Second)
	if _, ok, _ := s.Get(ctx, "k1", later); ok {
		t.Fatal("Get after expiry found the record")
	}
	if err := s.Put(ctx, "k2", []byte("other"), now, exp.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx, later); n != 1 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, ok, _ := s.Get(ctx, "k2", later); !ok {
		t.Fatal("DeleteExpired removed an unexpired record")
	}
	if err := s.Put(ctx, "k1", []byte("new"), later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, "k1", later); string(got) != "new" {
		t.Fatalf("Get(k1) after expiry and Put = %q, want new", got)
	}
}

func TestIdempotencyConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	s, err := boltstore.OpenIdempotency(filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(ctx, "same", []byte{byte('a' + i)}, now, now.Add(time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, ok, err := s.Get(ctx, "same", now)
	if !ok || err != nil || len(got) != 1 {
		t.Fatalf("Get = %q, %v, %v", got, ok, err)
	}
}

// PutMany writes many records in one transaction, each as Put: the first
// unexpired record under a key wins (also within one call), an expired one
// is replaced and its expiry entry with it, and the records are there
// after a reopen. Mismatched slices and empty keys change nothing.
func TestIdempotencyPutMany(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idempotency.db")
	s, err := boltstore.OpenIdempotency(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	exp := now.Add(30 * 24 * time.Hour)
	if err := s.Put(ctx, "kept", []byte("first"), now, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "old", []byte("expired"), now.Add(-2*time.Hour), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMany(ctx, now, []string{"a", "b"}, [][]byte{[]byte("x")}, []time.Time{exp, exp}); err == nil {
		t.Error("PutMany with mismatched slices succeeded")
	}
	if err := s.PutMany(ctx, now, []string{"c", ""}, [][]byte{[]byte("c"), []byte("x")}, []time.Time{exp, exp}); err == nil {
		t.Error("PutMany with an empty key succeeded")
	}
	keys := []string{"kept", "new", "old", "new"}
	recs := [][]byte{[]byte("second"), []byte("n1"), []byte("fresh"), []byte("n2")}
	if err := s.PutMany(ctx, now, keys, recs, []time.Time{exp, exp, exp, exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.OpenIdempotency(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for key, want := range map[string]string{"kept": "first", "new": "n1", "old": "fresh"} {
		if got, ok, err := s.Get(ctx, key, now); !ok || err != nil || string(got) != want {
			t.Errorf("Get(%s) = %q, %v, %v; want %q", key, got, ok, err, want)
		}
	}
	if _, ok, _ := s.Get(ctx, "c", now); ok {
		t.Error("the refused PutMany wrote c")
	}
	// The replaced record's old expiry entry went with it: a sweep after
	// its old expiry removes nothing.
	if n, err := s.DeleteExpired(ctx, now); n != 0 || err != nil {
		t.Errorf("DeleteExpired = %d, %v; want 0", n, err)
	}
}
