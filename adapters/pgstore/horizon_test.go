package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Tests of the writers' horizon (package doc): transactions that cannot
// write the store's events do not hold reads back; those that can still
// do, so nothing is ever delivered out of order or skipped.

// idleWriter opens, on its own connection, a transaction that has written
// a row of another table in schema (so it holds a transaction ID) and
// then sits idle in transaction until the test ends. With readEvents it
// has also read the events table under REPEATABLE READ (it holds a
// snapshot and an AccessShareLock on events). It returns the backend PID.
func idleWriter(t *testing.T, url, schema string, readEvents bool) {
	t.Helper()
	ctx := tctx(t)
	conn := rawConn(t, url)
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+other+` (x int)`); err != nil {
		t.Fatal(err)
	}
	iso := pgx.ReadCommitted
	if readEvents {
		iso = pgx.RepeatableRead
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if readEvents {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "events"}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+other+` VALUES (1)`); err != nil {
		t.Fatal(err)
	}
}

// TestUnrelatedTransactionsDoNotHoldReads: a transaction idle for as long
// as it likes, which wrote another table (and, in one case, read the
// events too), in the same database, or one that appends to another
// store's schema, does not stop ReadAll, Head, ReadPage or a
// subscription's catch-up. The legacy horizon (main's) is the control: it
// stops at the idle transaction.
func TestUnrelatedTransactionsDoNotHoldReads(t *testing.T) {
	cases := []struct {
		name string
		open func(t *testing.T, url, schema string)
	}{
		{"another table", func(t *testing.T, url, schema string) { idleWriter(t, url, schema, false) }},
		{"another table, events read", func(t *testing.T, url, schema string) { idleWriter(t, url, schema, true) }},
		{"another store's events", func(t *testing.T, url, _ string) {
			otherURL, otherSchema := migrated(t)
			other := openOn(t, otherURL, otherSchema, Options{})
			ctx := tctx(t)
			tx, err := other.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tx.Rollback(context.Background()) })
			if _, err := other.AppendTx(ctx, tx, "other-agency", eventstore.NoStream, evs(1)...); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		for _, legacy := range []bool{false, true} {
			name := c.name
			if legacy {
				name += ", legacy horizon"
			}
			t.Run(name, func(t *testing.T) {
				url, schema := migrated(t)
				s := openOn(t, url, schema, Options{legacyHorizon: legacy, FinalityWait: 200 * time.Millisecond})
				ctx := tctx(t)
				before := mustAppend(t, s, "before", eventstore.NoStream, evs(2)...)
				c.open(t, url, schema)
				var want []eventstore.Position
				for i := range 3 {
					r := mustAppend(t, s, fmt.Sprintf("after-%d", i), eventstore.NoStream, evs(2)...)
					want = append(want, r.Position-1, r.Position)
				}
				last := want[len(want)-1]

				all := readAll(t, s)
				head, err := s.Head(ctx)
				if err != nil {
					t.Fatal(err)
				}
				page, pending, err := s.ReadPage(ctx, before.Position, 100)
				if err != nil {
					t.Fatal(err)
				}
				f, err := s.Finality(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if f.LegacyHorizon != legacy {
					t.Errorf("Finality().LegacyHorizon = %v, want %v", f.LegacyHorizon, legacy)
				}
				if legacy {
					// The control: main's horizon stops at the idle transaction
					// (or before, at an older one elsewhere on the server).
					if len(all) > 2 || head > before.Position || len(page) != 0 || !pending || !f.Lagging() {
						t.Errorf("legacy horizon: ReadAll %d events, Head %d, ReadPage %d events pending %v, Finality %+v; want it held at or before %d",
							len(all), head, len(page), pending, f, before.Position)
					}
					return
				}
				if len(all) != 2+len(want) || all[len(all)-1].Position != last {
					t.Errorf("ReadAll = %d events, want %d ending at %d", len(all), 2+len(want), last)
				}
				if head != last {
					t.Errorf("Head() = %d, want %d", head, last)
				}
				var got []eventstore.Position
				for _, e := range page {
					got = append(got, e.Position)
				}
				if !slices.Equal(got, want) || pending {
					t.Errorf("ReadPage = %v pending %v, want %v and nothing pending", got, pending, want)
				}
				if f.Lagging() || f.OldestTransactionPID != 0 {
					t.Errorf("Finality() = %+v, want not lagging", f)
				}

				// A subscription catches up past the idle transaction.
				sub, cancel := context.WithCancel(ctx)
				defer cancel()
				var delivered []eventstore.Position
				for e, err := range s.SubscribeAll(sub, eventstore.SubscribeOptions{After: before.Position}) {
					if err != nil {
						t.Fatalf("subscription: %v after %v", err, delivered)
					}
					if delivered = append(delivered, e.Position); len(delivered) == len(want) {
						break
					}
				}
				if !slices.Equal(delivered, want) {
					t.Errorf("subscription delivered %v, want %v", delivered, want)
				}
			})
		}
	}
}

// holdsTheHorizon checks that events appended after the open writer tx
// are not delivered while it is open, then commits it and checks that
// everything is, in order, its own events included.
func holdsTheHorizon(t *testing.T, s *Store, finish func() error, own eventstore.Position) {
	t.Helper()
	ctx := tctx(t)
	later := mustAppend(t, s, fmt.Sprintf("later-%d", rand.Int64()), eventstore.NoStream, evs(1)...)
	if own >= later.Position {
		t.Fatalf("the open transaction's event %d does not sort before the later append %d", own, later.Position)
	}
	if head, err := s.Head(ctx); err != nil || head >= own {
		t.Errorf("Head() = %d, %v with a writer open; want below its event %d", head, err, own)
	}
	events, pending, err := s.ReadPage(ctx, 0, 1000)
	if err != nil || !pending {
		t.Errorf("ReadPage: pending %v, %v; want pending", pending, err)
	}
	for _, e := range events {
		if e.Position >= own {
			t.Errorf("ReadPage delivered %d at or past the open writer's %d", e.Position, own)
		}
	}
	if f, err := s.Finality(ctx); err != nil || !f.Lagging() {
		t.Errorf("Finality() = %+v, %v; want lagging", f, err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	all := readAll(t, s)
	var saw []eventstore.Position
	for _, e := range all {
		if e.Position == own || e.Position == later.Position {
			saw = append(saw, e.Position)
		}
	}
	if !slices.Equal(saw, []eventstore.Position{own, later.Position}) {
		t.Errorf("after commit ReadAll holds %v of %d and %d", saw, own, later.Position)
	}
}

// TestWritersStillHoldTheHorizon: a transaction that can still write
// events holds the horizon back: an AppendTx in an open transaction, one
// made under a released savepoint (a subtransaction), one after LockTx and
// a write of another table. A transaction that wrote another table first
// without LockTx is refused, as is one whose savepoint rollback dropped
// the events lock: their events could sort below positions readers have
// passed.
func TestWritersStillHoldTheHorizon(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{FinalityWait: 200 * time.Millisecond})
	ctx := tctx(t)
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE `+other+` (x int)`); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "first", eventstore.NoStream, evs(1)...)

	begin := func(t *testing.T) pgx.Tx {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(context.Background()) })
		return tx
	}
	t.Run("AppendTx", func(t *testing.T) {
		tx := begin(t)
		r, err := s.AppendTx(ctx, tx, "tx-1", eventstore.NoStream, evs(1)...)
		if err != nil {
			t.Fatal(err)
		}
		holdsTheHorizon(t, s, func() error { return tx.Commit(ctx) }, r.Position)
	})
	t.Run("subtransaction", func(t *testing.T) {
		tx := begin(t)
		if _, err := tx.Exec(ctx, `SAVEPOINT caller`); err != nil {
			t.Fatal(err)
		}
		r, err := s.AppendTx(ctx, tx, "tx-2", eventstore.NoStream, evs(1)...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT caller`); err != nil {
			t.Fatal(err)
		}
		holdsTheHorizon(t, s, func() error { return tx.Commit(ctx) }, r.Position)
	})
	t.Run("LockTx, then another table", func(t *testing.T) {
		tx := begin(t)
		if err := s.LockTx(ctx, tx); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+other+` VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		// The transaction has its xid and no event yet: an append that
		// commits now must not be delivered, since the transaction's
		// events will sort before it.
		early := mustAppend(t, s, "early", eventstore.NoStream, evs(1)...)
		if head, err := s.Head(ctx); err != nil || head >= early.Position {
			t.Errorf("Head() = %d, %v; want below %d: a reader would pass the locked transaction's xid", head, err, early.Position)
		}
		r, err := s.AppendTx(ctx, tx, "tx-3", eventstore.NoStream, evs(1)...)
		if err != nil {
			t.Fatal(err)
		}
		if r.Position >= early.Position {
			t.Fatalf("the locked transaction's event %d does not sort before %d", r.Position, early.Position)
		}
		holdsTheHorizon(t, s, func() error { return tx.Commit(ctx) }, r.Position)
	})
	t.Run("another table first: refused", func(t *testing.T) {
		tx := begin(t)
		if _, err := tx.Exec(ctx, `INSERT INTO `+other+` VALUES (2)`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTx(ctx, tx, "tx-4", eventstore.NoStream, evs(1)...); !errors.Is(err, ErrTxWroteBeforeAppend) {
			t.Fatalf("AppendTx after another write = %v, want ErrTxWroteBeforeAppend", err)
		}
		// Nothing was written, and the transaction is usable.
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("commit after the refusal: %v", err)
		}
		for _, err := range s.ReadStream(ctx, "tx-4", eventstore.ReadStreamOptions{}) {
			if !errors.Is(err, eventstore.ErrStreamNotFound) {
				t.Errorf("the refused append's stream: %v, want not found", err)
			}
		}
	})
	t.Run("savepoint rolled back: refused", func(t *testing.T) {
		tx := begin(t)
		if _, err := tx.Exec(ctx, `SAVEPOINT caller`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTx(ctx, tx, "tx-5", eventstore.NoStream, evs(1)...); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT caller`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTx(ctx, tx, "tx-6", eventstore.NoStream, evs(1)...); !errors.Is(err, ErrTxWroteBeforeAppend) {
			t.Fatalf("AppendTx after the savepoint that held the lock rolled back = %v, want ErrTxWroteBeforeAppend", err)
		}
	})
	verifyAll(t, s)
}

// privateURL returns KINERJA_TEST_POSTGRES_PRIVATE_URL: a superuser URL
// of a PostgreSQL server of the test's own, with max_prepared_transactions
// > 0, on which a test may create a role and change a database's grants
// (skipped when unset). The helpers' schemas are then made there.
func privateURL(t *testing.T) string {
	url := os.Getenv("KINERJA_TEST_POSTGRES_PRIVATE_URL")
	if url == "" {
		t.Skip("KINERJA_TEST_POSTGRES_PRIVATE_URL is not set (a server of the test's own, max_prepared_transactions > 0)")
	}
	t.Setenv("KINERJA_TEST_POSTGRES_URL", url)
	return url
}

// TestPreparedWriterHoldsTheHorizon: a prepared transaction (2PC) that
// appended events holds the horizon until COMMIT PREPARED.
func TestPreparedWriterHoldsTheHorizon(t *testing.T) {
	privateURL(t)
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{FinalityWait: 200 * time.Millisecond})
	ctx := tctx(t)
	mustAppend(t, s, "first", eventstore.NoStream, evs(1)...)
	// AppendTx NOTIFYs in its transaction, which PostgreSQL refuses to
	// PREPARE: the prepared writer runs the store's own append statement
	// after LockTx, as a bulk writer of the store would.
	conn := rawConn(t, url)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LockTx(ctx, tx); err != nil {
		t.Fatal(err)
	}
	prepared, err := eventstore.Prepare("prepared", evs(1), s.opts.Limits)
	if err != nil {
		t.Fatal(err)
	}
	req := &request{ctx: ctx, stream: "prepared", expected: -1, events: prepared, hashes: eventstore.Seal("prepared", eventstore.Head{}, prepared)}
	counts, err := s.insert(ctx, tx, []*request{req}, "")
	if err != nil || counts["prepared"].n != 1 {
		t.Fatalf("insert = %v, %v", counts, err)
	}
	r := eventstore.AppendResult{Position: eventstore.Position(counts["prepared"].last)}
	gid := "kinerja-" + schema
	if _, err := tx.Exec(ctx, `PREPARE TRANSACTION '`+gid+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Pool().Exec(context.Background(), `ROLLBACK PREPARED '`+gid+`'`) })
	holdsTheHorizon(t, s, func() error {
		_, err := s.Pool().Exec(ctx, `COMMIT PREPARED '`+gid+`'`)
		return err
	}, r.Position)
}

// TestNoEventAppearsBelowAPassedPosition races many writers (group commit,
// single-statement appends, AppendTx transactions slow to commit, some
// rolled back, some under subtransactions, some after LockTx and another
// write) against readers that page through ReadPage from their own
// checkpoints, while an unrelated transaction sits idle. Every event
// committed must reach every reader, in strictly increasing positions:
// a reader never re-reads below its checkpoint, so an event that appeared
// below a position it had passed would be missing.
func TestNoEventAppearsBelowAPassedPosition(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	single := openOn(t, url, schema, Options{NoGroupCommit: true})
	ctx := tctx(t)
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE `+other+` (x int)`); err != nil {
		t.Fatal(err)
	}
	idleWriter(t, url, schema, true)

	const writers, perWriter = 16, 25
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, writers+8)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range perWriter {
				stream := fmt.Sprintf("w%d-%d", w, i)
				var err error
				switch w % 4 {
				case 0: // group commit
					_, err = s.Append(ctx, stream, eventstore.NoStream, evs(1+rng.IntN(3))...)
				case 1: // one statement per append
					_, err = single.Append(ctx, stream, eventstore.NoStream, evs(1+rng.IntN(3))...)
				default: // a transaction slow to commit, maybe rolled back
					err = slowTx(ctx, s, other, stream, w%4 == 3, rng)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	type reader struct {
		got  []eventstore.Position
		last eventstore.Position
	}
	readers := make([]*reader, 3)
	var rg sync.WaitGroup
	for i := range readers {
		r := &reader{}
		readers[i] = r
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				done := stop.Load() // read before the page: a page after all writers ended sees everything
				page, pending, err := s.ReadPage(ctx, r.last, 1+rand.IntN(50))
				if err != nil {
					errs <- err
					return
				}
				for _, e := range page {
					if e.Position <= r.last {
						errs <- fmt.Errorf("reader delivered %d after %d", e.Position, r.last)
						return
					}
					r.last = e.Position
					r.got = append(r.got, e.Position)
				}
				if len(page) == 0 {
					if done && !pending {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var want []eventstore.Position
	for _, e := range verifyAll(t, s) {
		want = append(want, e.Position)
	}
	if len(want) == 0 {
		t.Fatal("nothing was appended")
	}
	for i, r := range readers {
		if !slices.Equal(r.got, want) {
			var missing []eventstore.Position
			for _, p := range want {
				if _, ok := slices.BinarySearch(r.got, p); !ok {
					missing = append(missing, p)
				}
			}
			t.Errorf("reader %d saw %d events, %d committed; it never saw %v (the last committed is %d, the last it saw %d)",
				i, len(r.got), len(want), missing, want[len(want)-1], r.last)
		}
	}
	if !t.Failed() {
		t.Logf("%d events; each of %d readers saw every one in order", len(want), len(readers))
	}
}

// slowTx appends to stream in a transaction that takes its time to
// commit: sometimes under a subtransaction, sometimes after LockTx and a
// write of another table; rolled back when rollback (and then a second
// attempt commits).
func slowTx(ctx context.Context, s *Store, other, stream string, rollback bool, rng *rand.Rand) error {
	for attempt := range 2 {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			return err
		}
		err = func() error {
			mode := rng.IntN(3)
			switch mode {
			case 1:
				if _, err := tx.Exec(ctx, `SAVEPOINT caller`); err != nil {
					return err
				}
			case 2:
				if err := s.LockTx(ctx, tx); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO `+other+` VALUES (1)`); err != nil {
					return err
				}
				// Readers page on meanwhile: they must not pass this
				// transaction's xid.
				time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			}
			if _, err := s.AppendTx(ctx, tx, stream, eventstore.NoStream, evs(1+rng.IntN(2))...); err != nil {
				return err
			}
			if mode == 1 {
				if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT caller`); err != nil {
					return err
				}
			}
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			if rollback && attempt == 0 {
				return tx.Rollback(ctx)
			}
			return tx.Commit(ctx)
		}()
		if err != nil {
			tx.Rollback(ctx)
			return err
		}
		if !rollback {
			return nil
		}
	}
	return nil
}

// BenchmarkHorizonRead measures one subscription poll (the readPage
// statement from the head, limit 1, on a connection of its own), the
// horizon alone (SELECT HORIZON) and the learning statement (nonWritersSQL,
// run at most every 20 ms per store while committed events wait), with
// the writers' horizon and with the snapshot (legacy) horizon, with an unrelated
// transaction idle in transaction (so that the writers' horizon takes its
// full path) and with 16 writers appending meanwhile. It reports the
// reading backend's CPU per statement (from /proc, when PostgreSQL runs on
// this machine) and, with writers, their events/s.
//
//	go test -run XXX -bench BenchmarkHorizonRead -benchtime 2000x -count 3 ./adapters/pgstore
func BenchmarkHorizonRead(b *testing.B) {
	for _, writers := range []int{0, 16} {
		for _, stmt := range []string{"horizon", "readPage", "learn"} {
			for _, legacy := range []bool{true, false} {
				name := fmt.Sprintf("writers=%d/stmt=%s/horizon=writers", writers, stmt)
				if legacy {
					name = fmt.Sprintf("writers=%d/stmt=%s/horizon=legacy", writers, stmt)
				}
				b.Run(name, func(b *testing.B) {
					url, schema := migrated(b)
					s := openOn(b, url, schema, Options{legacyHorizon: legacy})
					w := openOn(b, url, schema, Options{})
					ctx := context.Background()
					idleBench(b, url, schema)
					head := mustAppend(b, w, "head", eventstore.NoStream, evs(1)...)
					var stop atomic.Bool
					var appended atomic.Int64
					var wg sync.WaitGroup
					for i := range writers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for j := 0; !stop.Load(); j++ {
								if _, err := w.Append(ctx, fmt.Sprintf("w%d-%d", i, j), eventstore.NoStream, evs(1)...); err != nil {
									return
								}
								appended.Add(1)
							}
						}()
					}
					conn := rawConn(b, url)
					pid := int(conn.PgConn().PID())
					if !legacy {
						if err := s.learnNow(ctx); err != nil {
							b.Fatal(err)
						}
					} else if stmt == "learn" {
						b.Skip("the snapshot horizon learns nothing")
					}
					read := func() {
						sql, args := s.q.horizon, []any{s.known()}
						switch stmt {
						case "readPage":
							sql, args = s.q.readPage, []any{int64(head.Position), 1, s.known()}
						case "learn":
							sql, args = s.q.nonWriters, []any{s.known()}
						}
						rows, err := conn.Query(ctx, sql, args...)
						if err != nil {
							b.Fatal(err)
						}
						rows.Close()
						if err := rows.Err(); err != nil {
							b.Fatal(err)
						}
					}
					for range 20 {
						read() // warm: the statement's plan, the backend's caches
					}
					cpu0, ok := backendCPU(pid)
					n0 := appended.Load()
					b.ResetTimer()
					start := time.Now()
					for range b.N {
						read()
					}
					elapsed := time.Since(start)
					b.StopTimer()
					if cpu1, ok1 := backendCPU(pid); ok && ok1 {
						b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "backend-µs/op")
					}
					if writers > 0 {
						b.ReportMetric(float64(appended.Load()-n0)/elapsed.Seconds(), "writer-events/s")
					}
					stop.Store(true)
					wg.Wait()
				})
			}
		}
	}
}

// idleBench opens an unrelated transaction idle in transaction (it holds
// an xid) for the benchmark's duration.
func idleBench(b *testing.B, url, schema string) {
	ctx := tctx(b)
	conn := rawConn(b, url)
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE TABLE `+other+` (x int)`); err != nil {
		b.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, `INSERT INTO `+other+` VALUES (1)`); err != nil {
		b.Fatal(err)
	}
}

// backendCPU returns the user+system CPU of process pid in microseconds,
// from /proc (false when it cannot be read: PostgreSQL on another host).
func backendCPU(pid int) (int64, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw)[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (ut + st) * 1e6 / 100, true // USER_HZ is 100 on Linux
}

// TestSnapshotHorizonWhenPgLocksIsRevoked: a role that may not call
// pg_lock_status (an administrator revoked it from PUBLIC) opens the store
// on the snapshot horizon, says so, and reads and appends as before.
func TestSnapshotHorizonWhenPgLocksIsRevoked(t *testing.T) {
	privateURL(t)
	url, schema := migrated(t)
	ctx := tctx(t)
	admin := rawConn(t, url)
	role := "kinerja_pgstore_nolocks"
	sch := pgx.Identifier{schema}.Sanitize()
	for _, q := range []string{
		`DO $$ BEGIN CREATE ROLE ` + role + ` LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
		`GRANT USAGE ON SCHEMA ` + sch + ` TO ` + role,
		`GRANT ALL ON ALL TABLES IN SCHEMA ` + sch + ` TO ` + role,
		`GRANT ALL ON ALL FUNCTIONS IN SCHEMA ` + sch + ` TO ` + role,
		`REVOKE EXECUTE ON FUNCTION pg_catalog.pg_lock_status() FROM PUBLIC`,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		admin.Exec(ctx, `GRANT EXECUTE ON FUNCTION pg_catalog.pg_lock_status() TO PUBLIC`)
		admin.Exec(ctx, `REVOKE ALL ON ALL TABLES IN SCHEMA `+sch+` FROM `+role)
		admin.Exec(ctx, `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA `+sch+` FROM `+role)
		admin.Exec(ctx, `REVOKE USAGE ON SCHEMA `+sch+` FROM `+role)
	})
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	var logged strings.Builder
	var logMu sync.Mutex
	s := openOn(t, u.String(), schema, Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))})
	a := mustAppend(t, s, "a", eventstore.NoStream, evs(2)...)
	if head, err := s.Head(ctx); err != nil || head != a.Position {
		t.Errorf("Head() = %d, %v; want %d", head, err, a.Position)
	}
	f, err := s.Finality(ctx)
	if err != nil || !f.LegacyHorizon {
		t.Errorf("Finality() = %+v, %v; want the snapshot (legacy) horizon", f, err)
	}
	logMu.Lock()
	text := logged.String()
	logMu.Unlock()
	if !strings.Contains(text, "pgstore_writers_horizon_unavailable") {
		t.Errorf("no warning that the writers' horizon is unavailable; log: %s", text)
	}
	// As the superuser, the same schema gets the writers' horizon.
	if f, err := openOn(t, url, schema, Options{}).Finality(ctx); err != nil || f.LegacyHorizon {
		t.Errorf("Finality() as the superuser = %+v, %v; want the writers' horizon", f, err)
	}
}

// TestLateLockIsRefused is the review's scenario (F1): a transaction
// writes another table (it has an xid, without the events lock), an
// append commits after it, and a reader passes that append (learning
// proved the transaction a non-writer). Taking the events lock now would
// let the transaction's events sort below the reader's checkpoint: LockTx
// and AppendTx must refuse, whether LockTx comes late, after a first
// refused AppendTx (the natural retry), or the lock was taken by raw SQL
// after the write. Nothing of the refused appends is stored.
func TestLateLockIsRefused(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	ctx := tctx(t)
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE `+other+` (x int)`); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "first", eventstore.NoStream, evs(1)...)
	for _, mode := range []string{"late LockTx", "refused AppendTx, then LockTx", "raw LOCK TABLE"} {
		t.Run(mode, func(t *testing.T) {
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, `INSERT INTO `+other+` VALUES (1)`); err != nil {
				t.Fatal(err)
			}
			late := fmt.Sprintf("late-%d", rand.Int64())
			if mode == "refused AppendTx, then LockTx" {
				if _, err := s.AppendTx(ctx, tx, late, eventstore.NoStream, evs(1)...); !errors.Is(err, ErrTxWroteBeforeAppend) {
					t.Fatalf("first AppendTx = %v, want ErrTxWroteBeforeAppend", err)
				}
			}
			after := mustAppend(t, s, fmt.Sprintf("after-%d", rand.Int64()), eventstore.NoStream, evs(1)...)
			if err := s.learnNow(ctx); err != nil {
				t.Fatal(err)
			}
			page, _, err := s.ReadPage(ctx, 0, 100000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 || page[len(page)-1].Position < after.Position {
				t.Fatalf("precondition: the reader did not pass the later append %d (the open transaction was not proven a non-writer)", after.Position)
			}
			checkpoint := page[len(page)-1].Position
			switch mode {
			case "raw LOCK TABLE":
				if _, err := tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier{schema, "events"}.Sanitize()+` IN ROW EXCLUSIVE MODE`); err != nil {
					t.Fatal(err)
				}
			default:
				if err := s.LockTx(ctx, tx); !errors.Is(err, ErrTxWroteBeforeAppend) {
					t.Fatalf("LockTx after the transaction's first write = %v, want ErrTxWroteBeforeAppend", err)
				}
			}
			r, err := s.AppendTx(ctx, tx, late, eventstore.NoStream, evs(1)...)
			if !errors.Is(err, ErrTxWroteBeforeAppend) {
				t.Errorf("AppendTx after a late lock = %+v, %v, want ErrTxWroteBeforeAppend (the reader's checkpoint %d)", r, err, checkpoint)
			}
			// The transaction stays usable for its other work.
			if err := tx.Commit(ctx); err != nil {
				t.Fatalf("commit after the refusals: %v", err)
			}
			for _, err := range s.ReadStream(ctx, late, eventstore.ReadStreamOptions{}) {
				if !errors.Is(err, eventstore.ErrStreamNotFound) {
					t.Errorf("the refused append's stream: %v, want not found", err)
				}
			}
		})
	}
	verifyAll(t, s)
}

// TestKnownNonWritersStayBounded (review F3): while an idle non-writer
// pins the snapshots' xmin, the proven non-writers that have ended leave
// the known set at the next learning; it does not grow with every
// transaction that ever ran.
func TestKnownNonWritersStayBounded(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	ctx := tctx(t)
	idleWriter(t, url, schema, false) // pins xmin; creates the other table
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	var ended []int64
	for range 30 {
		func() {
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			var xid int64
			if err := tx.QueryRow(ctx, `INSERT INTO `+other+` VALUES (1) RETURNING pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
				t.Fatal(err)
			}
			// A transaction that ends after it, so that the snapshots'
			// xmax passes xid and lists it as running.
			if _, err := s.Pool().Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
				t.Fatal(err)
			}
			if err := s.learnNow(ctx); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(s.known(), xid) {
				t.Fatalf("precondition: the open non-writer %d was not proven", xid)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			ended = append(ended, xid)
		}()
	}
	if _, err := s.Pool().Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	if err := s.learnNow(ctx); err != nil {
		t.Fatal(err)
	}
	known := s.known()
	for _, x := range ended {
		if slices.Contains(known, x) {
			t.Errorf("the ended non-writer %d is still in the known set (%d xids)", x, len(known))
		}
	}
}

// TestHorizonOnAStandbyIsTheSnapshotXmin (review F2): on a hot standby
// pg_current_snapshot() lists no running xids, so the horizon must be the
// snapshot's xmin there. Without a standby, the test stands one in: a
// pg_is_in_recovery() of the test's schema, ahead of pg_catalog in the
// search path, says true, and the horizon statement must then stay at or
// below the xid of an open transaction, even one known as a non-writer.
func TestHorizonOnAStandbyIsTheSnapshotXmin(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	ctx := tctx(t)
	conn := rawConn(t, url)
	if _, err := conn.Exec(ctx, `CREATE TABLE `+pgx.Identifier{schema, "unrelated"}.Sanitize()+` (x int)`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var xid int64
	if err := tx.QueryRow(ctx, `INSERT INTO `+pgx.Identifier{schema, "unrelated"}.Sanitize()+` VALUES (1) RETURNING pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "after", eventstore.NoStream, evs(1)...)
	if err := s.learnNow(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.known(), xid) {
		t.Fatalf("precondition: the open non-writer %d was not proven", xid)
	}

	standby := rawConn(t, url)
	if _, err := standby.Exec(ctx, `CREATE FUNCTION `+pgx.Identifier{schema, "pg_is_in_recovery"}.Sanitize()+`() RETURNS boolean LANGUAGE sql AS 'SELECT true'`); err != nil {
		t.Fatal(err)
	}
	if _, err := standby.Exec(ctx, `SET search_path = `+pgx.Identifier{schema}.Sanitize()+`, pg_catalog`); err != nil {
		t.Fatal(err)
	}
	var inRecovery bool
	if err := standby.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("the stand-in pg_is_in_recovery() = %v, %v; want true", inRecovery, err)
	}
	var primary, onStandby int64
	if err := s.Pool().QueryRow(ctx, s.q.horizon, s.known()).Scan(&primary); err != nil {
		t.Fatal(err)
	}
	if err := standby.QueryRow(ctx, s.q.horizon, s.known()).Scan(&onStandby); err != nil {
		t.Fatal(err)
	}
	if onStandby>>positionShift > xid {
		t.Errorf("horizon in recovery = xid %d, past the open transaction %d: on a standby it must be the snapshot's xmin", onStandby>>positionShift, xid)
	}
	if primary>>positionShift <= xid {
		t.Logf("the primary's horizon (xid %d) is held by another transaction of the cluster, at or below %d", primary>>positionShift, xid)
	}
	// Learning proves nothing in recovery.
	var proven []int64
	if err := standby.QueryRow(ctx, s.q.nonWriters, []int64{}).Scan(&proven); err != nil {
		t.Fatal(err)
	}
	if len(proven) != 0 {
		t.Errorf("learning in recovery proved %v, want nothing", proven)
	}
}

// TestFinalityKeepsTheLearningRate (review, minor): Finality polled while
// committed events wait does not run a learning (a pg_locks capture) on
// every call: no more often than learnEvery, like reads.
func TestFinalityKeepsTheLearningRate(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	ctx := tctx(t)
	idleWriter(t, url, schema, false)
	mustAppend(t, s, "after", eventstore.NoStream, evs(1)...)
	// A learning "just ran" (for the next hour): Finality must not learn.
	s.learnMu.Lock()
	s.learnedAt = time.Now().Add(time.Hour)
	s.learnMu.Unlock()
	before := s.learnings.Load()
	for range 5 {
		if _, err := s.Finality(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.learnings.Load() - before; n != 0 {
		t.Errorf("5 Finality calls within learnEvery of a learning ran %d learnings, want 0", n)
	}
	// Once learnEvery has passed, Finality learns, and the idle
	// non-writer no longer holds it back.
	s.learnMu.Lock()
	s.learnedAt = time.Time{}
	s.learnMu.Unlock()
	f, err := s.Finality(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.learnings.Load() == before {
		t.Errorf("Finality while lagging, learnEvery after the last learning, did not learn")
	}
	if f.Lagging() {
		t.Logf("Finality still lagging after learning (another transaction of the cluster holds it): %+v", f)
	}
}

// TestHorizonOnARealStandby is TestHorizonOnAStandbyIsTheSnapshotXmin on
// a real hot standby: KINERJA_TEST_POSTGRES_STANDBY_URL, a standby of
// KINERJA_TEST_POSTGRES_STANDBY_PRIMARY_URL (skipped unless both are set;
// a pg_basebackup -R of a server of the test's own will do). A
// transaction open on the primary, proven a non-writer there, must still
// hold the horizon computed on the standby, whose snapshot lists no
// running xids.
func TestHorizonOnARealStandby(t *testing.T) {
	standbyURL, primaryURL := os.Getenv("KINERJA_TEST_POSTGRES_STANDBY_URL"), os.Getenv("KINERJA_TEST_POSTGRES_STANDBY_PRIMARY_URL")
	if standbyURL == "" || primaryURL == "" {
		t.Skip("KINERJA_TEST_POSTGRES_STANDBY_URL and KINERJA_TEST_POSTGRES_STANDBY_PRIMARY_URL are not set")
	}
	t.Setenv("KINERJA_TEST_POSTGRES_URL", primaryURL)
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	ctx := tctx(t)
	conn := rawConn(t, url)
	other := pgx.Identifier{schema, "unrelated"}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE TABLE `+other+` (x int)`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var xid int64
	if err := tx.QueryRow(ctx, `INSERT INTO `+other+` VALUES (1) RETURNING pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	after := mustAppend(t, s, "after", eventstore.NoStream, evs(1)...)
	if err := s.learnNow(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.known(), xid) {
		t.Fatalf("precondition: the open non-writer %d was not proven on the primary", xid)
	}
	standby := rawConn(t, standbyURL)
	// Wait (bounded) for the standby to replay the later append.
	events := pgx.Identifier{schema, "events"}.Sanitize()
	for i := 0; ; i++ {
		var n int
		err := standby.QueryRow(ctx, `SELECT count(*) FROM `+events+` WHERE position = $1`, int64(after.Position)).Scan(&n)
		if err == nil && n == 1 {
			break
		}
		if i == 300 {
			t.Fatalf("the standby did not replay the append: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var inRecovery bool
	var xip int
	if err := standby.QueryRow(ctx, `SELECT pg_is_in_recovery(), (SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()))`).Scan(&inRecovery, &xip); err != nil || !inRecovery {
		t.Fatalf("standby: in recovery %v, %v", inRecovery, err)
	}
	t.Logf("the standby's snapshot lists %d running xids", xip)
	var h int64
	if err := standby.QueryRow(ctx, s.q.horizon, s.known()).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if h>>positionShift > xid {
		t.Errorf("horizon on the standby = xid %d, past the primary's open transaction %d", h>>positionShift, xid)
	}
}
