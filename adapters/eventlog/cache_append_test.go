package eventlog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"iter"
	"path/filepath"
	"sync/atomic"
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

// counting wraps a store, counting the events its stream reads yield, and
// can make appends lie: fail after writing (an outcome the caller cannot
// know), answer with another head hash, or omit RecordedAt. It hides the
// store's commit counter, as a store shared with other processes has none.
type counting struct {
	eventstore.Store
	read atomic.Int64
	// failAfterWrite, lieHash and noRecordedAt change the next append's
	// answer.
	failAfterWrite, lieHash, noRecordedAt bool
}

func (c *counting) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range c.Store.ReadStream(ctx, stream, opts) {
			if err == nil {
				c.read.Add(1)
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

func (c *counting) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := c.Store.Append(ctx, stream, expected, events...)
	if err != nil {
		return res, err
	}
	switch {
	case c.failAfterWrite:
		c.failAfterWrite = false
		return eventstore.AppendResult{}, context.DeadlineExceeded
	case c.lieHash:
		c.lieHash = false
		res.Hash[0] ^= 1
	case c.noRecordedAt:
		c.noRecordedAt = false
		res.RecordedAt = time.Time{}
	}
	return res, nil
}

var (
	testKey     = eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize)))
	testTrusted = eventstore.NewKeyring(testKey.Public())
)

// openSigned opens a bbolt store signing with testKey.
func openSigned(t testing.TB) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{Signer: testKey, Keyring: testTrusted})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newCached(s eventstore.Store) *eventlog.Cached {
	c := eventlog.NewCached(s, 0)
	c.RequireSignatures(testTrusted)
	return c
}

func unitEvent(name string) domain.NewEvent {
	return domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{
		Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin}, CorrelationID: "c", Reason: "r",
		// Nanoseconds and a zone: the store keeps microseconds in UTC, and
		// so must the cache.
		OccurredAt: time.Date(2026, 1, 5, 9, 0, 0, 123456789, time.FixedZone("WIB", 7*3600)),
	}, Event: orgunit.Registered{UnitID: "x", Name: name}}
}

// appendNext appends one event after the head log loads.
func appendNext(t testing.TB, log domain.EventLog, stream, name string) error {
	t.Helper()
	_, rev, ok, err := log.Load(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	exp := domain.NoStream
	if ok {
		exp = domain.ExactRevision(rev)
	}
	_, err = log.Append(context.Background(), stream, exp, []domain.NewEvent{unitEvent(name)})
	return err
}

// sameAsStore fails unless log loads stream exactly as an uncached,
// authenticating Log over the store does.
func sameAsStore(t *testing.T, s eventstore.Store, log domain.EventLog, stream string, signed bool) {
	t.Helper()
	plain := eventlog.New(s)
	if signed {
		plain.RequireSignatures(testTrusted)
	}
	want, wrev, _, err := plain.Load(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	got, grev, _, err := log.Load(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" || wrev != grev {
		t.Fatalf("%s: cached load differs from the store's (rev %d, store %d) (-store +cached):\n%s", stream, grev, wrev, diff)
	}
}

// TestCachedKeepsItsOwnAppends: after an acknowledged append, the next
// load reads nothing of it from the store (so verifies no signature of
// it), and returns exactly what the store holds.
func TestCachedKeepsItsOwnAppends(t *testing.T) {
	for _, signed := range []bool{true, false} {
		t.Run(map[bool]string{true: "signed", false: "unsigned"}[signed], func(t *testing.T) {
			var c *counting
			var log *eventlog.Cached
			if signed {
				c = &counting{Store: openSigned(t)}
				log = newCached(c)
			} else {
				c = &counting{Store: openStore(t)}
				log = eventlog.NewCached(c, 0)
			}
			ctx := context.Background()
			if err := appendNext(t, log, "unit-a", "first"); err != nil {
				t.Fatal(err)
			}
			// Appends elsewhere before any load (16 clients on different
			// SKPs just after a start).
			for range 3 {
				if _, err := log.Append(ctx, "unit-z"+uuid.NewString(), domain.NoStream, []domain.NewEvent{unitEvent("z")}); err != nil {
					t.Fatal(err)
				}
			}
			// The first load after the first append authenticates it (and
			// learns that the store signs with a trusted key).
			if _, _, _, err := log.Load(ctx, "unit-a"); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := appendNext(t, log, "unit-a", "n"); err != nil {
					t.Fatal(err)
				}
				c.read.Store(0)
				evs, rev, ok, err := log.Load(ctx, "unit-a")
				if err != nil || !ok || rev != uint64(i+1) || len(evs) != i+2 {
					t.Fatalf("Load after append %d = %d events, rev %d, %v, %v", i, len(evs), rev, ok, err)
				}
				if n := c.read.Load(); n != 0 {
					t.Fatalf("the load after this process's own append read %d events from the store, want 0", n)
				}
			}
			// A new stream's first append is kept too.
			if _, err := log.Append(ctx, "unit-b", domain.NoStream, []domain.NewEvent{unitEvent("b"), unitEvent("b2")}); err != nil {
				t.Fatal(err)
			}
			c.read.Store(0)
			if _, rev, _, err := log.Load(ctx, "unit-b"); err != nil || rev != 1 || c.read.Load() != 0 {
				t.Fatalf("Load of a stream this process created = rev %d, %v, %d events read; want rev 1, none read", rev, err, c.read.Load())
			}
			sameAsStore(t, c.Store, log, "unit-a", signed)
			sameAsStore(t, c.Store, log, "unit-b", signed)
		})
	}
}

// TestCachedNeverServesAStaleStream: two writers on one store (two
// handlers in one process, or two processes: without the commit count)
// each keep their own appends, and each sees the other's at once.
func TestCachedNeverServesAStaleStream(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "one process", true: "two processes"}[shared], func(t *testing.T) {
			s := openSigned(t)
			var store eventstore.Store = s
			if shared {
				store = &counting{Store: s} // no commit count
			}
			a, b := newCached(store), newCached(store)
			ctx := context.Background()
			for i := range 6 {
				w, r := a, b
				if i%2 == 1 {
					w, r = b, a
				}
				if err := appendNext(t, w, "unit-s", "n"); err != nil {
					t.Fatal(err)
				}
				if _, rev, _, err := r.Load(ctx, "unit-s"); err != nil || rev != uint64(i) {
					t.Fatalf("round %d: the other writer loads rev %d, %v; want %d", i, rev, err, i)
				}
				if _, rev, _, err := w.Load(ctx, "unit-s"); err != nil || rev != uint64(i) {
					t.Fatalf("round %d: the writer loads rev %d, %v; want %d", i, rev, err, i)
				}
			}
			// a appends twice in a row; b, which cached rev 5, must see both.
			for range 2 {
				if err := appendNext(t, a, "unit-s", "a"); err != nil {
					t.Fatal(err)
				}
			}
			// An append on b's stale revision is refused and cached nothing.
			if _, err := b.Append(ctx, "unit-s", domain.ExactRevision(5), []domain.NewEvent{unitEvent("stale")}); !errors.Is(err, domain.ErrConcurrency) {
				t.Fatalf("append on a stale revision = %v, want ErrConcurrency", err)
			}
			sameAsStore(t, s, b, "unit-s", true)
			sameAsStore(t, s, a, "unit-s", true)
		})
	}
}

// TestCachedKeepsOnlyWhatTheStoreProved: an append whose outcome is
// unknown, whose acknowledged head is not the chain of the events written
// onto the cached head, or whose recording time the store did not report,
// adds nothing to the cache: the next load reads (and authenticates) it.
func TestCachedKeepsOnlyWhatTheStoreProved(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*counting)
	}{
		{"outcome unknown", func(c *counting) { c.failAfterWrite = true }},
		{"head hash differs", func(c *counting) { c.lieHash = true }},
		{"no recorded time", func(c *counting) { c.noRecordedAt = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counting{Store: openSigned(t)}
			log := newCached(c)
			ctx := context.Background()
			for range 2 { // the second is kept (the first teaches the signer)
				if err := appendNext(t, log, "unit-u", "n"); err != nil {
					t.Fatal(err)
				}
			}
			tc.set(c)
			_ = appendNext(t, log, "unit-u", "uncertain")
			c.read.Store(0)
			_, rev, _, err := log.Load(ctx, "unit-u")
			if err != nil || rev != 2 {
				t.Fatalf("Load = rev %d, %v; want 2", rev, err)
			}
			if n := c.read.Load(); n != 1 {
				t.Fatalf("the load after an unproven append read %d events from the store, want 1 (it must be read and authenticated)", n)
			}
			sameAsStore(t, c.Store, log, "unit-u", true)
		})
	}
}

// TestCachedCatchesForgeryBeyondItsOwnAppend: an event inserted behind the
// cache's back after this process's own append is refused on the next
// load, whether it is unsigned or signed over a chain that does not link
// to the head the cache holds (the store disagrees with the cache).
func TestCachedCatchesForgeryBeyondItsOwnAppend(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*forging, *eventlog.Cached) {
		f := &forging{Store: openSigned(t)}
		log := newCached(f)
		for range 3 {
			if err := appendNext(t, log, "unit-f", "n"); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, _, err := log.Load(ctx, "unit-f"); err != nil {
			t.Fatal(err)
		}
		return f, log
	}
	t.Run("unsigned", func(t *testing.T) {
		f, log := setup(t)
		f.forge(t, "unit-f")
		if _, _, _, err := log.Load(ctx, "unit-f"); !errors.Is(err, eventstore.ErrUnsigned) {
			t.Fatalf("Load after a forged insert = %v, want ErrUnsigned", err)
		}
	})
	t.Run("signed onto another head", func(t *testing.T) {
		f, log := setup(t)
		d, err := eventlog.Encode(unitEvent("forged"))
		if err != nil {
			t.Fatal(err)
		}
		var other eventstore.Hash
		other[0] = 7
		ev := eventstore.Event{EventData: d, Stream: "unit-f", Revision: 3, Position: 1 << 40, RecordedAt: time.Now().UTC(),
			Hash: eventstore.ChainHash(other, "unit-f", 3, &d)}
		if ev.Signature, err = eventstore.SignHash(testKey, ev.Hash); err != nil {
			t.Fatal(err)
		}
		f.stream, f.forged = "unit-f", &ev
		for i := range 2 { // the second load reads the stream whole
			if _, _, _, err := log.Load(ctx, "unit-f"); !errors.Is(err, eventstore.ErrIntegrity) {
				t.Fatalf("load %d after an event chained onto another head = %v, want ErrIntegrity", i, err)
			}
		}
	})
}
