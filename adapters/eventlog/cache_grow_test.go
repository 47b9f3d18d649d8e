package eventlog_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/domain"
)

// TestCachedExtendsInPlace: appending to a cached stream, by this process
// (Append) or by another writer (read at the next load), extends the
// cached array in place rather than copying the whole stream each time;
// the slices handed out before are never changed, and have no spare
// capacity their holders could append into.
func TestCachedExtendsInPlace(t *testing.T) {
	s := openSigned(t)
	log := newCached(s)
	other := newCached(s)
	ctx := context.Background()
	for _, w := range []struct {
		name   string
		writer *struct{}
	}{{"own", nil}, {"other", &struct{}{}}} {
		t.Run(w.name, func(t *testing.T) {
			stream := "unit-" + w.name
			arrays := map[*domain.Stored]bool{}
			var held [][]domain.Stored
			var copies [][]domain.Stored
			const n = 64
			for i := range n {
				writer := log
				if w.writer != nil {
					writer = other
				}
				if err := appendNext(t, writer, stream, "e"); err != nil {
					t.Fatal(err)
				}
				evs, rev, _, err := log.Load(ctx, stream)
				if err != nil || rev != uint64(i) {
					t.Fatalf("load = rev %d, %v; want %d", rev, err, i)
				}
				if cap(evs) != len(evs) {
					t.Fatalf("load handed out spare capacity (len %d cap %d)", len(evs), cap(evs))
				}
				arrays[&evs[0]] = true
				held = append(held, evs)
				copies = append(copies, append([]domain.Stored(nil), evs...))
			}
			// Doubling from the first append: about log2(64) arrays; a copy
			// per append makes one each.
			if len(arrays) > 12 {
				t.Errorf("%d arrays for %d appends: the cached stream is copied as it grows", len(arrays), n)
			}
			for i := range held {
				if diff := cmp.Diff(copies[i], held[i]); diff != "" {
					t.Fatalf("the load %d handed out changed later:\n%s", i, diff)
				}
			}
			sameAsStore(t, s, log, stream, true)
		})
	}
}
