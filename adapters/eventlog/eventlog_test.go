package eventlog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"iter"
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
	"github.com/kinerja-ledger/kinerja/eventstore"
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

// forging wraps a store and serves, at the end of one stream, an event an
// insider inserted into the database: unsigned, with a correctly
// recomputed chain hash.
type forging struct {
	eventstore.Store
	stream string
	forged *eventstore.Event
}

func (f *forging) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		var last *eventstore.Event
		for ev, err := range f.Store.ReadStream(ctx, stream, opts) {
			if errors.Is(err, eventstore.ErrStreamNotFound) && f.forged != nil && stream == f.stream && f.forged.Revision >= opts.From {
				break
			}
			if !yield(ev, err) || err != nil {
				return
			}
			last = &ev
		}
		if f.forged != nil && stream == f.stream && f.forged.Revision >= opts.From && (last == nil || last.Revision < f.forged.Revision) {
			yield(*f.forged, nil)
		}
	}
}

// forge makes the next revision of stream a forged rating of its own.
func (f *forging) forge(t *testing.T, stream string) {
	t.Helper()
	var head eventstore.Head
	for ev, err := range f.Store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		head = eventstore.Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash}
	}
	d, err := eventlog.Encode(domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin},
		OccurredAt: time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)}, Event: orgunit.Registered{UnitID: "forged", Name: "Forged"}})
	if err != nil {
		t.Fatal(err)
	}
	ev := eventstore.Event{EventData: d, Stream: stream, Revision: head.Next(), Position: 1 << 40, RecordedAt: time.Now().UTC(),
		Hash: eventstore.ChainHash(head.Hash, stream, head.Next(), &d)}
	f.stream, f.forged = stream, &ev
}

func TestLoadsAreAuthenticated(t *testing.T) {
	key := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize)))
	other := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize)))
	trusted := eventstore.NewKeyring(key.Public())
	ctx := context.Background()
	register := func(t *testing.T, log domain.EventLog, stream string, n int) {
		t.Helper()
		for i := range n {
			exp := domain.NoStream
			if i > 0 {
				exp = domain.ExactRevision(uint64(i - 1))
			}
			ne := domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin}, OccurredAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)},
				Event: orgunit.Registered{UnitID: "x", Name: "Biro X"}}
			if _, err := log.Append(ctx, stream, exp, []domain.NewEvent{ne}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "log", true: "cached"}[cached], func(t *testing.T) {
			open := func(signer eventstore.Signer) (*forging, domain.EventLog) {
				s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{Signer: signer, Keyring: eventstore.NewKeyring(key.Public(), other.Public())})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				f := &forging{Store: s}
				if cached {
					c := eventlog.NewCached(f, 0)
					c.RequireSignatures(trusted)
					return f, c
				}
				l := eventlog.New(f)
				l.RequireSignatures(trusted)
				return f, l
			}
			f, log := open(key)
			register(t, log, "unit-x", 3)
			if got, rev, ok, err := log.Load(ctx, "unit-x"); err != nil || !ok || rev != 2 || len(got) != 3 {
				t.Fatalf("Load of a sound stream = %d events, rev %d, %v, %v", len(got), rev, ok, err)
			}
			f.forge(t, "unit-x")
			_, _, _, err := log.Load(ctx, "unit-x")
			var ie *eventstore.IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrUnsigned) || ie.EventID != f.forged.ID {
				t.Fatalf("Load of a stream with a forged insert = %v, want ErrUnsigned naming the forged event", err)
			}
			// Events of a key the reader does not trust.
			_, log2 := open(other)
			register(t, log2, "unit-y", 1)
			if _, _, _, err := log2.Load(ctx, "unit-y"); !errors.Is(err, eventstore.ErrUnknownKey) {
				t.Errorf("Load of another key's events = %v, want ErrUnknownKey", err)
			}
		})
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
