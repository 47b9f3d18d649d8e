package deadlinestore_test

import (
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
)

// TestFileStats prints the bbolt figures of the deadlines.db named by
// KINERJA_DEADLINES_DB (opened read-write, so that bbolt loads its free
// list: run it on a copy): its size, its free pages and,
// per bucket, the keys and the bytes they use. It is a measuring aid
// (docs/benchmarks.md), skipped without the variable.
func TestFileStats(t *testing.T) {
	path := os.Getenv("KINERJA_DEADLINES_DB")
	if path == "" {
		t.Skip("KINERJA_DEADLINES_DB not set")
	}
	if os.Getenv("KINERJA_DEADLINES_OPEN") == "1" {
		// OpenBolt first, as kinerjad's start does (indexing an earlier
		// layout, compacting a mostly free file).
		start := time.Now()
		b, err := deadlinestore.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		t.Logf("OpenBolt took %v", time.Since(start))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := db.Stats()
	t.Logf("file %d bytes, page size %d, free pages %d (%d bytes), pending pages %d", fi.Size(), db.Info().PageSize, st.FreePageN, st.FreeAlloc, st.PendingPageN)
	err = db.View(func(tx *bolt.Tx) error {
		t.Logf("high-water mark %d bytes (%d pages)", tx.Size(), tx.Size()/int64(db.Info().PageSize))
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			bs := b.Stats()
			var kv int
			_ = b.ForEach(func(k, v []byte) error { kv += len(k) + len(v); return nil })
			pages := bs.BranchPageN + bs.BranchOverflowN + bs.LeafPageN + bs.LeafOverflowN
			t.Logf("bucket %-16s keys %8d  key+value bytes %11d  pages %7d (%d bytes in use of %d allocated)", name, bs.KeyN, kv, pages, bs.BranchInuse+bs.LeafInuse, bs.BranchAlloc+bs.LeafAlloc)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
