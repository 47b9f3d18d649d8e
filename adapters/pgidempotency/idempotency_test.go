package pgidempotency_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
)

func pool(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "idem_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		p.Close()
	})
	return p, schema
}

func TestFirstResponseWinsUntilExpiry(t *testing.T) {
	p, schema := pool(t)
	ctx := context.Background()
	if _, err := pgidempotency.Open(ctx, p, schema); err == nil {
		t.Fatal("Open before Migrate succeeded")
	}
	for range 2 {
		if err := pgidempotency.Migrate(ctx, p, schema); err != nil {
			t.Fatal(err)
		}
	}
	s, err := pgidempotency.Open(ctx, p, schema)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	exp := now.Add(30 * 24 * time.Hour)
	if _, ok, err := s.Get(ctx, "k", now); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	if err := s.Put(ctx, "k", []byte("first"), now, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", []byte("second"), now.Add(time.Hour), exp); err != nil {
		t.Fatal(err)
	}
	if rec, ok, err := s.Get(ctx, "k", now.Add(29*24*time.Hour)); !ok || err != nil || string(rec) != "first" {
		t.Errorf("Get = %q, %v, %v; want the first record", rec, ok, err)
	}
	if _, ok, _ := s.Get(ctx, "k", exp); ok {
		t.Error("an expired record was returned")
	}
	if err := s.Put(ctx, "k", []byte("third"), exp.Add(time.Minute), exp.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := s.Get(ctx, "k", exp.Add(time.Hour)); string(rec) != "third" {
		t.Errorf("after expiry Put did not replace: %q", rec)
	}
	s.Put(ctx, "old", []byte("x"), now, now.Add(time.Hour))
	if n, err := s.DeleteExpired(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
	}
}
