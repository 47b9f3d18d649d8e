package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

// TestDeadlineSettingsOnPostgres: kinerjad with its read models (and so
// the deadline process manager's state) in PostgreSQL records the deadline
// settings it built the items with, as it does in deadlines.db. A later
// start with other settings is refused, naming the remedy, and leaves the
// state as it was (the state is shared: a reset under another running
// kinerjad or projector would lose items); a start with the same settings
// goes on.
func TestDeadlineSettingsOnPostgres(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	args := []string{"--store", "postgres", "--postgres-url", pg, "--migrate"}
	s := startServer(t, data, args...)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	state := func() (fp string, items int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT fingerprint FROM kinerja_deadlines.deadline_settings`).Scan(&fp); err != nil {
			t.Fatalf("the recorded settings: %v", err)
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM kinerja_deadlines.deadline_items`).Scan(&items); err != nil {
			t.Fatal(err)
		}
		return fp, items
	}
	fp, items := state()
	if !strings.Contains(fp, "rating=") {
		t.Fatalf("recorded settings %q", fp)
	}

	// Bounded: a start that is not refused serves until the timeout.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = run(rctx, append([]string{"--listen", "127.0.0.1:0", "--data", data, "--rating-due-days", "3"}, args...), func(string) string { return "" }, io.Discard, io.Discard)
	if !errors.Is(err, wiring.ErrDeadlineSettings) || !strings.Contains(err.Error(), "projections rebuild deadlines") {
		t.Fatalf("a start with other deadline settings: %v; want it refused", err)
	}
	if fp2, items2 := state(); fp2 != fp || items2 != items {
		t.Fatalf("after the refusal: settings %q, %d items; want %q, %d (untouched)", fp2, items2, fp, items)
	}
	s = startServer(t, data, args...)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}
