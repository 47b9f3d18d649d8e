package pgstore

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// bulkOp is one append of a workload that both paths run.
type bulkOp struct {
	stream string
	exp    eventstore.ExpectedRevision
	events []eventstore.EventData
}

// bulkWorkload is a deterministic mix of appends: new streams, appends at
// exact revisions and at Any, one to eight events each, odd payloads
// (empty, binary, long) and envelopes with every field set.
func bulkWorkload() []bulkOp {
	var ops []bulkOp
	revs := map[string]int{}
	id := uint64(0)
	for i := range 300 {
		stream := fmt.Sprintf("skp-%d", (i*7)%41)
		n := 1 + i%8
		events := make([]eventstore.EventData, n)
		for j := range events {
			id++
			var u uuid.UUID
			u[0], u[6], u[8] = byte(id>>8), 0x40, 0x80
			u[15] = byte(id)
			u[14] = byte(id >> 16)
			data := []byte(fmt.Sprintf(`{"i":%d,"j":%d}`, i, j))
			switch id % 5 {
			case 0:
				data = nil
			case 1:
				data = []byte{0, 0xff, '\n', '\\', 0x80}
			case 2:
				data = make([]byte, 5000+int(id))
			}
			events[j] = eventstore.EventData{ID: u, Type: "test.happened.v1", SchemaVersion: 1 + int(id%3),
				OccurredAt:    time.Date(2025, 3, 1, 10, 0, 0, int(id)*1001, time.UTC),
				Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
				CorrelationID: fmt.Sprintf("c-%d", i), CausationID: fmt.Sprintf("k-%d", id), Reason: "alasan\tä", Data: data}
		}
		exp := eventstore.NoStream
		if last, ok := revs[stream]; ok {
			exp = eventstore.Exact(uint64(last))
			if i%5 == 0 {
				exp = eventstore.Any
			}
			revs[stream] = last + n
		} else {
			revs[stream] = n - 1
		}
		ops = append(ops, bulkOp{stream: stream, exp: exp, events: events})
	}
	return ops
}

// testSigner is a fixed writer key, so that two stores written with it
// hold the same signatures (Ed25519 is deterministic).
func testSigner() *eventstore.Ed25519Signer {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 7
	return eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(seed))
}

// canonical is what must be equal between the two paths: every event's
// envelope, payload, revision, chain hash and writer signature, in the
// global order (positions differ: they hold transaction IDs).
type canonical struct {
	eventstore.EventData
	Stream    string
	Revision  uint64
	Hash      eventstore.Hash
	Signature eventstore.WriterSignature
}

func canonicalLog(tb testing.TB, s *Store) []canonical {
	tb.Helper()
	var out []canonical
	for _, e := range verifyAll(tb, s) {
		d := e.EventData
		if d.Data == nil {
			d.Data = []byte{}
		}
		out = append(out, canonical{EventData: d, Stream: e.Stream, Revision: e.Revision, Hash: e.Hash, Signature: e.Signature})
	}
	return out
}

// authenticate reads the whole log through the authenticated reader: every
// writer signature checked against the key.
func authenticate(tb testing.TB, s *Store, signer *eventstore.Ed25519Signer) int {
	tb.Helper()
	a := eventstore.NewAuthenticatedStore(s, eventstore.NewKeyring(signer.Public()))
	n := 0
	for _, err := range a.ReadAll(tctx(tb), eventstore.ReadAllOptions{}) {
		if err != nil {
			tb.Fatalf("authenticated read: %v", err)
		}
		n++
	}
	return n
}

// newBulk starts a Bulk over s, closed when the test ends (before s: an
// open chunk holds one of its pool's connections).
func newBulk(t *testing.T, s *Store, opts BulkOptions) *Bulk {
	t.Helper()
	b, err := NewBulk(tctx(t), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestBulkMatchesAppend writes one workload through Store.Append and
// through Bulk (chunks of 97 events, so that appends straddle many
// chunks) and compares the canonical logs: equal byte for byte, in the
// same global order, and both verify (chain and every signature). Each
// Bulk answer is the stored event's revision, hash and position.
func TestBulkMatchesAppend(t *testing.T) {
	signer := testSigner()
	ring := eventstore.NewKeyring(signer.Public())
	ctx := tctx(t)
	ops := bulkWorkload()

	normal := openTest(t, Options{Signer: signer, Keyring: ring})
	for _, op := range ops {
		mustAppend(t, normal, op.stream, op.exp, op.events...)
	}

	store := openTest(t, Options{Signer: signer, Keyring: ring})
	b := newBulk(t, store, BulkOptions{ChunkEvents: 97})
	results := make([]eventstore.AppendResult, len(ops))
	for i, op := range ops {
		var err error
		if results[i], err = b.Append(ctx, op.stream, op.exp, op.events...); err != nil {
			t.Fatalf("bulk append %d: %v", i, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	want, got := canonicalLog(t, normal), canonicalLog(t, store)
	if len(got) != len(want) {
		t.Fatalf("bulk wrote %d events, append %d", len(got), len(want))
	}
	for i := range want {
		if !equalCanonical(want[i], got[i]) {
			t.Fatalf("event %d differs:\nappend %+v\nbulk   %+v", i, want[i], got[i])
		}
	}
	if n := authenticate(t, store, signer); n != len(want) {
		t.Fatalf("authenticated %d events, want %d", n, len(want))
	}
	stored := readAll(t, store)
	byID := map[uuid.UUID]eventstore.Event{}
	for _, e := range stored {
		byID[e.ID] = e
	}
	for i, op := range ops {
		e := byID[op.events[len(op.events)-1].ID]
		if r := results[i]; r.Revision != e.Revision || r.Hash != e.Hash || r.Position != e.Position {
			t.Fatalf("append %d answered %+v, stored %d/%x at %d", i, r, e.Revision, e.Hash[:4], e.Position)
		}
	}
	if !slices.IsSortedFunc(stored, func(a, b eventstore.Event) int { return int(a.Position) - int(b.Position) }) {
		t.Fatal("positions out of order")
	}
}

func equalCanonical(a, b canonical) bool {
	return a.ID == b.ID && a.Type == b.Type && a.SchemaVersion == b.SchemaVersion && a.OccurredAt.Equal(b.OccurredAt) &&
		a.Actor == b.Actor && a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID && a.Reason == b.Reason &&
		string(a.Data) == string(b.Data) && a.Stream == b.Stream && a.Revision == b.Revision && a.Hash == b.Hash &&
		a.Signature.KeyID == b.Signature.KeyID && string(a.Signature.Sig) == string(b.Signature.Sig)
}

// TestBulkExpectedRevision: a wrong expected revision is refused at once,
// with nothing written and the writer still usable, as Store.Append does.
func TestBulkExpectedRevision(t *testing.T) {
	ctx := tctx(t)
	s := openTest(t, Options{})
	b := newBulk(t, s, BulkOptions{})
	if _, err := b.Append(ctx, "a", eventstore.NoStream, evs(2)...); err != nil {
		t.Fatal(err)
	}
	for _, exp := range []eventstore.ExpectedRevision{eventstore.NoStream, eventstore.Exact(0), eventstore.Exact(2)} {
		_, err := b.Append(ctx, "a", exp, ev("x"))
		var we *eventstore.WrongExpectedRevisionError
		if !errors.As(err, &we) || we.Actual != 1 {
			t.Fatalf("Append(a, %s) = %v, want a wrong expected revision (actual 1)", exp, err)
		}
	}
	if _, err := b.Append(ctx, "b", eventstore.Exact(0), ev("x")); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("Append(b, 0) = %v, want a wrong expected revision", err)
	}
	if _, err := b.Append(ctx, "b", eventstore.StreamExists, ev("x")); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("Append(b, exists) = %v, want a wrong expected revision", err)
	}
	if r, err := b.Append(ctx, "a", eventstore.Exact(1), ev("y")); err != nil || r.Revision != 2 {
		t.Fatalf("Append(a, 1) = %+v, %v", r, err)
	}
	// A stream read back is committed first (read your writes).
	n := 0
	for _, err := range b.ReadStream(ctx, "a", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("ReadStream(a) gave %d events, want 3", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(verifyAll(t, s)); got != 3 {
		t.Fatalf("%d events stored, want 3", got)
	}
}

// TestBulkRefusesAStoreWithEvents: the writer's heads are only its own.
func TestBulkRefusesAStoreWithEvents(t *testing.T) {
	s := openTest(t, Options{})
	mustAppend(t, s, "a", eventstore.NoStream, ev("x"))
	if _, err := NewBulk(tctx(t), s, BulkOptions{}); !errors.Is(err, ErrBulkNotEmpty) {
		t.Fatalf("NewBulk = %v, want ErrBulkNotEmpty", err)
	}
}

// TestBulkBesideAWriter: a normal writer beside a Bulk never interleaves
// wrongly. On each stream whichever commits second loses on the primary
// key: the normal writer gets a wrong expected revision, or the Bulk's
// chunk fails whole (nothing of it, or of any later chunk, is written,
// and every later call says so). The log verifies either way.
func TestBulkBesideAWriter(t *testing.T) {
	ctx := tctx(t)
	s := openTest(t, Options{})
	b := newBulk(t, s, BulkOptions{})
	mustBulk := func(stream string, exp eventstore.ExpectedRevision, events ...eventstore.EventData) {
		t.Helper()
		if _, err := b.Append(ctx, stream, exp, events...); err != nil {
			t.Fatalf("bulk Append(%s) = %v", stream, err)
		}
	}
	mustBulk("x", eventstore.NoStream, ev("x0"))
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The Bulk committed first: the normal writer's append at the same
	// revision is refused.
	mustBulk("x", eventstore.Exact(0), ev("x1 bulk"))
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "x", eventstore.Exact(0), ev("x1 normal")); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("normal Append(x, 0) after the bulk's x@1 = %v, want a wrong expected revision", err)
	}
	// The normal writer commits first (x@2, and y, which the Bulk has
	// never seen): the Bulk's chunk holding x@2 and y@0 fails whole, and
	// z, in the same chunk, is not written either.
	mustAppend(t, s, "x", eventstore.Exact(1), ev("x2 normal"))
	mustBulk("z", eventstore.NoStream, ev("z0 bulk"))
	mustBulk("x", eventstore.Exact(1), ev("x2 bulk"))
	mustAppend(t, s, "y", eventstore.NoStream, ev("y0 normal"))
	mustBulk("y", eventstore.NoStream, ev("y0 bulk"))
	err := b.Flush(ctx)
	if pgCode(err) != "23505" {
		t.Fatalf("Flush = %v, want the chunk refused on a unique key", err)
	}
	if _, err2 := b.Append(ctx, "w", eventstore.NoStream, ev("w")); err2 == nil {
		t.Fatal("Append after a failed chunk succeeded")
	}
	if err2 := b.Close(); err2 == nil {
		t.Fatal("Close after a failed chunk = nil")
	}
	var got []string
	for _, e := range verifyAll(t, s) {
		got = append(got, fmt.Sprintf("%s@%d %s", e.Stream, e.Revision, e.Data))
	}
	want := []string{"x@0 x0", "x@1 x1 bulk", "x@2 x2 normal", "y@0 y0 normal"}
	if !slices.Equal(got, want) {
		t.Fatalf("log = %q, want %q", got, want)
	}
}

// TestBulkHoldsTheHorizon: a chunk takes the events lock before its
// transaction ID, so readers never pass it. An event a normal writer
// commits while a chunk is open (its position is after the chunk's) is
// not delivered before the chunk's events, which come first once it
// commits.
func TestBulkHoldsTheHorizon(t *testing.T) {
	ctx := tctx(t)
	s := openTest(t, Options{FinalityWait: 200 * time.Millisecond})
	b := newBulk(t, s, BulkOptions{})
	if _, err := b.Append(ctx, "bulk", eventstore.NoStream, ev("first")); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "normal", eventstore.NoStream, ev("second"))
	if all := readAll(t, s); len(all) != 0 {
		t.Fatalf("read %d events past an open chunk, want none", len(all))
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all := readAll(t, s)
	if len(all) != 2 || all[0].Stream != "bulk" || all[1].Stream != "normal" {
		t.Fatalf("log after the chunk = %+v, want the chunk's event then the normal one", all)
	}
}

// TestBulkContextAndClose: a cancelled caller writes nothing; after Close
// appends fail.
func TestBulkContextAndClose(t *testing.T) {
	s := openTest(t, Options{})
	b := newBulk(t, s, BulkOptions{})
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Append(cctx, "a", eventstore.NoStream, ev("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(cancelled) = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(tctx(t), "a", eventstore.NoStream, ev("x")); err == nil {
		t.Fatal("Append after Close succeeded")
	}
	if n := len(readAll(t, s)); n != 0 {
		t.Fatalf("%d events stored, want 0", n)
	}
}

// TestBulkAppendDuringClose: appends racing Close either fail or are
// stored; none is answered and then lost (an append that waited for the
// flusher while Close ran used to open a chunk nobody copied, holding a
// connection and the events lock). Chunks of one event, so that every
// append after the first waits in rotate.
func TestBulkAppendDuringClose(t *testing.T) {
	ctx := tctx(t)
	for round := range 6 {
		s := openTest(t, Options{})
		b := newBulk(t, s, BulkOptions{ChunkEvents: 1})
		var answered atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if _, err := b.Append(ctx, fmt.Sprintf("r%d-g%d-%d", round, g, i), eventstore.NoStream, ev("x")); err != nil {
						if !errors.Is(err, eventstore.ErrClosed) {
							t.Errorf("Append = %v, want ErrClosed", err)
						}
						return
					}
					answered.Add(1)
				}
			}()
		}
		time.Sleep(time.Duration(20+round*15) * time.Millisecond)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if n := int64(len(readAll(t, s))); n != answered.Load() {
			t.Fatalf("round %d: %d appends answered, %d events stored", round, answered.Load(), n)
		}
	}
}

// TestBulkRefusesAnAppendTooLargeForAChunk: a chunk's positions are
// base | ordinal, so a chunk holds at most maxPerTransaction rows (lowered
// here to 3): an append that would pass it is refused, the Bulk goes on.
func TestBulkRefusesAnAppendTooLargeForAChunk(t *testing.T) {
	ctx := tctx(t)
	s := openTest(t, Options{})
	b := newBulk(t, s, BulkOptions{ChunkEvents: 2})
	b.maxRows = 3
	if _, err := b.Append(ctx, "big", eventstore.NoStream, ev("1"), ev("2"), ev("3"), ev("4")); err == nil {
		t.Fatal("an append of 4 events into chunks of at most 3 rows succeeded")
	}
	res, err := b.Append(ctx, "ok", eventstore.NoStream, ev("1"), ev("2"), ev("3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	all := readAll(t, s)
	if len(all) != 3 || all[2].Position != res.Position {
		t.Fatalf("stored %+v, want the 3 events of the append that fits, last at %v", all, res.Position)
	}
}

// TestBulkRotatesOnBytes: a chunk is sent once its buffer holds
// chunkBytes (64 MiB; lowered here), however few events it holds.
func TestBulkRotatesOnBytes(t *testing.T) {
	ctx := tctx(t)
	s := openTest(t, Options{})
	b := newBulk(t, s, BulkOptions{})
	b.chunkBytes = 1 // every chunk is full after its first append
	for i := range 5 {
		if _, err := b.Append(ctx, fmt.Sprintf("s%d", i), eventstore.NoStream, ev("x")); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	sent := b.sent
	b.mu.Unlock()
	if sent != 4 {
		t.Fatalf("%d chunks sent after 5 appends over the byte limit, want 4", sent)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, s)); n != 5 {
		t.Fatalf("%d events stored, want 5", n)
	}
}

// TestBulkWakesSubscribers: a committed chunk is counted in the store's
// Stats as the group commit counts its appends (and the same place wakes
// in-process subscribers and NOTIFYs); a subscriber sees the events.
func TestBulkWakesSubscribers(t *testing.T) {
	ctx := tctx(t)
	s := openTest(t, Options{IdlePoll: time.Hour})
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan eventstore.Event, 3)
	go func() {
		for e, err := range s.SubscribeAll(sub, eventstore.SubscribeOptions{}) {
			if err != nil {
				return
			}
			got <- e
		}
	}()
	b := newBulk(t, s, BulkOptions{})
	before := s.Stats()
	if _, err := b.Append(ctx, "a", eventstore.NoStream, ev("1"), ev("2")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "b", eventstore.NoStream, ev("3")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Appends-before.Appends != 2 || st.Events-before.Events != 3 {
		t.Fatalf("Stats after the bulk: %d appends, %d events, want 2 and 3", st.Appends-before.Appends, st.Events-before.Events)
	}
	for i := range 3 {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("subscriber saw %d of 3 events", i)
		}
	}
}
