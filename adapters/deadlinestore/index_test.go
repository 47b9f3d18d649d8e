package deadlinestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// item is an item of SKP skp waiting for nip, firing at fireAt.
func item(skp string, n int, nip string, fireAt time.Time) deadlines.Item {
	return deadlines.Item{Key: fmt.Sprintf("RATE_PERIOD/%s/Q%d", skp, n), Kind: deadlines.RatePeriod, SKPID: skp, NIP: nip, Name: "Pegawai",
		Year: 2026, Period: fmt.Sprintf("Q%d", n), Recipient: nip, From: fireAt.Add(-72 * time.Hour), Due: fireAt.Add(24 * time.Hour), FireAt: fireAt}
}

func keys(items []deadlines.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Key)
	}
	return out
}

// TestBoltDueReadsOnlyWhatIsDue: with 2,000 items waiting for a later
// time and 3 due, Due decodes the 3 (main decoded all 2,003 on every
// scheduler tick), and a firing leaves the index; ForRecipient decodes
// only the recipient's items.
func TestBoltDueReadsOnlyWhatIsDue(t *testing.T) {
	ctx := context.Background()
	b, err := deadlinestore.OpenBolt(filepath.Join(t.TempDir(), "deadlines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	later := now.Add(30 * 24 * time.Hour)
	err = b.Update(ctx, 7, func(s deadlines.Store) error {
		for i := range 1000 {
			skp := fmt.Sprintf("skp-%04d", i)
			items := []deadlines.Item{item(skp, 2, fmt.Sprintf("nip-%04d", i), later), item(skp, 3, fmt.Sprintf("nip-%04d", i), later.Add(time.Hour))}
			if i%400 == 0 { // skp-0000, skp-0400, skp-0800
				items = append(items, item(skp, 1, fmt.Sprintf("nip-%04d", i), now.Add(-time.Duration(i)*time.Minute)))
			}
			if err := s.ReplaceItems(ctx, skp, items); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d0 := deadlinestore.Decodes()
	due, err := b.Due(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(due), []string{"RATE_PERIOD/skp-0800/Q1", "RATE_PERIOD/skp-0400/Q1", "RATE_PERIOD/skp-0000/Q1"}; !slices.Equal(got, want) {
		t.Fatalf("Due = %v, want %v (earliest first)", got, want)
	}
	if n := deadlinestore.Decodes() - d0; n != 3 {
		t.Errorf("Due decoded %d items, want the 3 due", n)
	}
	if due, _ := b.Due(ctx, now, 2); len(due) != 2 || due[0].Key != "RATE_PERIOD/skp-0800/Q1" {
		t.Errorf("Due(limit 2) = %v", keys(due))
	}
	fired := due[0]
	if fresh, err := b.MarkFired(ctx, fired, now, nil); err != nil || !fresh {
		t.Fatalf("MarkFired = %v, %v", fresh, err)
	}
	// The SKP's items written again (an event that changes another of its
	// items): what fired is not indexed again.
	err = b.Update(ctx, 8, func(s deadlines.Store) error {
		return s.ReplaceItems(ctx, "skp-0800", []deadlines.Item{item("skp-0800", 1, "nip-0800", fired.FireAt), item("skp-0800", 2, "nip-0800", later.Add(time.Minute))})
	})
	if err != nil {
		t.Fatal(err)
	}
	d0 = deadlinestore.Decodes()
	due, err = b.Due(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(due), []string{"RATE_PERIOD/skp-0400/Q1", "RATE_PERIOD/skp-0000/Q1"}; !slices.Equal(got, want) {
		t.Fatalf("Due after a firing = %v, want %v", got, want)
	}
	if n := deadlinestore.Decodes() - d0; n != 2 {
		t.Errorf("Due decoded %d items, want 2", n)
	}
	// Later everything is due: the rewritten item's new time included.
	if due, _ := b.Due(ctx, later.Add(2*time.Hour), 10_000); len(due) != 2001 {
		t.Errorf("Due(later) = %d items, want 2,001", len(due))
	}
	d0 = deadlinestore.Decodes()
	mine, err := b.ForRecipient(ctx, "nip-0400")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(mine), []string{"RATE_PERIOD/skp-0400/Q1", "RATE_PERIOD/skp-0400/Q2", "RATE_PERIOD/skp-0400/Q3"}; !slices.Equal(got, want) {
		t.Errorf("ForRecipient = %v, want %v", got, want)
	}
	if n := deadlinestore.Decodes() - d0; n != 3 {
		t.Errorf("ForRecipient decoded %d items, want 3", n)
	}
	// Removing an SKP's items removes their index entries.
	err = b.Update(ctx, 9, func(s deadlines.Store) error { return s.ReplaceItems(ctx, "skp-0400", nil) })
	if err != nil {
		t.Fatal(err)
	}
	if mine, _ := b.ForRecipient(ctx, "nip-0400"); len(mine) != 0 {
		t.Errorf("ForRecipient after removal = %v", keys(mine))
	}
	if due, _ := b.Due(ctx, now, 100); !slices.Equal(keys(due), []string{"RATE_PERIOD/skp-0000/Q1"}) {
		t.Errorf("Due after removal = %v", keys(due))
	}
	// A rebuild (Reset) indexes again only what has not fired.
	if err := b.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if due, _ := b.Due(ctx, later.Add(2*time.Hour), 10_000); len(due) != 0 {
		t.Errorf("Due after Reset = %d items", len(due))
	}
	err = b.Update(ctx, 9, func(s deadlines.Store) error {
		return s.ReplaceItems(ctx, "skp-0800", []deadlines.Item{item("skp-0800", 1, "nip-0800", fired.FireAt), item("skp-0800", 2, "nip-0800", later)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if due, _ := b.Due(ctx, later, 100); !slices.Equal(keys(due), []string{"RATE_PERIOD/skp-0800/Q2"}) {
		t.Errorf("Due after a rebuild = %v, want only the item that did not fire", keys(due))
	}
}

// TestBoltOpensAnEarlierLayout: a deadlines.db written by an earlier build
// (items and a by-SKP index with empty values, no due or recipient index)
// is indexed when it is opened, in several transactions, and then serves
// Due, ForRecipient and ReplaceItems as a new one does; its checkpoint,
// what fired and its outbox stay.
func TestBoltOpensAnEarlierLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	firedItem := item("skp-b", 1, "nip-b", now.Add(-time.Hour))
	items := []deadlines.Item{
		item("skp-a", 1, "nip-a", now.Add(-2*time.Hour)),
		item("skp-a", 2, "nip-a", now.Add(time.Hour)),
		firedItem,
		item("skp-c", 1, "nip-c", now.Add(-3*time.Hour)),
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		bk := map[string]*bolt.Bucket{}
		for _, name := range []string{"deadline_items", "deadline_by_skp", "deadline_fired", "deadline_outbox", "deadline_meta"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			bk[name] = b
		}
		for _, it := range items {
			v, _ := json.Marshal(it)
			if err := bk["deadline_items"].Put([]byte(it.Key), v); err != nil {
				return err
			}
			if err := bk["deadline_by_skp"].Put([]byte(it.SKPID+"\x00"+it.Key), nil); err != nil {
				return err
			}
		}
		if err := bk["deadline_fired"].Put([]byte(firedItem.FireID()), []byte(now.Format(time.RFC3339Nano))); err != nil {
			return err
		}
		if err := bk["deadline_outbox"].Put([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte(`{"ID":"m1","Body":"e30="}`)); err != nil {
			return err
		}
		return bk["deadline_meta"].Put([]byte("checkpoint"), []byte("42"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	defer deadlinestore.SetIndexBatch(1)()
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if cp, err := b.Checkpoint(ctx); err != nil || cp != 42 {
		t.Errorf("Checkpoint = %d, %v", cp, err)
	}
	if ob, err := b.Outbox(ctx, 10); err != nil || len(ob) != 1 || ob[0].ID != "m1" {
		t.Errorf("Outbox = %v, %v", ob, err)
	}
	due, err := b.Due(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(due), []string{"RATE_PERIOD/skp-c/Q1", "RATE_PERIOD/skp-a/Q1"}; !slices.Equal(got, want) {
		t.Errorf("Due = %v, want %v (not the one that fired)", got, want)
	}
	if mine, _ := b.ForRecipient(ctx, "nip-a"); !slices.Equal(keys(mine), []string{"RATE_PERIOD/skp-a/Q1", "RATE_PERIOD/skp-a/Q2"}) {
		t.Errorf("ForRecipient = %v", keys(mine))
	}
	// The earlier items' index entries go with them.
	if err := b.Update(ctx, 43, func(s deadlines.Store) error { return s.ReplaceItems(ctx, "skp-a", nil) }); err != nil {
		t.Fatal(err)
	}
	if mine, _ := b.ForRecipient(ctx, "nip-a"); len(mine) != 0 {
		t.Errorf("ForRecipient after removal = %v", keys(mine))
	}
	if due, _ := b.Due(ctx, now.Add(2*time.Hour), 10); !slices.Equal(keys(due), []string{"RATE_PERIOD/skp-c/Q1"}) {
		t.Errorf("Due after removal = %v", keys(due))
	}
	// Opened again: indexed once, not again.
	b.Close()
	b2, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if due, _ := b2.Due(ctx, now.Add(2*time.Hour), 10); !slices.Equal(keys(due), []string{"RATE_PERIOD/skp-c/Q1"}) {
		t.Errorf("Due after reopening = %v", keys(due))
	}
}

// TestBoltCompactsAMostlyFreeFile: after a churn that leaves most of the
// file's pages free (items written and then gone, as a catch-up does), the
// next OpenBolt rewrites the file without them, bounded by the bytes it
// holds, and keeps everything: checkpoint, items and indexes, what fired,
// the outbox and its sequence.
func TestBoltCompactsAMostlyFreeFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	old := deadlinestore.CompactMinBytes
	deadlinestore.CompactMinBytes = 1 << 20
	defer func() { deadlinestore.CompactMinBytes = old }()
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	for round := range 4 {
		err := b.Update(ctx, 1, func(s deadlines.Store) error {
			for i := range 3000 {
				skp := fmt.Sprintf("skp-%04d", i)
				var items []deadlines.Item
				if round < 3 || i < 100 {
					for q := range 4 {
						items = append(items, item(skp, q+round*10, "nip-"+skp, now.Add(time.Duration(q-2)*time.Hour)))
					}
				}
				if err := s.ReplaceItems(ctx, skp, items); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	due, err := b.Due(ctx, now, 1000)
	if err != nil || len(due) != 300 {
		t.Fatalf("Due = %d items, %v", len(due), err)
	}
	if _, err := b.MarkFired(ctx, due[0], now, &deadlines.OutboxMessage{ID: "m1", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	before := fileSize(t, path)

	b, err = deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	after := fileSize(t, path)
	t.Logf("file %d bytes before, %d after", before, after)
	if after*2 > before {
		t.Errorf("file %d bytes after opening, %d before: not compacted", after, before)
	}
	if after > 1<<20 { // 400 items and their indexes (bbolt grows a small file by doubling: 512 KiB)
		t.Errorf("file %d bytes for 400 items and their indexes", after)
	}
	if cp, _ := b.Checkpoint(ctx); cp != 1 {
		t.Errorf("Checkpoint = %d", cp)
	}
	if ok, _ := b.Fired(ctx, due[0].FireID()); !ok {
		t.Error("the firing was lost")
	}
	if due2, _ := b.Due(ctx, now, 1000); len(due2) != 299 {
		t.Errorf("Due after compaction = %d items, want 299", len(due2))
	}
	if _, err := b.MarkFired(ctx, due[1], now, &deadlines.OutboxMessage{ID: "m2", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if ob, _ := b.Outbox(ctx, 10); len(ob) != 2 || ob[0].ID != "m1" || ob[1].ID != "m2" {
		t.Errorf("Outbox = %v", ob)
	}
	if mine, _ := b.ForRecipient(ctx, "nip-skp-0007"); len(mine) != 4 {
		t.Errorf("ForRecipient = %v", keys(mine))
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestBoltMovedDeadlineIsDueAgain: an item that fired, written again with
// the same key and fire time but another deadline, is a new firing and is
// due again.
func TestBoltMovedDeadlineIsDueAgain(t *testing.T) {
	ctx := context.Background()
	b, err := deadlinestore.OpenBolt(filepath.Join(t.TempDir(), "deadlines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	it := item("skp-1", 1, "nip-1", now.Add(-time.Hour))
	if err := b.Update(ctx, 1, func(s deadlines.Store) error { return s.ReplaceItems(ctx, "skp-1", []deadlines.Item{it}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.MarkFired(ctx, it, now, nil); err != nil {
		t.Fatal(err)
	}
	if due, _ := b.Due(ctx, now, 10); len(due) != 0 {
		t.Fatalf("Due after the firing = %v", keys(due))
	}
	moved := it
	moved.Due = it.Due.Add(48 * time.Hour)
	if err := b.Update(ctx, 2, func(s deadlines.Store) error { return s.ReplaceItems(ctx, "skp-1", []deadlines.Item{moved}) }); err != nil {
		t.Fatal(err)
	}
	due, err := b.Due(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].FireID() != moved.FireID() {
		t.Fatalf("Due after the deadline moved = %v, %v", keys(due), err)
	}
}
