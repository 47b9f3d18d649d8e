package skp_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestReadCacheServesEachRevisionOnce: a Service with a ReadCache answers
// exactly as one without, at every revision; a revision is replayed once;
// a new revision is never served an old SKP.
func TestReadCacheServesEachRevisionOnce(t *testing.T) {
	f := newFixture(t)
	cache := skp.NewReadCache(200)
	cached := &skp.Service{Handler: f.skps.Handler, Policy: f.pol, Reads: cache}
	caller := domain.Principal{ID: nipA}
	check := func(reads int) {
		t.Helper()
		want, err := f.skps.Read(f.ctx, caller, f.skpA, skp.AsOf{})
		if err != nil {
			t.Fatal(err)
		}
		for range reads {
			got, err := cached.Read(f.ctx, caller, f.skpA, skp.AsOf{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("cached read differs (-uncached +cached):\n%s", diff)
			}
		}
	}
	check(3)
	if st := cache.Stats(); st.Misses != 1 || st.Hits != 2 {
		t.Errorf("after 3 reads of one revision: %+v, want 1 miss and 2 hits", st)
	}
	// A new event: the next read replays, and shows it.
	f.ok(f.skps.Amend(f.ctx, f.req(nipS), skp.Amend{SKPID: f.skpA, Reason: "reorganisasi"}))
	check(2)
	if st := cache.Stats(); st.Misses != 2 || st.Hits != 3 {
		t.Errorf("after a new revision: %+v, want 2 misses and 3 hits", st)
	}
}

// TestReadCacheKeepsHistoricalReads: a read as of a past revision is
// replayed once, answers as an uncached one does, and does not disturb the
// current revision's entry.
func TestReadCacheKeepsHistoricalReads(t *testing.T) {
	f := newFixture(t)
	cache := skp.NewReadCache(800)
	cached := &skp.Service{Handler: f.skps.Handler, Policy: f.pol, Reads: cache}
	caller := domain.Principal{ID: nipA}
	f.ok(f.skps.Amend(f.ctx, f.req(nipS), skp.Amend{SKPID: f.skpA, Reason: "reorganisasi"}))
	now, err := f.skps.Read(f.ctx, caller, f.skpA, skp.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	past := now.Revision - 1
	want, err := f.skps.Read(f.ctx, caller, f.skpA, skp.AsOf{Revision: &past})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := cached.Read(f.ctx, caller, f.skpA, skp.AsOf{Revision: &past})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("cached historical read differs (-uncached +cached):\n%s", diff)
		}
	}
	got, err := cached.Read(f.ctx, caller, f.skpA, skp.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(now, got); diff != "" {
		t.Fatalf("current read after historical ones differs (-uncached +cached):\n%s", diff)
	}
	// Every read loads the current SKP to authorise (1 miss, then hits);
	// the historical state is replayed once (1 miss, then 2 hits).
	if st := cache.Stats(); st.Misses != 2 || st.Hits != 5 {
		t.Errorf("after 3 historical reads and 1 current: %+v, want 2 misses and 5 hits", st)
	}
}

// TestReadCacheIsBoundedByEvents: reads at many past revisions, each kept
// under its own key, never hold more events than the bound; an SKP larger
// than the whole bound is served but not kept.
func TestReadCacheIsBoundedByEvents(t *testing.T) {
	f := newFixture(t)
	caller := domain.Principal{ID: nipA}
	now, err := f.skps.Read(f.ctx, caller, f.skpA, skp.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	events := int(now.Revision) + 1
	for _, max := range []int{events * 2, events + 1, events - 1} {
		cache := skp.NewReadCache(max)
		cached := &skp.Service{Handler: f.skps.Handler, Policy: f.pol, Reads: cache}
		for rev := range now.Revision + 1 {
			if _, err := cached.Read(f.ctx, caller, f.skpA, skp.AsOf{Revision: &rev}); err != nil {
				t.Fatal(err)
			}
			if held := cache.Held(); held > max {
				t.Fatalf("bound %d: after reading revision %d the cache holds %d events", max, rev, held)
			}
		}
	}
}
