package wiring

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// TestSharedDeadlineSettingsRace: two processes starting at once on a
// PostgreSQL deadline state that records no settings, with different
// settings: exactly one is taken, the other refused (before, both read
// none, both wrote, and the last won: both started).
func TestSharedDeadlineSettingsRace(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "wiring_settings_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Close()
	})
	if _, err := deadlinestore.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	var procs [2]*deadlinestore.Postgres
	for i := range procs {
		if procs[i], err = deadlinestore.OpenPostgres(ctx, pool, schema); err != nil {
			t.Fatal(err)
		}
	}
	sets := [2]deadlines.Settings{{RatingDays: 14}, {RatingDays: 15}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for round := 0; round < 20; round++ {
		if _, err := pool.Exec(ctx, "DELETE FROM "+schema+".deadline_settings"); err != nil {
			t.Fatal(err)
		}
		var errs [2]error
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				errs[i] = CheckDeadlineSettings(ctx, procs[i], sets[i], log)
			}()
		}
		start.Done()
		wg.Wait()
		accepted := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if accepted >= 0 {
					t.Fatalf("round %d: both starts accepted with different settings", round)
				}
				accepted = i
			case !errors.Is(err, ErrDeadlineSettings):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if accepted < 0 {
			t.Fatalf("round %d: both refused: %v", round, errs)
		}
		if fp, err := procs[0].SettingsFingerprint(ctx); err != nil || fp != sets[accepted].Fingerprint() {
			t.Fatalf("round %d: recorded %q (%v); want the accepted start's", round, fp, err)
		}
	}
}
