package httpapi

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
)

var pgSchemas atomic.Int64

// postgresStore returns a PostgreSQL event store in a fresh schema of the
// database at KINERJA_TEST_POSTGRES_URL, dropped when the test ends.
func postgresStore(t testing.TB) *pgstore.Store {
	t.Helper()
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
	schema := fmt.Sprintf("httpapi_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), pgSchemas.Add(1))
	if _, err := pgstore.Migrate(ctx, pool, schema); err != nil {
		pool.Close()
		t.Fatal(err)
	}
	store, err := pgstore.Open(ctx, pool, pgstore.Options{Schema: schema})
	if err != nil {
		pool.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		store.Close()
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Close()
	})
	return store
}
