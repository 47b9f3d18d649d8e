package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

// testURL returns the test database's URL, skipping the test when none is
// configured (or failing it when integration tests are required).
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal("KINERJA_TEST_POSTGRES_URL is not set, and KINERJA_REQUIRE_INTEGRATION=1 requires PostgreSQL tests to run")
		}
		tb.Skip("KINERJA_TEST_POSTGRES_URL is not set: skipping PostgreSQL tests")
	}
	return url
}

// freshSchema names a schema that does not exist yet and drops it (if it
// was created) when the test ends.
func freshSchema(tb testing.TB) (url, schema string) {
	tb.Helper()
	url = testURL(tb)
	var b [6]byte
	rand.Read(b[:])
	schema = "kinerja_it_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return url, schema
}

// migrated is freshSchema, migrated.
func migrated(tb testing.TB) (url, schema string) {
	tb.Helper()
	url, schema = freshSchema(tb)
	if _, err := MigrateURL(tctx(tb), url, schema); err != nil {
		tb.Fatalf("MigrateURL = %v", err)
	}
	return url, schema
}

// openOn connects a Store to schema, closed when the test ends.
func openOn(tb testing.TB, url, schema string, opts Options) *Store {
	tb.Helper()
	opts.Schema = schema
	s, err := Connect(tctx(tb), url, opts)
	if err != nil {
		tb.Fatalf("Connect = %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func openTest(tb testing.TB, opts Options) *Store {
	tb.Helper()
	url, schema := migrated(tb)
	return openOn(tb, url, schema, opts)
}

func rawConn(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tctx(tb), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func tctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return c
}

func ev(data string) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          "test.happened.v1",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		Data:          []byte(data),
	}
}

func evs(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = ev(fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}

func mustAppend(tb testing.TB, s *Store, stream string, exp eventstore.ExpectedRevision, events ...eventstore.EventData) eventstore.AppendResult {
	tb.Helper()
	res, err := s.Append(tctx(tb), stream, exp, events...)
	if err != nil {
		tb.Fatalf("Append(%s, %s) = %v", stream, exp, err)
	}
	return res
}

// countAll reads the whole log: how many events, and the error that
// stopped it if any.
func countAll(ctx context.Context, s *Store) (int, error) {
	n := 0
	for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func readAll(tb testing.TB, s *Store) []eventstore.Event {
	tb.Helper()
	var out []eventstore.Event
	for e, err := range s.ReadAll(tctx(tb), eventstore.ReadAllOptions{}) {
		if err != nil {
			tb.Fatalf("ReadAll = %v", err)
		}
		out = append(out, e)
	}
	return out
}

func verifyAll(tb testing.TB, s *Store) []eventstore.Event {
	tb.Helper()
	all := readAll(tb, s)
	v := eventstore.NewVerifier()
	for _, e := range all {
		if err := v.Check(e); err != nil {
			tb.Fatalf("verify: %v", err)
		}
	}
	return all
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := migrationSet.Migrations()
	if err != nil {
		t.Fatalf("Migrations() = %v", err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Errorf("SchemaVersion() = %d with %d migrations", SchemaVersion(), len(ms))
	}
}

func TestBadSchemaName(t *testing.T) {
	for _, name := range []string{"Kinerja", "1abc", "a-b", "pg_kinerja", "a b", "x;drop", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"} {
		if _, err := Migrate(context.Background(), nil, name); !errors.Is(err, ErrBadSchemaName) {
			t.Errorf("Migrate(%q) = %v, want ErrBadSchemaName", name, err)
		}
		if _, err := Open(context.Background(), nil, Options{Schema: name}); !errors.Is(err, ErrBadSchemaName) {
			t.Errorf("Open(Schema %q) = %v, want ErrBadSchemaName", name, err)
		}
	}
}

func TestMigrateIsExplicitIdempotentAndLocked(t *testing.T) {
	url, schema := freshSchema(t)
	ctx := tctx(t)

	// Open never migrates: an empty schema is refused with a clear error.
	_, err := Connect(ctx, url, Options{Schema: schema})
	var ve *VersionError
	if !errors.As(err, &ve) || !errors.Is(err, ErrSchemaVersion) || ve.Have != 0 || ve.Want != SchemaVersion() {
		t.Fatalf("Connect(unmigrated) = %v, want VersionError{Have 0}", err)
	}

	// Eight processes migrating at once: each migration applied once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var applied []int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := MigrateURL(ctx, url, schema)
			if err != nil {
				t.Errorf("concurrent MigrateURL = %v", err)
			}
			mu.Lock()
			applied = append(applied, a...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(applied)
	want := make([]int, SchemaVersion())
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(applied, want) {
		t.Errorf("concurrent migrations applied %v, want each of %v once", applied, want)
	}
	if again, err := MigrateURL(ctx, url, schema); err != nil || len(again) != 0 {
		t.Errorf("MigrateURL again = %v, %v; want nothing applied", again, err)
	}
	s := openOn(t, url, schema, Options{})
	mustAppend(t, s, "a", eventstore.NoStream, evs(1)...)

	// A schema migrated by a newer build is refused by Open and Migrate.
	conn := rawConn(t, url)
	if _, err := conn.Exec(ctx, `INSERT INTO `+ident(schema, "schema_migrations")+` (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if _, err := Connect(ctx, url, Options{Schema: schema}); !errors.As(err, &ve) || ve.Have != 999 {
		t.Errorf("Connect(newer schema) = %v, want VersionError{Have 999}", err)
	}
	if _, err := MigrateURL(ctx, url, schema); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("MigrateURL(newer schema) = %v, want ErrSchemaVersion", err)
	}
}

func TestTriggerRejectsUpdateDeleteTruncate(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	mustAppend(t, s, "a", eventstore.NoStream, evs(2)...)
	conn := rawConn(t, url)
	events := ident(schema, "events")
	for _, stmt := range []string{
		`UPDATE ` + events + ` SET reason = 'changed'`,
		`UPDATE ` + events + ` SET reason = 'changed' WHERE false`,
		`DELETE FROM ` + events + ` WHERE revision = 1`,
		`TRUNCATE ` + events,
	} {
		_, err := conn.Exec(tctx(t), stmt)
		if code := pgCode(err); code != "23001" {
			t.Errorf("%s = %v (code %q), want restrict_violation 23001", stmt, err, code)
		}
	}
	if all := verifyAll(t, s); len(all) != 2 {
		t.Errorf("after rejected changes: %d events, want 2", len(all))
	}
}

func TestPositionOverflowGuard(t *testing.T) {
	url, schema := migrated(t)
	conn := rawConn(t, url)
	_, err := conn.Exec(tctx(t), `SELECT `+ident(schema, "position_overflow")+`(1048576)`)
	if code := pgCode(err); code != "54000" {
		t.Errorf("position_overflow = %v, want program_limit_exceeded", err)
	}
}

func TestOpenRefusesPositionsAheadOfXIDs(t *testing.T) {
	url, schema := migrated(t)
	conn := rawConn(t, url)
	// As if restored from a cluster whose transaction IDs were far ahead.
	_, err := conn.Exec(tctx(t), `INSERT INTO `+ident(schema, "events")+`
		(position, revision, event_id, schema_version, occurred_at, stream, type, actor_id, actor_role,
		 correlation_id, causation_id, reason, data, hash)
		VALUES (((pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 100000) << 20) | 1, 0, gen_random_uuid(), 1, now(),
		 'restored', 'test.happened.v1', 'x', '', '', '', '', '', sha256(''))`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Connect(tctx(t), url, Options{Schema: schema}); !errors.Is(err, ErrPositionsAhead) {
		t.Errorf("Connect = %v, want ErrPositionsAhead", err)
	}
}

// TestGroupCommitUnderRacingWriters runs 32 writers on two stores (two
// processes, as far as the database can tell) over 6 shared streams, mixing
// Any with exact revisions that are often stale. Every acknowledged append
// must be stored whole at the revisions it was told, nothing else may be,
// and every chain must verify.
func TestGroupCommitUnderRacingWriters(t *testing.T) {
	url, schema := migrated(t)
	stores := []*Store{openOn(t, url, schema, Options{}), openOn(t, url, schema, Options{Committers: 2})}
	const writers, each, streams = 32, 25, 6
	type ack struct {
		stream string
		res    eventstore.AppendResult
		ids    []uuid.UUID
	}
	var mu sync.Mutex
	var acks []ack
	var lost atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			rng := mrand.New(mrand.NewPCG(uint64(w), 7))
			for range each {
				stream := fmt.Sprintf("hot-%d", rng.IntN(streams))
				batch := evs(1 + rng.IntN(3))
				exp := eventstore.Any
				if rng.IntN(2) == 0 {
					// An exact revision read a moment ago: often stale.
					exp = eventstore.NoStream
					for e, err := range s.ReadStream(tctx(t), stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1}) {
						if err == nil {
							exp = eventstore.Exact(e.Revision)
						}
					}
				}
				res, err := s.Append(tctx(t), stream, exp, batch...)
				var we *eventstore.WrongExpectedRevisionError
				switch {
				case err == nil:
					ids := make([]uuid.UUID, len(batch))
					for i := range batch {
						ids[i] = batch[i].ID
					}
					mu.Lock()
					acks = append(acks, ack{stream, res, ids})
					mu.Unlock()
				case errors.As(err, &we) && !exp.IsAny():
					lost.Add(1)
				default:
					t.Errorf("Append(%s, %s) = %v", stream, exp, err)
				}
			}
		}()
	}
	wg.Wait()
	all := verifyAll(t, stores[0])
	byID := map[uuid.UUID]eventstore.Event{}
	for _, e := range all {
		byID[e.ID] = e
	}
	stored := 0
	for _, a := range acks {
		for i, id := range a.ids {
			e, ok := byID[id]
			want := a.res.Revision - uint64(len(a.ids)-1) + uint64(i)
			if !ok || e.Stream != a.stream || e.Revision != want {
				t.Errorf("acknowledged event %s: stored %v at %s@%d, want %s@%d", id, ok, e.Stream, e.Revision, a.stream, want)
			}
		}
		last := byID[a.ids[len(a.ids)-1]]
		if last.Position != a.res.Position || last.Hash != a.res.Hash {
			t.Errorf("append result %+v, stored last event at position %d hash %s", a.res, last.Position, last.Hash)
		}
		stored += len(a.ids)
	}
	if stored != len(all) {
		t.Errorf("%d events stored, %d acknowledged: a failed append left events behind", len(all), stored)
	}
	t.Logf("%d appends acknowledged, %d lost a race (exact revision), %d events", len(acks), lost.Load(), len(all))
}

// TestBatchFallback puts appends that fail in different ways into one batch
// statement: a repeated event ID makes the statement fail as a whole, so
// every append of the batch is retried alone and gets its own answer.
func TestBatchFallback(t *testing.T) {
	s := openTest(t, Options{})
	ctx := tctx(t)
	stored := evs(1)
	mustAppend(t, s, "x", eventstore.NoStream, stored...)
	mustAppend(t, s, "y", eventstore.NoStream, evs(2)...)
	xHead, _ := s.heads.get("x")

	req := func(stream string, head eventstore.Head, events []eventstore.EventData) *request {
		prepared, err := eventstore.Prepare(stream, events, eventstore.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		r := &request{ctx: ctx, stream: stream, expected: -1, events: prepared, hashes: eventstore.Seal(stream, head, prepared), done: make(chan outcome, 1)}
		if head.Exists {
			r.expected = int64(head.Revision)
		}
		return r
	}
	fresh1 := req("a", eventstore.Head{}, evs(2))
	dupID := req("x", xHead, stored)                                      // head matches, event ID taken: unique violation
	stale := req("y", eventstore.Head{Exists: true, Revision: 0}, evs(1)) // head check fails: no rows
	fresh2 := req("b", eventstore.Head{}, evs(3))
	s.execBatch(ctx, []*request{fresh1, dupID, stale, fresh2})
	for _, c := range []struct {
		name string
		r    *request
		want outcome
	}{
		{"fresh a", fresh1, outcome{inserted: true}},
		{"duplicate id", dupID, outcome{conflict: true}},
		{"stale head", stale, outcome{conflict: true}},
		{"fresh b", fresh2, outcome{inserted: true}},
	} {
		got := <-c.r.done
		if got.inserted != c.want.inserted || got.conflict != c.want.conflict || got.err != nil {
			t.Errorf("%s: outcome %+v, want %+v", c.name, got, c.want)
		}
	}
	all := verifyAll(t, s)
	if len(all) != 1+2+2+3 {
		t.Errorf("%d events stored, want 8", len(all))
	}
	// Through Append, the duplicate is an idempotency error and the stale
	// head a wrong expected revision.
	if _, err := s.Append(ctx, "x", eventstore.Exact(0), stored...); !errors.Is(err, eventstore.ErrIdempotency) {
		t.Errorf("Append(repeated ID at the head) = %v, want ErrIdempotency", err)
	}
}

// TestHorizonHoldsDeliveryAndSkipsNothing holds a writing transaction open
// while later appends commit: nothing after it may be delivered until it
// ends, and then everything is, in position order.
func TestHorizonHoldsDeliveryAndSkipsNothing(t *testing.T) {
	for _, outcome := range []string{"commit", "rollback"} {
		t.Run(outcome, func(t *testing.T) {
			var logged strings.Builder
			var logMu sync.Mutex
			s := openTest(t, Options{FinalityWait: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))})
			ctx := tctx(t)
			a := mustAppend(t, s, "a", eventstore.NoStream, evs(1)...)

			sub, cancel := context.WithCancel(ctx)
			defer cancel()
			got := make(chan eventstore.Event, 100)
			go func() {
				for e, err := range s.SubscribeAll(sub, eventstore.SubscribeOptions{}) {
					if err != nil {
						return
					}
					got <- e
				}
			}()
			if e := <-got; e.Position != a.Position {
				t.Fatalf("first delivery %d, want %d", e.Position, a.Position)
			}

			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			late, err := s.AppendTx(ctx, tx, "late", eventstore.NoStream, evs(1)...)
			if err != nil {
				t.Fatal(err)
			}
			b := mustAppend(t, s, "b", eventstore.NoStream, evs(1)...)
			c := mustAppend(t, s, "c", eventstore.NoStream, evs(2)...)
			if !(a.Position < late.Position && late.Position < b.Position && b.Position < c.Position) {
				t.Fatalf("positions a %d, late %d, b %d, c %d: not in transaction order", a.Position, late.Position, b.Position, c.Position)
			}

			select {
			case e := <-got:
				t.Fatalf("delivered %s@%d (position %d) while an older transaction is open", e.Stream, e.Revision, e.Position)
			case <-time.After(400 * time.Millisecond):
			}
			if all := readAll(t, s); len(all) != 1 {
				t.Errorf("ReadAll with an older transaction open = %d events, want only the final one", len(all))
			}
			// The prefix is the design; that it stopped short is said.
			logMu.Lock()
			text := logged.String()
			logMu.Unlock()
			if !strings.Contains(text, "pgstore_read_stopped_at_horizon") {
				t.Errorf("ReadAll stopped at the horizon without a warning; log: %s", text)
			}
			if head, err := s.Head(ctx); err != nil || head != a.Position {
				t.Errorf("Head() = %d, %v; want %d", head, err, a.Position)
			}
			events, pending, err := s.ReadPage(ctx, a.Position, 10)
			if err != nil || len(events) != 0 || !pending {
				t.Errorf("ReadPage = %d events, pending %v, %v; want none, pending", len(events), pending, err)
			}
			f, err := s.Finality(ctx)
			if err != nil || !f.Lagging() || f.OldestTransactionPID == 0 || f.OldestTransactionAge <= 0 {
				t.Errorf("Finality() = %+v, %v; want lagging, held by a transaction", f, err)
			}
			if pid := int(tx.Conn().PgConn().PID()); f.OldestTransactionPID != pid {
				// Another session's older transaction holds the horizon too.
				t.Logf("Finality() names PID %d, the open transaction is %d", f.OldestTransactionPID, pid)
			}

			want := []eventstore.Position{late.Position, b.Position, c.Position - 1, c.Position}
			if outcome == "commit" {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
				want = want[1:]
			}
			if err != nil {
				t.Fatal(err)
			}
			var delivered []eventstore.Position
			for len(delivered) < len(want) {
				select {
				case e := <-got:
					delivered = append(delivered, e.Position)
				case <-time.After(5 * time.Second):
					t.Fatalf("delivered %v after %s, want %v", delivered, outcome, want)
				}
			}
			if !slices.Equal(delivered, want) {
				t.Errorf("delivered %v after %s, want %v", delivered, outcome, want)
			}
			if all := verifyAll(t, s); len(all) != 1+len(want) {
				t.Errorf("ReadAll = %d events, want %d", len(all), 1+len(want))
			}
			if f, err := s.Finality(ctx); err != nil || f.Lagging() {
				t.Errorf("Finality() after %s = %+v, %v; want not lagging", outcome, f, err)
			}
		})
	}
}

// TestListenReconnect kills the store's LISTEN connection: it comes back,
// and appends of another store still wake the subscription at once (the
// subscription's idle poll is a minute, so only a notification can).
func TestListenReconnect(t *testing.T) {
	url, schema := migrated(t)
	reader := openOn(t, url, schema, Options{IdlePoll: time.Minute})
	writer := openOn(t, url, schema, Options{})
	ctx := tctx(t)
	got := make(chan eventstore.Event, 10)
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for e, err := range reader.SubscribeAll(sub, eventstore.SubscribeOptions{}) {
			if err != nil {
				return
			}
			got <- e
		}
	}()
	waitPID := func(not uint32) uint32 {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if pid := reader.listenerBackendPID(); pid != 0 && pid != not {
				return pid
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("the LISTEN connection did not come up")
		return 0
	}
	expect := func(stream string) {
		t.Helper()
		mustAppend(t, writer, stream, eventstore.NoStream, evs(1)...)
		select {
		case e := <-got:
			if e.Stream != stream {
				t.Fatalf("delivered %s, want %s", e.Stream, stream)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("append of another store to %s not delivered within 2s", stream)
		}
	}
	pid := waitPID(0)
	time.Sleep(50 * time.Millisecond) // let the subscription reach its wait
	expect("before")
	conn := rawConn(t, url)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)); err != nil {
		t.Fatal(err)
	}
	waitPID(pid)
	time.Sleep(50 * time.Millisecond)
	expect("after")
}

// queryCounter counts the queries a pool sends.
// queryCounter counts the queries sent through a pool, except the NOTIFY
// an append sends in the background after it commits (it may land in any
// window a test measures).
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if !strings.Contains(d.SQL, "pg_notify") {
		c.n.Add(1)
	}
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestIdleSubscribersPollAtMostOncePerSecond counts the queries of idle
// subscriptions.
func TestIdleSubscribersPollAtMostOncePerSecond(t *testing.T) {
	url, schema := migrated(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	counter := &queryCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(tctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := Open(tctx(t), pool, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, "a", eventstore.NoStream, evs(3)...)
	const subscribers = 3
	ctx, cancel := context.WithCancel(tctx(t))
	defer cancel()
	var caught sync.WaitGroup
	for range subscribers {
		caught.Add(1)
		go func() {
			n := 0
			for _, err := range s.SubscribeAll(ctx, eventstore.SubscribeOptions{}) {
				if err != nil {
					return
				}
				if n++; n == 3 {
					caught.Done()
				}
			}
		}()
	}
	caught.Wait()
	time.Sleep(100 * time.Millisecond)
	before := counter.n.Load()
	const idle = 4 * time.Second
	time.Sleep(idle)
	queries := counter.n.Load() - before
	perSecond := float64(queries) / idle.Seconds() / subscribers
	t.Logf("%d queries from %d idle subscribers in %v: %.2f per subscriber per second", queries, subscribers, idle, perSecond)
	if perSecond > 1.3 {
		t.Errorf("idle subscribers make %.2f queries/s each, want at most about 1", perSecond)
	}
}

// TestAppendTx covers the transactional outbox: several appends in one
// transaction get increasing positions, a failed append leaves the
// transaction usable, and a rollback leaves nothing.
func TestAppendTx(t *testing.T) {
	s := openTest(t, Options{})
	ctx := tctx(t)
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	first := evs(2)
	r1, err := s.AppendTx(ctx, tx, "a", eventstore.NoStream, first...)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.AppendTx(ctx, tx, "b", eventstore.NoStream, evs(1)...)
	if err != nil {
		t.Fatal(err)
	}
	r3, err := s.AppendTx(ctx, tx, "a", eventstore.Exact(1), evs(1)...)
	if err != nil {
		t.Fatal(err)
	}
	if !(r1.Position < r2.Position && r2.Position < r3.Position) || r3.Revision != 2 {
		t.Fatalf("results %+v %+v %+v: positions not increasing within the transaction", r1, r2, r3)
	}
	// A stale expected revision fails without aborting the transaction.
	_, err = s.AppendTx(ctx, tx, "a", eventstore.Exact(0), evs(1)...)
	var we *eventstore.WrongExpectedRevisionError
	if !errors.As(err, &we) || we.Actual != 2 {
		t.Fatalf("AppendTx(stale) = %v, want WrongExpectedRevisionError{actual 2}", err)
	}
	// A repeated ID at the head: a unique violation, rolled back to the
	// savepoint, reported as an idempotency error.
	if _, err := s.AppendTx(ctx, tx, "a", eventstore.Exact(2), first[0]); !errors.Is(err, eventstore.ErrIdempotency) {
		t.Fatalf("AppendTx(repeated ID) = %v, want ErrIdempotency", err)
	}
	// A pure repeat returns the first result.
	if again, err := s.AppendTx(ctx, tx, "a", eventstore.NoStream, first...); err != nil || again != r1 {
		t.Fatalf("AppendTx(repeat) = %+v, %v; want %+v", again, err, r1)
	}
	if _, err := s.AppendTx(ctx, tx, "c", eventstore.Any, evs(1)...); err != nil {
		t.Fatalf("AppendTx after failed ones = %v", err)
	}
	if all := readAll(t, s); len(all) != 0 {
		t.Errorf("ReadAll before commit = %d events, want 0", len(all))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	all := verifyAll(t, s)
	if len(all) != 5 {
		t.Errorf("after commit: %d events, want 5", len(all))
	}
	// Another store's Append continues the chain written by AppendTx.
	mustAppend(t, s, "a", eventstore.Exact(2), evs(1)...)

	tx2, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx2, "d", eventstore.NoStream, evs(3)...); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if all := verifyAll(t, s); len(all) != 6 {
		t.Errorf("after rollback: %d events, want 6", len(all))
	}
}

// TestAppendStatementKeepsGenericPlan guards the cost that made appends
// slow once: a statement re-planned on every execution.
func TestAppendStatementKeepsGenericPlan(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url+"&pool_max_conns=1", schema, Options{})
	for i := range 20 {
		mustAppend(t, s, fmt.Sprintf("one-%d", i), eventstore.NoStream, evs(1)...)
		mustAppend(t, s, fmt.Sprintf("many-%d", i), eventstore.NoStream, evs(2)...)
		tx, err := s.pool.Begin(tctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTx(tctx(t), tx, fmt.Sprintf("tx-%d", i), eventstore.NoStream, evs(1)...); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(tctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	for name, sql := range map[string]string{"appendOne": s.q.appendOne, "appendBatch": s.q.appendBatch, "appendMany": s.q.appendMany} {
		var generic, custom int64
		err := s.pool.QueryRow(tctx(t), `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&generic, &custom)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d generic plans, %d custom plans", name, generic, custom)
		if custom > 5 {
			t.Errorf("%s was planned %d times for 20 executions: it no longer keeps its generic plan", name, custom)
		}
	}
}

// TestReadingATailIsOneQuery: a read from a stream's next revision (what a
// cache of decoded events does on every load) costs one query whether or
// not anything was appended, and still tells a missing stream apart.
func TestReadingATailIsOneQuery(t *testing.T) {
	url, schema := migrated(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	counter := &queryCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(tctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := Open(tctx(t), pool, Options{Schema: schema, PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, "a", eventstore.NoStream, evs(3)...)
	read := func(stream string, from uint64) (revs []uint64, queries int64, err error) {
		before := counter.n.Load()
		for e, rerr := range s.ReadStream(tctx(t), stream, eventstore.ReadStreamOptions{From: from}) {
			if rerr != nil {
				err = rerr
				break
			}
			revs = append(revs, e.Revision)
		}
		return revs, counter.n.Load() - before, err
	}
	if revs, q, err := read("a", 3); err != nil || len(revs) != 0 || q != 1 {
		t.Errorf("tail of an unchanged stream = %v, %v in %d queries; want nothing, no error, 1 query", revs, err, q)
	}
	mustAppend(t, s, "a", eventstore.Exact(2), evs(5)...)
	if revs, q, err := read("a", 3); err != nil || !slices.Equal(revs, []uint64{3, 4, 5, 6, 7}) || q != 2 {
		t.Errorf("tail after 5 appends (pages of 4) = %v, %v in %d queries; want 3..7 in 2 queries", revs, err, q)
	}
	if revs, _, err := read("a", 6); err != nil || !slices.Equal(revs, []uint64{6, 7}) {
		t.Errorf("read from 6 = %v, %v; want 6, 7", revs, err)
	}
	if _, _, err := read("nope", 3); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("tail of a missing stream: %v, want ErrStreamNotFound", err)
	}
	if revs, _, err := read("a", 20); err != nil || len(revs) != 0 {
		t.Errorf("read past the end = %v, %v; want nothing, no error", revs, err)
	}
}

// An append whose batch waits on a row lock that another transaction
// holds: its caller's deadline still ends it, with nothing written;
// appends to other streams do not wait with it; Close does not hang; and
// for every append, an error means its events were not written.
func TestAppendBlockedByALockKeepsItsWord(t *testing.T) {
	s := openTest(t, Options{})
	ctx := tctx(t)
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := s.AppendTx(ctx, tx, "held", eventstore.NoStream, ev(`{}`)); err != nil {
		t.Fatal(err)
	}
	type result struct {
		id  uuid.UUID
		err error
		in  time.Duration
	}
	start := time.Now()
	blocked := make(chan result, 8)
	for i := range 8 {
		go func() {
			c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			e := ev(`{}`)
			stream := "held"
			if i > 0 {
				stream = fmt.Sprintf("near-%d", i) // may share the blocked batch
			}
			_, err := s.Append(c, stream, eventstore.NoStream, e)
			blocked <- result{e.ID, err, time.Since(start)}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	t0 := time.Now()
	if _, err := s.Append(c, "other", eventstore.NoStream, ev(`{}`)); err != nil || time.Since(t0) > time.Second {
		t.Errorf("append to another stream while a batch waits on a lock: %v after %v; want success within 1 s", err, time.Since(t0))
	}
	cancel()
	var results []result
	for range 8 {
		select {
		case r := <-blocked:
			results = append(results, r)
		case <-time.After(5 * time.Second):
			t.Fatal("an append with a 300 ms deadline was still blocked after 5 s")
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		stored := false
		rows, err := s.Pool().Query(ctx, `SELECT 1 FROM `+ident(s.Schema(), "events")+` WHERE event_id = $1`, r.id)
		if err != nil {
			t.Fatal(err)
		}
		stored = rows.Next()
		rows.Close()
		if (r.err == nil) != stored {
			t.Errorf("append answered %v after %v, but its event stored = %v", r.err, r.in, stored)
		}
		if r.err != nil && !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("append failed with %v, want its deadline", r.err)
		}
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Error("Close hung")
	}
}

// TestRecordedAtFromInjectedClock: with Options.Now, recorded_at is the
// process's clock (truncated to microseconds) on every append path (one
// event, several, a batch of racing appends, AppendTx), never decreasing
// when the clock steps back; as-of reads follow it; the chain and the
// writer signatures verify as in the default mode. Without Now the
// database stamps recorded_at, whatever the process's clock says.
func TestRecordedAtFromInjectedClock(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 1, 6, 9, 0, 0, 123456789, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	signer := storetest.WriterKey()
	keyring := eventstore.NewKeyring(signer.Public())
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{Now: now, Signer: signer, Keyring: keyring})
	ctx := tctx(t)

	jan := clock.Truncate(time.Microsecond)
	mustAppend(t, s, "skp-1", eventstore.NoStream, evs(1)...) // appendOne
	set(time.Date(2026, 3, 27, 14, 0, 0, 0, time.UTC))
	mustAppend(t, s, "skp-1", eventstore.Exact(0), evs(2)...) // appendMany
	// A batch of racing appends.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() { mustAppend(t, s, fmt.Sprintf("emp-%d", i), eventstore.NoStream, evs(1)...) })
	}
	wg.Wait()
	// The clock steps back: recorded_at holds.
	set(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC))
	mustAppend(t, s, "skp-1", eventstore.Exact(2), evs(1)...)
	// AppendTx.
	set(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, "skp-1", eventstore.Exact(3), evs(1)...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	mar := time.Date(2026, 3, 27, 14, 0, 0, 0, time.UTC)
	dec := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	want := map[string][]time.Time{"skp-1": {jan, mar, mar, mar, dec}}
	for i := range 16 {
		want[fmt.Sprintf("emp-%d", i)] = []time.Time{mar}
	}
	all := verifyAll(t, s)
	if len(all) != 21 {
		t.Fatalf("%d events, want 21", len(all))
	}
	got := map[string][]time.Time{}
	for _, e := range all {
		got[e.Stream] = append(got[e.Stream], e.RecordedAt)
	}
	for stream, w := range want {
		if !slices.EqualFunc(got[stream], w, time.Time.Equal) {
			t.Errorf("%s recorded at %v, want %v", stream, got[stream], w)
		}
	}
	// Every append's last event is signed, and the signature verifies.
	signed := 0
	for _, e := range all {
		if !e.Signature.IsZero() {
			signed++
			if err := keyring.Verify(e.Hash, e.Signature); err != nil {
				t.Errorf("%s@%d: %v", e.Stream, e.Revision, err)
			}
		}
	}
	if signed != 4+16 {
		t.Errorf("%d signed events, want 20 (one per append)", signed)
	}
	// As-of reads compare with the injected stamps.
	n := 0
	for _, err := range s.ReadStream(ctx, "skp-1", eventstore.ReadStreamOptions{AsOf: mar.Add(-time.Second)}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("skp-1 as of just before 27 March: %d events, want 1", n)
	}

	// The default: the database's clock, not the (far past) process clock.
	d := openTest(t, Options{})
	before := time.Now().Add(-time.Minute)
	mustAppend(t, d, "skp-1", eventstore.NoStream, evs(1)...)
	mustAppend(t, d, "skp-1", eventstore.Exact(0), evs(2)...)
	for _, e := range readAll(t, d) {
		if e.RecordedAt.Before(before) || e.RecordedAt.Year() == 2026 && e.RecordedAt.Month() == time.January && e.RecordedAt.Day() == 6 {
			t.Errorf("default mode recorded_at = %v, want the database's now", e.RecordedAt)
		}
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestReadsOnTerminatedConnectionsFailLoudly: an administrator (or
// another test on a shared cluster) terminates every backend of the
// store's pool between reads. Each read then returns everything or an
// error, never a short answer without one: "no events" must not be how a
// lost connection looks.
func TestReadsOnTerminatedConnectionsFailLoudly(t *testing.T) {
	url, schema := migrated(t)
	app := "pgstore_term_" + schema[len(schema)-8:]
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	s := openOn(t, url+sep+"application_name="+app, schema, Options{PageSize: 2})
	ctx := tctx(t)
	a := mustAppend(t, s, "a", eventstore.NoStream, evs(3)...)
	mustAppend(t, s, "b", eventstore.NoStream, evs(2)...)
	admin := rawConn(t, url)
	terminate := func() int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	killed, failures := 0, 0
	for round := range 12 {
		// Warm the pool so that there are idle connections to kill. The
		// warm-up may itself be handed a connection the previous round
		// killed (the pool finds out on use): that read must fail too,
		// and the next one, on a fresh connection, succeeds.
		for try := 0; ; try++ {
			n, err := countAll(ctx, s)
			if err == nil {
				if n != 5 {
					t.Fatalf("round %d: warming the pool: ReadAll = %d events and no error, want 5", round, n)
				}
				break
			}
			if try == 3 {
				t.Fatalf("round %d: warming the pool: %v", round, err)
			}
		}
		killed += terminate()
		var got []eventstore.Event
		var err error
		switch round % 4 {
		case 0:
			for e, e2 := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
				if err = e2; err != nil {
					break
				}
				got = append(got, e)
			}
			if err == nil && len(got) != 5 {
				t.Fatalf("round %d: ReadAll after the backends were terminated = %d events and no error, want 5 or an error", round, len(got))
			}
		case 1:
			for e, e2 := range s.ReadStream(ctx, "a", eventstore.ReadStreamOptions{}) {
				if err = e2; err != nil {
					break
				}
				got = append(got, e)
			}
			if err == nil && len(got) != 3 {
				t.Fatalf("round %d: ReadStream after the backends were terminated = %d events and no error, want 3 or an error", round, len(got))
			}
		case 2:
			var page []eventstore.Event
			page, _, err = s.ReadPage(ctx, 0, 10)
			if err == nil && len(page) != 5 {
				t.Fatalf("round %d: ReadPage after the backends were terminated = %d events and no error, want 5 or an error", round, len(page))
			}
		case 3:
			var head eventstore.Position
			head, err = s.Head(ctx)
			if err == nil && head <= a.Position {
				t.Fatalf("round %d: Head after the backends were terminated = %d and no error, want the last position or an error", round, head)
			}
		}
		if err != nil {
			failures++
		}
	}
	if killed == 0 {
		t.Fatal("no backend of the store was terminated: the test checks nothing")
	}
	t.Logf("%d backends terminated; %d of 12 reads failed with an error, the others returned everything", killed, failures)
}
