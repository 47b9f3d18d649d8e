package deadlinestore_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// TestBoltRollbackThenUpgrade (review 3, finding 2): an earlier build run
// on a file of this layout (a rollback) writes items and by-SKP keys with
// no values and maintains neither the due nor the recipient index, and
// moves the checkpoint. The next open of this build must index again:
// the moved and the added item are due, an item the earlier build deleted
// does not break Due, and ReplaceItems takes the earlier build's entries.
func TestBoltRollbackThenUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(ctx, 1, func(s deadlines.Store) error {
		if err := s.ReplaceItems(ctx, "skp-a", []deadlines.Item{item("skp-a", 1, "nip-a", now.Add(time.Hour))}); err != nil {
			return err
		}
		return s.ReplaceItems(ctx, "skp-c", []deadlines.Item{item("skp-c", 1, "nip-c", now.Add(-time.Hour))})
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// The earlier build's ReplaceItems and checkpoint (one Update at 2).
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		idx, all := tx.Bucket([]byte("deadline_by_skp")), tx.Bucket([]byte("deadline_items"))
		for _, it := range []deadlines.Item{item("skp-a", 1, "nip-a", now.Add(-time.Hour)), item("skp-b", 1, "nip-b", now.Add(-time.Hour))} {
			v, _ := json.Marshal(it)
			if err := all.Put([]byte(it.Key), v); err != nil {
				return err
			}
			if err := idx.Put(append([]byte(it.SKPID+"\x00"), it.Key...), nil); err != nil {
				return err
			}
		}
		c := item("skp-c", 1, "nip-c", now)
		if err := idx.Delete(append([]byte("skp-c\x00"), c.Key...)); err != nil {
			return err
		}
		if err := all.Delete([]byte(c.Key)); err != nil {
			return err
		}
		return tx.Bucket([]byte("deadline_meta")).Put([]byte("checkpoint"), []byte("2"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err = deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	due, err := b.Due(ctx, now, 10)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	want := []string{item("skp-a", 1, "", now).Key, item("skp-b", 1, "", now).Key}
	if got := keys(due); !slices.Equal(got, want) {
		t.Errorf("Due after rollback and upgrade: %v, want %v", got, want)
	}
	if err := b.Update(ctx, 3, func(s deadlines.Store) error { return s.ReplaceItems(ctx, "skp-b", nil) }); err != nil {
		t.Fatalf("ReplaceItems(skp-b): %v", err)
	}
	if rs, err := b.ForRecipient(ctx, "nip-b"); err != nil || len(rs) != 0 {
		t.Errorf("ForRecipient(nip-b) after ReplaceItems(skp-b, nil): %v %v", keys(rs), err)
	}
}

// TestBoltReplaceItemsTakesEntriesWithoutValue (review 3, finding 2): a
// by-SKP entry an earlier build wrote (no value) is not an error for
// ReplaceItems, even if the file was not indexed again.
func TestBoltReplaceItemsTakesEntriesWithoutValue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	it := item("skp-a", 1, "nip-a", now.Add(-time.Hour))
	if err := b.Update(ctx, 1, func(s deadlines.Store) error {
		return s.ReplaceItems(ctx, "skp-a", []deadlines.Item{it})
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("deadline_by_skp")).Put(append([]byte("skp-a\x00"), it.Key...), nil)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err = deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(ctx, 2, func(s deadlines.Store) error { return s.ReplaceItems(ctx, "skp-a", nil) }); err != nil {
		t.Fatalf("ReplaceItems: %v", err)
	}
	if due, err := b.Due(ctx, now, 10); err != nil || len(due) != 0 {
		t.Errorf("Due after the item went: %v %v", keys(due), err)
	}
}

// TestBoltFailedCompactionKeepsTheFile (review 3, finding 3): a compaction
// that fails before its rename (here: path.compact cannot be removed)
// leaves the file as it was, and OpenBolt opens it.
func TestBoltFailedCompactionKeepsTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	it := item("skp-a", 1, "nip-a", now.Add(-time.Hour))
	if err := b.Update(ctx, 7, func(s deadlines.Store) error {
		return s.ReplaceItems(ctx, "skp-a", []deadlines.Item{it})
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("deadline_outbox")).Put([]byte{byte(i)}, big) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("deadline_outbox")); err != nil {
			return err
		}
		_, err := tx.CreateBucket([]byte("deadline_outbox"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.MkdirAll(filepath.Join(path+".compact", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	old := deadlinestore.CompactMinBytes
	deadlinestore.CompactMinBytes = 0
	defer func() { deadlinestore.CompactMinBytes = old }()
	b, err = deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatalf("OpenBolt with a failing compaction: %v", err)
	}
	defer b.Close()
	if cp, err := b.Checkpoint(ctx); err != nil || cp != 7 {
		t.Errorf("Checkpoint: %v %v, want 7", cp, err)
	}
	if due, err := b.Due(ctx, now, 10); err != nil || len(due) != 1 {
		t.Errorf("Due: %v %v, want the item", keys(due), err)
	}
}

// TestBoltRollbackResetThenUpgrade: an earlier build's Reset (it recreates
// the items and by-SKP buckets, not the indexes) and catch-up to the very
// checkpoint this build last wrote is noticed too: the by-SKP bucket's
// sequence is gone.
func TestBoltRollbackResetThenUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(ctx, 5, func(s deadlines.Store) error {
		return s.ReplaceItems(ctx, "skp-a", []deadlines.Item{item("skp-a", 1, "nip-a", now.Add(time.Hour))})
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"deadline_items", "deadline_by_skp"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		it := item("skp-a", 1, "nip-a", now.Add(-time.Hour))
		v, _ := json.Marshal(it)
		if err := tx.Bucket([]byte("deadline_items")).Put([]byte(it.Key), v); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("deadline_by_skp")).Put(append([]byte("skp-a\x00"), it.Key...), nil); err != nil {
			return err
		}
		return tx.Bucket([]byte("deadline_meta")).Put([]byte("checkpoint"), []byte("5"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err = deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	due, err := b.Due(ctx, now, 10)
	if err != nil || len(due) != 1 {
		t.Errorf("Due after a rollback's reset and an upgrade: %v %v, want the moved item", keys(due), err)
	}
}
