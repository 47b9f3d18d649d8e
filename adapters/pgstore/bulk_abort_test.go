package pgstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestBulkAbortWritesNothingMore: a Bulk stopped with Abort (a cancelled
// seed) keeps the chunks committed before and writes nothing of what it
// held: neither the chunk being filled nor one waiting for the flusher
// (Close would commit both). Later appends and Close fail.
func TestBulkAbortWritesNothingMore(t *testing.T) {
	s := openTest(t, Options{})
	b := newBulk(t, s, BulkOptions{ChunkEvents: 10})
	ctx := tctx(t)
	for i := range 10 {
		if _, err := b.Append(ctx, fmt.Sprintf("done-%d", i), eventstore.NoStream, ev("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// 25 more: two chunks full (rotated to the flusher) and one filling.
	for i := range 25 {
		if _, err := b.Append(ctx, fmt.Sprintf("held-%d", i), eventstore.NoStream, ev("x")); err != nil {
			t.Fatal(err)
		}
	}
	committed := b.Abort()
	stored := readAll(t, s)
	if len(stored) != int(committed) || committed < 10 || committed%10 != 0 {
		t.Fatalf("after Abort: %d events stored, Abort says %d committed; want the 10 flushed and whole chunks only", len(stored), committed)
	}
	for _, e := range stored[10:] {
		// A chunk rotated before the Abort may have been copied already:
		// whole chunks only, the one being filled never.
		if e.Stream == "held-20" || e.Stream == "held-24" {
			t.Fatalf("the chunk being filled was written: %s", e.Stream)
		}
	}
	if _, err := b.Append(ctx, "late", eventstore.NoStream, ev("x")); err == nil {
		t.Fatal("Append after Abort succeeded")
	}
	if err := b.Close(); !errors.Is(err, ErrBulkAborted) {
		t.Fatalf("Close after Abort = %v; want ErrBulkAborted", err)
	}
	if n := len(readAll(t, s)); n != len(stored) {
		t.Fatalf("Close after Abort wrote %d more events", n-len(stored))
	}
}
