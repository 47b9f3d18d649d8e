package deadlinestore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fragment leaves the bbolt file db mostly free pages (8 MiB written and
// deleted), so that compact rewrites it.
func fragment(t *testing.T, db *bolt.DB) {
	t.Helper()
	big := make([]byte, 1<<20)
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("x"))
		if err != nil {
			return err
		}
		for i := 0; i < 8; i++ {
			if err := b.Put([]byte{byte(i)}, big); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []func(*bolt.Tx) error{
		func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("x")) },
		func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("y")); return err },
		func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("z")); return err },
	} {
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCompactKeepsOtherOpenersOut (review 3, finding 1): a second OpenBolt
// waiting while the holder compacts must not be let in by the rename (it
// got the old, unlinked inode's bbolt lock, and both processes held
// deadlines.db). The lock file is not renamed: the waiter stays out.
func TestCompactKeepsOtherOpenersOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deadlines.db")
	a, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	fragment(t, a.db)
	oldMin, oldTimeout := CompactMinBytes, LockTimeout
	CompactMinBytes, LockTimeout = 0, time.Second
	defer func() { CompactMinBytes, LockTimeout = oldMin, oldTimeout }()
	got := make(chan error, 1)
	go func() {
		b, err := OpenBolt(path)
		if err == nil {
			b.Close()
			err = errors.New("the second OpenBolt was granted the file while the first held it")
		}
		got <- err
	}()
	// Let the second opener start waiting on the original file.
	time.Sleep(300 * time.Millisecond)
	before := a.db
	a.db, err = compact(path, a.db)
	if err != nil {
		t.Fatal(err)
	}
	if a.db == before {
		t.Fatal("the file was not compacted")
	}
	if err := <-got; !errors.Is(err, ErrInUse) {
		t.Errorf("second OpenBolt: %v, want ErrInUse", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := OpenBolt(path)
	if err != nil {
		t.Fatalf("OpenBolt after Close: %v", err)
	}
	b.Close()
}
