package boltstore

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestCommitsMovesBeforeAppendReturns: a reader that loads right after an
// append returned must see a new commit count, or a cache trusting the
// count (eventlog.Cached) would serve a stream without the append. The
// committer is held right after it releases the appender, so the order is
// checked, not raced.
func TestCommitsMovesBeforeAppendReturns(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hold := make(chan struct{})
	s.afterRelease = func() { <-hold }
	defer close(hold)
	before := s.Commits()
	_, err = s.Append(context.Background(), "s-1", eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Commits(); got != before+1 {
		t.Fatalf("Commits() = %d right after Append returned, want %d", got, before+1)
	}
}

// TestWrittenSince: a stream is written since a count when a transaction
// counted after it appended to the stream; once the store forgets (more
// streams than it keeps), every stream may have been.
func TestWrittenSince(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	appendTo := func(stream string, exp eventstore.ExpectedRevision) {
		t.Helper()
		if _, err := s.Append(ctx, stream, exp, eventstore.EventData{
			ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}}); err != nil {
			t.Fatal(err)
		}
	}
	n0 := s.Commits()
	if s.WrittenSince("s-a", n0) {
		t.Fatal("a stream never written is written since the start")
	}
	appendTo("s-a", eventstore.NoStream)
	n1 := s.Commits()
	appendTo("s-b", eventstore.NoStream)
	n2 := s.Commits()
	for _, c := range []struct {
		stream string
		since  uint64
		want   bool
	}{{"s-a", n0, true}, {"s-a", n1, false}, {"s-a", n2, false}, {"s-b", n1, true}, {"s-b", n2, false}, {"s-c", n0, false}} {
		if got := s.WrittenSince(c.stream, c.since); got != c.want {
			t.Errorf("WrittenSince(%s, %d) = %v, want %v", c.stream, c.since, got, c.want)
		}
	}
	// Full: the next commit forgets every stream, and then any count
	// before it answers true.
	s.writeMu.Lock()
	for i := range maxLastWrites {
		s.lastWrite["filler-"+strconv.Itoa(i)] = n2
	}
	s.writeMu.Unlock()
	appendTo("s-b", eventstore.Exact(0))
	n3 := s.Commits()
	if !s.WrittenSince("s-a", n1) || !s.WrittenSince("s-c", n1) {
		t.Error("after forgetting, a count before the forgotten commits answers false")
	}
	if s.WrittenSince("s-c", n2) { // only n3 came after n2, and it is known
		t.Error("after forgetting, the count of the last forgotten commit answers true for an unwritten stream")
	}
	if s.WrittenSince("s-a", n3) || !s.WrittenSince("s-b", n2) {
		t.Error("after forgetting, the new commit's writes are not known exactly")
	}
	if len(s.lastWrite) != 1 {
		t.Errorf("%d streams kept after forgetting, want 1", len(s.lastWrite))
	}
}

// TestAppendResultCommit: an append learns the count of the commit that
// wrote it only when its events end the stream in that transaction; one
// followed in the same group commit by another append to the stream must
// not, or a cache trusting the count would hold the stream complete
// without the later events.
func TestAppendResultCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := func() []eventstore.EventData {
		p, err := eventstore.Prepare("s-1", []eventstore.EventData{{ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1,
			OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Data: []byte(`{}`)}}, s.opts.Limits)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := &appendReq{ctx: ctx, stream: "s-1", expected: eventstore.NoStream, events: ev(), done: make(chan struct{})}
	b := &appendReq{ctx: ctx, stream: "s-1", expected: eventstore.Exact(0), events: ev(), done: make(chan struct{})}
	c := &appendReq{ctx: ctx, stream: "s-2", expected: eventstore.NoStream, events: ev(), done: make(chan struct{})}
	s.commit([]*appendReq{a, b, c}) // one group commit, as the committer would make it
	for _, r := range []*appendReq{a, b, c} {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	n := s.Commits()
	if a.res.Commit != 0 {
		t.Errorf("an append followed by another to its stream in the same commit reports commit %d, want 0", a.res.Commit)
	}
	if b.res.Commit != n || c.res.Commit != n {
		t.Errorf("the last appends to their streams report commits %d and %d, want %d", b.res.Commit, c.res.Commit, n)
	}
	// A repeat (the same events at the same revision) writes nothing and
	// learns no count.
	res, err := s.Append(ctx, "s-2", eventstore.NoStream, c.events...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != 0 {
		t.Errorf("a repeat that wrote nothing reports commit %d, want 0", res.Commit)
	}
}
