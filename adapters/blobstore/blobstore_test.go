package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/domain"
)

// store is what both implementations provide (app.Blobs).
type store interface {
	Put(ctx context.Context, data []byte) (string, error)
	Get(ctx context.Context, sum string) ([]byte, error)
}

// checkStore runs what every blob store promises.
func checkStore(t *testing.T, s store) {
	t.Helper()
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+7) // over three chunks
	for name, data := range map[string][]byte{"small": []byte("%PDF-1.7 laporan"), "big": big, "empty": {}} {
		sum, err := s.Put(ctx, data)
		if err != nil {
			t.Fatalf("%s: put: %v", name, err)
		}
		if sum != hash(data) {
			t.Errorf("%s: put returned %s, want the content's SHA-256", name, sum)
		}
		again, err := s.Put(ctx, data)
		if err != nil || again != sum {
			t.Errorf("%s: storing it again = %s, %v", name, again, err)
		}
		got, err := s.Get(ctx, sum)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: get = %d bytes, %v; want %d bytes", name, len(got), err, len(data))
		}
	}
	for _, sum := range []string{hash([]byte("never stored")), "../../etc/passwd", "ABCDEF", ""} {
		if _, err := s.Get(ctx, sum); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("get %q = %v, want not found", sum, err)
		}
	}
	// Concurrent stores of the same content: one file, no error.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Put(ctx, []byte("bersamaan"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent put: %v", err)
		}
	}
}

func TestFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), FolderName)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, f)
	// A damaged copy is replaced when the content is stored again, and
	// no temporary file is left behind.
	ctx := context.Background()
	sum, _ := f.Put(ctx, []byte("asli"))
	if err := os.WriteFile(f.path(sum), []byte("rusak"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Put(ctx, []byte("asli")); err != nil {
		t.Fatal(err)
	}
	if b, _ := f.Get(ctx, sum); string(b) != "asli" {
		t.Errorf("the damaged copy was kept: %q", b)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".*.tmp"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestPostgres(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set and KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	schema := fmt.Sprintf("blobstore_test_%d", os.Getpid())
	pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	t.Cleanup(func() { pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	if _, err := OpenPostgres(ctx, pool, schema); err == nil {
		t.Error("OpenPostgres before Migrate succeeded")
	}
	if _, err := Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, pool, "Bad-Name"); !errors.Is(err, ErrBadSchemaName) {
		t.Errorf("a bad schema name = %v", err)
	}
	s, err := OpenPostgres(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
}
