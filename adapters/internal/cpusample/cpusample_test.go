package cpusample_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
)

// TestSamplesGrowWithWork: the CPU of a backend that computes, and of this
// process while it computes, grows by about the work done.
func TestSamplesGrowWithWork(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") != "" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	sep := "?"
	if strings.ContainsRune(url, '?') {
		sep = "&"
	}
	const app = "kinerja_cpusample_test"
	worker, err := pgxpool.New(ctx, url+sep+"application_name="+app)
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	admin, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := worker.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	pg0, err := cpusample.Backends(ctx, admin, app)
	if err != nil {
		t.Fatal(err)
	}
	// ≈ 0.3 s of backend CPU.
	if _, err := worker.Exec(ctx, "SELECT count(*) FROM generate_series(1, 3000000)"); err != nil {
		t.Fatal(err)
	}
	pg1, err := cpusample.Backends(ctx, admin, app)
	if err != nil {
		t.Fatal(err)
	}
	if pg1-pg0 < 0.05 {
		t.Errorf("backend CPU grew by %.3f s over a computing statement, want > 0.05 s", pg1-pg0)
	}
	self0 := cpusample.Self()
	x := uint64(1)
	for i := range 100_000_000 {
		x = x*6364136223846793005 + uint64(i)
	}
	if self := cpusample.Self() - self0; self < 0.01 {
		t.Errorf("own CPU grew by %.3f s over a busy loop (%d), want > 0.01 s", self, x)
	}
}
