package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

func coalesceEvent(i int) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "test.tail.v1", SchemaVersion: 1,
		OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "tester"}, Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}
}

// TestCoalescedTailReadsSeeAcknowledgedWrites: process B's tail reads
// share statements (one in flight, the rest batched behind it) while
// readers keep B busy, and still every read B starts after process A
// acknowledged an append sees that append, and the newest committed
// position B's ReadTailsHead reports is at or past it. A batch that a read
// joined after it was sent would answer from a snapshot older than the
// append (the read's stale answer fails the test). A read whose context
// ends while it waits returns the context's error and frees nothing that
// the others need.
func TestCoalescedTailReadsSeeAcknowledgedWrites(t *testing.T) {
	url, schema := migrated(t)
	a := openOn(t, url, schema, Options{})
	b := openOn(t, url, schema, Options{TailReaders: 1})
	ctx := tctx(t)
	const writers, perWriter, rounds = 4, 4, 40
	stream := func(w, i int) string { return fmt.Sprintf("coalesce-%d-%d", w, i) }
	for w := range writers {
		for i := range perWriter {
			if _, err := a.Append(ctx, stream(w, i), eventstore.NoStream, coalesceEvent(0)); err != nil {
				t.Fatal(err)
			}
		}
	}

	// B's background readers keep its one statement slot busy, so the
	// checked reads below join batches.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	var bgErr atomic.Value
	for r := range 8 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			rnd := rand.New(rand.NewPCG(uint64(r), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				reqs := []eventstore.TailRequest{{Stream: stream(rnd.IntN(writers), rnd.IntN(perWriter))}, {Stream: "coalesce-none"}}
				var err error
				if r%2 == 0 {
					_, _, err = b.ReadTailsHead(ctx, reqs)
				} else {
					_, err = b.ReadTails(ctx, reqs)
				}
				if err != nil {
					bgErr.Store(err)
					return
				}
			}
		}()
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rev := make([]uint64, perWriter)
			for k := range rounds {
				i := k % perWriter
				res, err := a.Append(ctx, stream(w, i), eventstore.Exact(rev[i]), coalesceEvent(k))
				if err != nil {
					errs <- err
					return
				}
				rev[i] = res.Revision
				// A acknowledged it: B's very next read must see it.
				reqs := []eventstore.TailRequest{{Stream: stream(w, (i+1)%perWriter)}, {Stream: stream(w, i), From: res.Revision}}
				tails, head, err := b.ReadTailsHead(ctx, reqs)
				if err != nil {
					errs <- err
					return
				}
				got := tails[1]
				if !got.Exists || len(got.Events) != 1 || got.Events[0].Revision != res.Revision || got.Events[0].Position != res.Position {
					errs <- fmt.Errorf("writer %d round %d: B's read after A's acknowledged append of %s@%d (position %d) = %+v",
						w, k, stream(w, i), res.Revision, res.Position, got)
					return
				}
				if head < res.Position {
					errs <- fmt.Errorf("writer %d round %d: B's newest committed position %d is below A's acknowledged %d", w, k, head, res.Position)
					return
				}
				if !tails[0].Exists || len(tails[0].Events) == 0 {
					errs <- fmt.Errorf("writer %d round %d: the other stream's tail = %+v", w, k, tails[0])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err, _ := bgErr.Load().(error); err != nil {
		t.Errorf("background reader: %v", err)
	}
	statements, reads := b.tailStats()
	t.Logf("B: %d tail reads in %d statements", reads, statements)
	if statements >= reads {
		t.Errorf("B's %d tail reads took %d statements: none shared one, the test proves nothing", reads, statements)
	}

	// A read that gives up while it waits for a batch: its error is its
	// context's, and the slot goes on serving. First every batch goroutine
	// has handed its slot on (sending), and no statement is in flight.
	b.tails.sending.Wait()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		b.tails.mu.Lock()
		idle := b.tails.inflight == 0 && b.tails.open == nil
		b.tails.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("waited 30 s for B's tail statements to end")
		}
	}
	b.tails.mu.Lock()
	b.tails.inflight = 1 // as if a statement were in flight
	b.tails.mu.Unlock()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := b.ReadTails(short, []eventstore.TailRequest{{Stream: stream(0, 0)}})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a read whose context ends while it waits = %v, want the deadline", err)
	}
	b.tails.next(b) // the pretended statement ends: the abandoned batch is dropped
	tails, err := b.ReadTails(ctx, []eventstore.TailRequest{{Stream: stream(0, 0)}})
	if err != nil || !tails[0].Exists {
		t.Errorf("after the abandoned batch: %+v, %v", tails, err)
	}
	b.tails.mu.Lock()
	defer b.tails.mu.Unlock()
	if b.tails.inflight != 0 || b.tails.open != nil {
		t.Errorf("after every read ended: %d in flight, open batch %v", b.tails.inflight, b.tails.open)
	}
}

// TestCoalescedTailBatchBounded: when the statement in flight stalls (here
// behind a lock on the events table), the reads arriving meanwhile fill
// the open batch up to maxTailBatch requests and then send statements of
// their own, instead of piling every one of them into a single statement
// whose failure would fail them all; once the lock is gone, every read is
// answered.
func TestCoalescedTailBatchBounded(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{TailReaders: 1})
	ctx := tctx(t)
	if _, err := s.Append(ctx, "bounded-0", eventstore.NoStream, coalesceEvent(0)); err != nil {
		t.Fatal(err)
	}
	lock := rawConn(t, url)
	if _, err := lock.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, "LOCK TABLE "+pgx.Identifier{schema, "events"}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	reads := func() uint64 { _, r := s.tailStats(); return r }
	waitFor := func(n uint64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); reads() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d reads arrived, want %d", reads(), n)
			}
		}
	}
	const extra = 40
	total := 1 + maxTailBatch + extra
	errs := make(chan error, total)
	read := func() {
		tails, err := s.ReadTails(ctx, []eventstore.TailRequest{{Stream: "bounded-0"}})
		if err == nil && (len(tails) != 1 || len(tails[0].Events) != 1) {
			err = fmt.Errorf("tails %+v, want the one event", tails)
		}
		errs <- err
	}
	go read() // takes the one slot and stalls behind the lock
	waitFor(1)
	for range maxTailBatch + extra {
		go read()
	}
	waitFor(uint64(total))
	// One own statement, then the full batch (not sent yet: its slot is
	// held), then one own statement for each read past it.
	if st, _ := s.tailStats(); st != 1+extra {
		t.Errorf("%d statements sent while stalled, want %d (1 + %d past a full batch)", st, 1+extra, extra)
	}
	if _, err := lock.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	for range total {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.tailStats(); st != 2+extra {
		t.Errorf("%d statements in all, want %d", st, 2+extra)
	}
}

// TestCloseWaitsForSharedTailStatement: a batch statement runs on the
// coalescer's own goroutine, on a pool the caller may keep owning; Close
// must not return while it is in flight (the statement would go on using
// the pool, and its goroutine outlive the store). The batch is stalled
// behind a table lock: Close waits, the lock's release lets it answer its
// reader with the rows, and only then does Close return.
func TestCloseWaitsForSharedTailStatement(t *testing.T) {
	ctx, s, lock, _ := stalledTails(t, "closing-0", true)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 30 s for %s", what)
			}
		}
	}
	// The first read takes the one slot and stalls; the second joins the
	// open batch. Cancelling the first hands its slot to the batch, whose
	// statement then stalls behind the lock on the coalescer's goroutine.
	firstCtx, cancelFirst := context.WithCancel(ctx)
	firstDone := make(chan error, 1)
	go func() {
		_, err := s.ReadTails(firstCtx, []eventstore.TailRequest{{Stream: "closing-0"}})
		firstDone <- err
	}()
	waitFor("the first read", func() bool { _, r := s.tailStats(); return r == 1 })
	second := readTailAsync(ctx, s, "closing-0")
	waitFor("the second read", func() bool { _, r := s.tailStats(); return r == 2 })
	cancelFirst()
	if err := <-firstDone; err == nil {
		t.Fatal("the cancelled first read succeeded behind the lock")
	}
	// The batch's statement is past next's check of Close (counted in
	// sending) only when started counts it; statements counts it earlier,
	// and a Close in between would fail the batch with ErrClosed.
	waitFor("the batch's statement", func() bool { return s.tails.started.Load() == 1 })
	closeWaitsFor(t, ctx, s, lock, second, "closing-0", "a shared tail statement", "the batched read")
}

// TestCloseWaitsForDirectTailRead: a read that takes a free slot sends its
// statement on its own goroutine. Stalled behind a table lock, it is in
// flight when Close begins: Close must not return while it runs (on a
// pool the caller owns it would go on using it; on an owned pool
// pool.Close would wait for it as long as the reader's context lives).
// The lock's release lets it answer with its row; then Close returns.
func TestCloseWaitsForDirectTailRead(t *testing.T) {
	ctx, s, lock, events := stalledTails(t, "direct-0", true)
	read := readTailAsync(ctx, s, "direct-0")
	// The read's statement waits for the lock.
	waitLockWaiter(t, ctx, lock, events, func() {
		select {
		case a := <-read:
			t.Fatalf("the read ended behind the lock: %+v, %v", a.tails, a.err)
		default:
		}
	})
	closeWaitsFor(t, ctx, s, lock, read, "direct-0", "a read's own tail statement", "the read")
}

// TestCloseCancelsStalledTailReadAfterGrace: a read's own tail statement
// that stays stalled behind a lock is cancelled when Close stops waiting
// (closeGrace): the read ends with ErrClosed, not the bare cancellation
// of a context it never cancelled, and Close returns on the store's own
// pool (pool.Close would otherwise wait for the statement as long as the
// reader's context lives).
func TestCloseCancelsStalledTailReadAfterGrace(t *testing.T) {
	if testing.Short() {
		t.Skip("waits closeGrace")
	}
	ctx, s, lock, events := stalledTails(t, "grace-0", false)
	read := readTailAsync(ctx, s, "grace-0")
	waitLockWaiter(t, ctx, lock, events, nil)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(closeGrace + 30*time.Second):
		t.Fatal("Close did not return after closeGrace with a tail statement stalled")
	}
	select {
	case a := <-read:
		if !errors.Is(a.err, eventstore.ErrClosed) {
			t.Fatalf("the stalled read = %v, want ErrClosed", a.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled read did not end after Close")
	}
}

// stalledTails opens a store of one tail reader — on a pool the test owns
// (ownPool; Close then leaves the pool open) or on its own (Connect) —
// appends one event to stream, and locks the events table in a
// transaction on lock, so that every tail statement stalls until lock's
// ROLLBACK. events is the table's quoted name.
func stalledTails(t *testing.T, stream string, ownPool bool) (ctx context.Context, s *Store, lock *pgx.Conn, events string) {
	t.Helper()
	url, schema := migrated(t)
	ctx = tctx(t)
	if ownPool {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		CancelOnContextDone(cfg.ConnConfig)
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if s, err = Open(ctx, pool, Options{Schema: schema, TailReaders: 1}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
	} else {
		s = openOn(t, url, schema, Options{TailReaders: 1})
	}
	if _, err := s.Append(ctx, stream, eventstore.NoStream, coalesceEvent(0)); err != nil {
		t.Fatal(err)
	}
	lock = rawConn(t, url)
	if _, err := lock.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Exec(context.Background(), "ROLLBACK") })
	events = pgx.Identifier{schema, "events"}.Sanitize()
	if _, err := lock.Exec(ctx, "LOCK TABLE "+events+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return ctx, s, lock, events
}

// tailAnswer is one ReadTails' result.
type tailAnswer struct {
	tails []eventstore.Tail
	err   error
}

// readTailAsync reads stream's tail on a goroutine of its own.
func readTailAsync(ctx context.Context, s *Store, stream string) <-chan tailAnswer {
	c := make(chan tailAnswer, 1)
	go func() {
		tails, err := s.ReadTails(ctx, []eventstore.TailRequest{{Stream: stream}})
		c <- tailAnswer{tails, err}
	}()
	return c
}

// waitLockWaiter waits until a statement waits for lock's lock on events
// (found in pg_locks: the stored query text is cut at 1 kB, before the
// table's name), calling check (when not nil) between polls.
func waitLockWaiter(t *testing.T, ctx context.Context, lock *pgx.Conn, events string, check func()) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := lock.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted`, events).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if check != nil {
			check()
		}
		if time.Now().After(deadline) {
			t.Fatal("waited 30 s for the read's statement to wait for the lock")
		}
	}
}

// closeWaitsFor: with a tail statement stalled behind lock, Close must not
// return while it is in flight; lock's ROLLBACK lets the read (answer)
// have its one event, then Close returns, and a read of stream after it
// gets ErrClosed without starting a statement.
func closeWaitsFor(t *testing.T, ctx context.Context, s *Store, lock *pgx.Conn, answer <-chan tailAnswer, stream, statement, read string) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while %s was in flight", err, statement)
	case <-time.After(500 * time.Millisecond):
	}
	if _, err := lock.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	a := <-answer
	if a.err != nil || len(a.tails) != 1 || len(a.tails[0].Events) != 1 {
		t.Fatalf("%s = %+v, %v; want the one event", read, a.tails, a.err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Close did not return after %s ended", read)
	}
	if _, err := s.ReadTails(ctx, []eventstore.TailRequest{{Stream: stream}}); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read after Close = %v, want ErrClosed", err)
	}
}
