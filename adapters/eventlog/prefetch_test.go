package eventlog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"iter"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// tailCounting counts the reads that reach the store.
type tailCounting struct {
	eventstore.Store
	streams, tails atomic.Int64
	lastReqs       []eventstore.TailRequest
}

func (c *tailCounting) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	c.streams.Add(1)
	return c.Store.ReadStream(ctx, stream, opts)
}

func (c *tailCounting) ReadTails(ctx context.Context, reqs []eventstore.TailRequest) ([]eventstore.Tail, error) {
	c.tails.Add(1)
	c.lastReqs = append([]eventstore.TailRequest(nil), reqs...)
	return c.Store.(eventstore.TailsReader).ReadTails(ctx, reqs)
}

var prefetchSigner = eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))

// pgSchema makes a fresh event schema in the test database and returns a
// function opening a store on it (each its own pool: another process).
func pgSchema(t *testing.T) (open func() *pgstore.Store, url, schema string) {
	t.Helper()
	url = os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set, and KINERJA_REQUIRE_INTEGRATION=1 requires PostgreSQL tests to run")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema = "eventlog_prefetch_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := pgstore.MigrateURL(ctx, url, schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pool, err := pgxpool.New(context.Background(), url); err == nil {
			pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			pool.Close()
		}
	})
	open = func() *pgstore.Store {
		s, err := pgstore.Connect(ctx, url, pgstore.Options{Schema: schema, Signer: prefetchSigner, Keyring: eventstore.NewKeyring(prefetchSigner.Public())})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open, url, schema
}

func registerN(t *testing.T, log domain.EventLog, stream string, n int) {
	t.Helper()
	ctx := context.Background()
	_, rev, exists, err := eventlog.New(log.(interface{ Store() eventstore.Store }).Store()).Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		exp := domain.NoStream
		if exists {
			exp = domain.ExactRevision(rev)
		}
		ne := domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin},
			OccurredAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}, Event: orgunit.Registered{UnitID: "x", Name: "Biro X"}}
		rev, err = log.Append(ctx, stream, exp, []domain.NewEvent{ne})
		if err != nil {
			t.Fatal(err)
		}
		exists = true
	}
}

// TestPrefetchOneRoundTripStronglyConsistent: on PostgreSQL, a Prefetch of
// three streams is one statement, the loads that follow ask the store
// nothing, and what they return equals a plain read; a write through
// another Store on the same database is seen by the next Prefetch, which
// asks only for what follows the cached prefix.
func TestPrefetchOneRoundTripStronglyConsistent(t *testing.T) {
	open, _, _ := pgSchema(t)
	mine, other := &tailCounting{Store: open()}, open()
	keys := eventstore.NewKeyring(prefetchSigner.Public())
	cached := eventlog.NewCached(mine, 0)
	cached.RequireSignatures(keys)
	writer := eventlog.New(other)
	plain := eventlog.New(other)
	plain.RequireSignatures(keys)
	ctx := context.Background()
	registerN(t, writer, "unit-a", 3)
	registerN(t, writer, "unit-b", 1)
	streams := []string{"unit-a", "unit-b", "unit-missing", "bad\x00name"}

	check := func(round string, wantFrom map[string]uint64) {
		t.Helper()
		mine.streams.Store(0)
		mine.tails.Store(0)
		pctx := cached.Prefetch(ctx, streams...)
		if n := mine.tails.Load(); n != 1 {
			t.Fatalf("%s: Prefetch made %d tail reads, want 1", round, n)
		}
		for _, r := range mine.lastReqs {
			if want, ok := wantFrom[r.Stream]; ok && r.From != want {
				t.Errorf("%s: asked for %s from %d, want %d (the cached prefix)", round, r.Stream, r.From, want)
			}
		}
		for _, s := range streams {
			want, wrev, wok, werr := plain.Load(ctx, s)
			got, grev, gok, gerr := cached.Load(pctx, s)
			if werr != nil || gerr != nil || wrev != grev || wok != gok {
				t.Fatalf("%s: %q: prefetched Load = %d %v %v, store %d %v %v", round, s, grev, gok, gerr, wrev, wok, werr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s: %q: prefetched events differ (-store +prefetched):\n%s", round, s, diff)
			}
		}
		if n := mine.streams.Load(); n != 0 {
			t.Errorf("%s: loads after Prefetch made %d stream reads, want 0 (one round trip per request)", round, n)
		}
	}
	check("cold", map[string]uint64{"unit-a": 0, "unit-b": 0})
	// Another process appends: the next request sees it, asking only for
	// the new events.
	registerN(t, writer, "unit-a", 2)
	check("after another store's append", map[string]uint64{"unit-a": 3, "unit-b": 1})
	registerN(t, writer, "unit-missing", 1)
	check("a new stream", map[string]uint64{"unit-a": 5, "unit-b": 1, "unit-missing": 0})
	// Without a Prefetch in the context, Load reads the store as before.
	mine.streams.Store(0)
	if _, _, _, err := cached.Load(ctx, "unit-a"); err != nil || mine.streams.Load() == 0 {
		t.Errorf("Load without Prefetch = %v after %d stream reads, want a read", err, mine.streams.Load())
	}
}

// TestPrefetchRefusesTamperedTail: an event beyond the cached prefix that
// was altered in the database, or inserted there without a signature, is
// not served from a Prefetch; the Load that follows reads the stream
// itself and fails with an integrity error.
func TestPrefetchRefusesTamperedTail(t *testing.T) {
	open, url, schema := pgSchema(t)
	st := open()
	keys := eventstore.NewKeyring(prefetchSigner.Public())
	cached := eventlog.NewCached(st, 0)
	cached.RequireSignatures(keys)
	writer := eventlog.New(open())
	ctx := context.Background()
	registerN(t, writer, "unit-t", 2)
	if _, _, _, err := cached.Load(cached.Prefetch(ctx, "unit-t"), "unit-t"); err != nil {
		t.Fatal(err) // cached: revisions 0 and 1
	}
	registerN(t, writer, "unit-t", 2) // revisions 2 and 3, not cached
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	tag, err := conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "events"}.Sanitize()+`
		SET data = replace(convert_from(data, 'UTF8'), 'Biro X', 'Biro Y')::bytea WHERE stream = 'unit-t' AND revision = 2`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("tamper: %v, %d rows", err, tag.RowsAffected())
	}
	for range 2 { // the second time, from the whole stream (the first dropped the cache)
		got, _, _, err := cached.Load(cached.Prefetch(ctx, "unit-t"), "unit-t")
		if !errors.Is(err, eventstore.ErrIntegrity) {
			t.Fatalf("Load of a tampered tail = %d events, %v; want ErrIntegrity", len(got), err)
		}
	}
}

// TestPrefetchOnBoltChangesNothing: on bbolt (no TailsReader; a cached
// stream is proved complete by the commit counter), Prefetch leaves the
// context as it is and loads behave as before.
func TestPrefetchOnBoltChangesNothing(t *testing.T) {
	s := openStore(t)
	cached := eventlog.NewCached(s, 0)
	registerN(t, eventlog.New(s), "unit-a", 3)
	ctx := context.Background()
	if got := cached.Prefetch(ctx, "unit-a", "unit-missing"); got != ctx {
		t.Fatalf("Prefetch on bbolt returned a new context")
	}
	got, rev, ok, err := cached.Load(ctx, "unit-a")
	if err != nil || !ok || rev != 2 || len(got) != 3 {
		t.Fatalf("Load = %d events, rev %d, %v, %v", len(got), rev, ok, err)
	}
	registerN(t, eventlog.New(s), "unit-a", 1)
	if got, rev, ok, err = cached.Load(cached.Prefetch(ctx, "unit-a"), "unit-a"); err != nil || !ok || rev != 3 || len(got) != 4 {
		t.Fatalf("Load after an append = %d events, rev %d, %v, %v", len(got), rev, ok, err)
	}
}

// BenchmarkWarmRead prices the read of GET /v1/skps/{id} on PostgreSQL
// with every stream cached: three loads, each asking the store for its
// tail (main before issue 15), against one Prefetch of the three and the
// loads answered from it. It reports, per read, the CPU of the PostgreSQL
// backends serving the store's pool (from /proc/PID/stat; Linux, the
// database on this machine) beside the wall time of one client.
//
//	KINERJA_TEST_POSTGRES_URL=... go test -run '^$' -bench WarmRead -benchtime 20000x -count 3 ./adapters/eventlog/
func BenchmarkWarmRead(b *testing.B) {
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		b.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	schema := "eventlog_bench_" + hex.EncodeToString([]byte(time.Now().Format("150405.000")))
	ctx := context.Background()
	if _, err := pgstore.MigrateURL(ctx, url, schema); err != nil {
		b.Fatal(err)
	}
	admin, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	defer admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	app := "kinerja_bench_" + schema
	sep := "?"
	if bytes.ContainsRune([]byte(url), '?') {
		sep = "&"
	}
	st, err := pgstore.Connect(ctx, url+sep+"application_name="+app, pgstore.Options{Schema: schema, Signer: prefetchSigner, Keyring: eventstore.NewKeyring(prefetchSigner.Public())})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys := eventstore.NewKeyring(prefetchSigner.Public())
	w := eventlog.New(st)
	streams := []string{"skp-a", "employee-a", "employee-b"}
	for i, s := range streams {
		for j := range []int{30, 12, 12}[i] {
			exp := domain.NoStream
			if j > 0 {
				exp = domain.ExactRevision(uint64(j - 1))
			}
			ne := domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin},
				OccurredAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}, Event: orgunit.Registered{UnitID: "x", Name: "Biro X"}}
			if _, err := w.Append(ctx, s, exp, []domain.NewEvent{ne}); err != nil {
				b.Fatal(err)
			}
		}
	}
	backendCPU := func() float64 {
		cpu, err := cpusample.Backends(ctx, admin, app)
		if err != nil {
			b.Fatal(err)
		}
		return cpu
	}
	selfCPU := cpusample.Self
	for _, mode := range []string{"three-loads", "prefetch"} {
		b.Run(mode, func(b *testing.B) {
			c := eventlog.NewCached(st, 0)
			c.RequireSignatures(keys)
			for _, s := range streams {
				if _, _, _, err := c.Load(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			cpu0, self0 := backendCPU(), selfCPU()
			b.ResetTimer()
			for range b.N {
				lctx := ctx
				if mode == "prefetch" {
					lctx = c.Prefetch(ctx, streams...)
				}
				for _, s := range streams {
					if _, _, ok, err := c.Load(lctx, s); err != nil || !ok {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric((backendCPU()-cpu0)*1e6/float64(b.N), "pg-cpu-µs/op")
			b.ReportMetric((selfCPU()-self0)*1e6/float64(b.N), "go-cpu-µs/op")
		})
	}
}
