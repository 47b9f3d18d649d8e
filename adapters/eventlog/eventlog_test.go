package eventlog_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// openStore opens a bbolt store in a temporary directory, closed when the
// test ends.
func openStore(t *testing.T) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTripAndConcurrency(t *testing.T) {
	s := openStore(t)
	log := eventlog.New(s)
	ctx := context.Background()
	if _, _, exists, err := log.Load(ctx, "unit-x"); err != nil || exists {
		t.Fatalf("Load(missing) = exists %v, %v", exists, err)
	}
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ne := domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{
		Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin}, CorrelationID: "c", CausationID: "k", Reason: "why", OccurredAt: at,
	}, Event: orgunit.Registered{UnitID: "x", Name: "Biro X"}}
	rev, err := log.Append(ctx, "unit-x", domain.NoStream, []domain.NewEvent{ne})
	if err != nil || rev != 0 {
		t.Fatalf("Append = %d, %v", rev, err)
	}
	got, rev, exists, err := log.Load(ctx, "unit-x")
	if err != nil || !exists || rev != 0 || len(got) != 1 {
		t.Fatalf("Load = %v, %d, %v, %v", got, rev, exists, err)
	}
	if diff := cmp.Diff(ne.Meta, got[0].Meta); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ne.Event, got[0].Event); diff != "" || got[0].ID != ne.ID {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	_, err = log.Append(ctx, "unit-x", domain.NoStream, []domain.NewEvent{{ID: uuid.New(), Meta: ne.Meta, Event: ne.Event}})
	if !errors.Is(err, domain.ErrConcurrency) {
		t.Errorf("Append(NoStream) on an existing stream = %v, want domain.ErrConcurrency", err)
	}
}

func TestCachedLoadEqualsStoreAcrossAppendsAndEviction(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	plain, cached := eventlog.New(s), eventlog.NewCached(s, 7*500) // about seven events: forces eviction
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	add := func(stream string, n int) {
		for range n {
			_, rev, exists, err := plain.Load(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			exp := domain.NoStream
			if exists {
				exp = domain.ExactRevision(rev)
			}
			ne := domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr"}, OccurredAt: at},
				Event: orgunit.Registered{UnitID: stream, Name: "x"}}
			if _, err := plain.Append(ctx, stream, exp, []domain.NewEvent{ne}); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(stream string) {
		t.Helper()
		want, wrev, wok, werr := plain.Load(ctx, stream)
		got, grev, gok, gerr := cached.Load(ctx, stream)
		if werr != nil || gerr != nil || wrev != grev || wok != gok {
			t.Fatalf("%s: cached Load = %d %v %v, store %d %v %v", stream, grev, gok, gerr, wrev, wok, werr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: cached events differ (-store +cached):\n%s", stream, diff)
		}
		// Appending to what Load returned must not corrupt the cache.
		_ = append(got, domain.Stored{})
	}
	check("a") // missing
	add("a", 3)
	check("a")
	add("a", 2) // the cache holds 3 and tops up with 2
	check("a")
	add("b", 4)
	check("b") // evicts a (7 events held at most)
	check("a")
	add("a", 1)
	check("a")
	check("b")
	// Concurrent loads of a growing stream.
	done := make(chan struct{})
	go func() {
		defer close(done)
		add("c", 5)
	}()
	for range 20 {
		if _, _, _, err := cached.Load(ctx, "c"); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	check("c")
}

// TestCachedSeesItsOwnAppendAtOnce: a load right after an append returns
// must include it (the commit count moves before the append returns).
func TestCachedSeesItsOwnAppendAtOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	log := eventlog.NewCached(s, 0)
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := range 200 {
		exp := domain.NoStream
		if i > 0 {
			exp = domain.ExactRevision(uint64(i - 1))
		}
		ne := domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr"}, OccurredAt: at}, Event: orgunit.Registered{UnitID: "u", Name: "x"}}
		if _, err := log.Append(ctx, "unit-u", exp, []domain.NewEvent{ne}); err != nil {
			t.Fatal(err)
		}
		if _, rev, _, err := log.Load(ctx, "unit-u"); err != nil || rev != uint64(i) {
			t.Fatalf("Load right after append %d = revision %d, %v", i, rev, err)
		}
	}
}

// TestCachedIsBoundedByBytes: the cache holds no more than its bound in
// estimated bytes, whatever the size of the events (a few large ones count
// as much as many small ones), and a stream larger than the whole bound is
// loaded right but not kept.
func TestCachedIsBoundedByBytes(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	const max = 64 << 10
	cached := eventlog.NewCached(s, max)
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i, size := range []int{10, 2000, 2000, 2000, 50, 2000, 100_000} {
		stream := "unit-u" + strconv.Itoa(i)
		var evs []domain.NewEvent
		for range 8 {
			evs = append(evs, domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr"}, OccurredAt: at},
				Event: orgunit.Registered{UnitID: stream, Name: strings.Repeat("n", size)}})
		}
		if _, err := cached.Append(ctx, stream, domain.NoStream, evs); err != nil {
			t.Fatal(err)
		}
		got, _, ok, err := cached.Load(ctx, stream)
		if err != nil || !ok || len(got) != 8 {
			t.Fatalf("Load(%s) = %d events, %v, %v", stream, len(got), ok, err)
		}
		if held := cached.Held(); held > max || held == 0 && size < 1000 {
			t.Fatalf("after %s (%d-byte names) the cache holds %d bytes, bound %d", stream, size, held, max)
		}
	}
}
