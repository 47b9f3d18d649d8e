package esdbstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/esdbstore"
	"github.com/kinerja-ledger/kinerja/adapters/esdbstore/esdbtest"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func open(t *testing.T, conn string, opts esdbstore.Options) *esdbstore.Store {
	t.Helper()
	s, err := esdbstore.Open(conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func event(data string) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          "test.happened.v1",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2026, 3, 31, 10, 0, 0, 123456789, time.FixedZone("WITA", 8*3600)),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "corr-1",
		CausationID:   "cause-1",
		Reason:        "because",
		Data:          []byte(data),
	}
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedRevision, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(testCtx(t), stream, exp, events...)
	if err != nil {
		t.Fatalf("Append(%s, %s) = %v", stream, exp, err)
	}
	return res
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for e, err := range s.ReadAll(testCtx(t), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatalf("ReadAll = %v", err)
		}
		out = append(out, e)
	}
	return out
}

// TestStoredEventRoundTripsByteForByte checks what lands on the server:
// the data bytes as given, JSON content type only for JSON, the envelope
// in the metadata (with KurrentDB's $correlationId and $causationId), the
// event ID and type, and the server's "created" as RecordedAt.
func TestStoredEventRoundTripsByteForByte(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	s := open(t, srv.ConnectionString(), esdbstore.Options{})
	tests := []struct {
		name, data, contentType string
	}{
		{"json", `{"b":2, "a":[1,2]}`, "application/json"},
		{"json with spacing", "{\n \"x\" : 1 }\n", "application/json"},
		{"not json", "\x00\xff\xfenot json", "application/octet-stream"},
		{"empty", "", "application/octet-stream"},
		{"json scalar", `"text"`, "application/json"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := fmt.Sprintf("rt-%d", i)
			e := event(tt.data)
			mustAppend(t, s, stream, eventstore.NoStream, e)
			rec, ok := srv.Event(stream, 0)
			if !ok {
				t.Fatalf("no event stored at %s@0", stream)
			}
			if !bytes.Equal(rec.Data, []byte(tt.data)) || rec.ContentType != tt.contentType {
				t.Errorf("stored data %q as %s, want %q as %s", rec.Data, rec.ContentType, tt.data, tt.contentType)
			}
			if rec.ID != e.ID || rec.Type != e.Type {
				t.Errorf("stored ID/type %s/%s, want %s/%s", rec.ID, rec.Type, e.ID, e.Type)
			}
			var meta map[string]any
			if err := json.Unmarshal(rec.Metadata, &meta); err != nil {
				t.Fatal(err)
			}
			if meta["$correlationId"] != "corr-1" || meta["$causationId"] != "cause-1" || meta["occurred_at"] != "2026-03-31T02:00:00.123456Z" || meta["actor_id"] != e.Actor.ID {
				t.Errorf("stored metadata %s", rec.Metadata)
			}
			got, err := collect(s.ReadStream(testCtx(t), stream, eventstore.ReadStreamOptions{}))
			if err != nil || len(got) != 1 {
				t.Fatalf("ReadStream = %d events, %v", len(got), err)
			}
			if !bytes.Equal(got[0].Data, []byte(tt.data)) {
				t.Errorf("read data %q, want %q", got[0].Data, tt.data)
			}
			want := e
			want.OccurredAt = eventstore.NormalizeTime(e.OccurredAt)
			want.Data = got[0].Data
			if diff := cmp.Diff(want, got[0].EventData); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
			if !got[0].RecordedAt.Equal(rec.Created.Truncate(time.Microsecond)) || got[0].RecordedAt.Location() != time.UTC {
				t.Errorf("RecordedAt = %v, want the server's created %v in UTC at microseconds", got[0].RecordedAt, rec.Created)
			}
			if got[0].Position != eventstore.Position(rec.Position+1) {
				t.Errorf("Position = %d, want the commit position %d + 1", got[0].Position, rec.Position)
			}
		})
	}
}

func TestEmptyCorrelationLeavesOutKurrentDBKeys(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	s := open(t, srv.ConnectionString(), esdbstore.Options{})
	e := event(`{}`)
	e.CorrelationID, e.CausationID = "", ""
	mustAppend(t, s, "s-1", eventstore.NoStream, e)
	rec, _ := srv.Event("s-1", 0)
	var meta map[string]any
	if err := json.Unmarshal(rec.Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	if _, ok := meta["$correlationId"]; ok {
		t.Errorf("metadata %s has $correlationId for an empty correlation ID", rec.Metadata)
	}
	if v, ok := meta["correlation_id"]; !ok || v != "" {
		t.Errorf("metadata %s lacks the empty correlation_id", rec.Metadata)
	}
}

func collect(seq func(func(eventstore.Event, error) bool)) ([]eventstore.Event, error) {
	var out []eventstore.Event
	for e, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

func TestWrongExpectedRevisionErrors(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	s := open(t, srv.ConnectionString(), esdbstore.Options{})
	mustAppend(t, s, "s-1", eventstore.NoStream, event(`{}`), event(`{}`))
	tests := []struct {
		stream       string
		exp          eventstore.ExpectedRevision
		actual       uint64
		actualExists bool
	}{
		{"s-1", eventstore.NoStream, 1, true},
		{"s-1", eventstore.Exact(0), 1, true},
		{"s-1", eventstore.Exact(7), 1, true},
		{"s-2", eventstore.Exact(0), 0, false},
		{"s-2", eventstore.StreamExists, 0, false},
	}
	for _, tt := range tests {
		_, err := s.Append(testCtx(t), tt.stream, tt.exp, event(`{}`))
		var w *eventstore.WrongExpectedRevisionError
		if !errors.As(err, &w) || !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
			t.Errorf("Append(%s, %s) = %v, want a WrongExpectedRevisionError", tt.stream, tt.exp, err)
			continue
		}
		if w.Stream != tt.stream || w.Expected != tt.exp || w.Actual != tt.actual || w.ActualExists != tt.actualExists {
			t.Errorf("Append(%s, %s) error = %+v, want actual %d (exists %v)", tt.stream, tt.exp, w, tt.actual, tt.actualExists)
		}
	}
}

// TestRefusedAppendsWriteNothing: limits and validation are checked before
// anything reaches the server, claims included.
func TestRefusedAppendsWriteNothing(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	s := open(t, srv.ConnectionString(), esdbstore.Options{Limits: eventstore.Limits{MaxDataBytes: 10, MaxEventsPerAppend: 2}})
	big := event(`{"too":"large"}`)
	bad := event(`{}`)
	bad.Type = "Bad Type"
	for _, tt := range []struct {
		name   string
		stream string
		events []eventstore.EventData
		want   error
	}{
		{"too large", "s-1", []eventstore.EventData{event(`{}`), big}, eventstore.ErrEventTooLarge},
		{"too many", "s-1", []eventstore.EventData{event(`{}`), event(`{}`), event(`{}`)}, eventstore.ErrInvalidEvent},
		{"invalid event", "s-1", []eventstore.EventData{event(`{}`), bad}, eventstore.ErrInvalidEvent},
		{"invalid stream", "$s", []eventstore.EventData{event(`{}`)}, eventstore.ErrInvalidStreamName},
	} {
		if _, err := s.Append(testCtx(t), tt.stream, eventstore.Any, tt.events...); !errors.Is(err, tt.want) {
			t.Errorf("%s: Append = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := srv.Len(); n != 0 {
		t.Errorf("the server holds %d events after refused appends, want 0", n)
	}
}

func TestServerRestart(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	s := open(t, srv.ConnectionString()+"&maxDiscoverAttempts=2&discoveryInterval=10&gossipTimeout=1", esdbstore.Options{})
	mustAppend(t, s, "s-1", eventstore.NoStream, event(`{}`))
	srv.Stop()
	for range 3 { // fail, close itself, fail again with a new client
		if _, err := s.Append(testCtx(t), "s-1", eventstore.Exact(0), event(`{}`)); err == nil {
			t.Fatal("Append with the server stopped succeeded")
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if res := mustAppend(t, s, "s-1", eventstore.Exact(0), event(`{}`)); res.Revision != 1 {
		t.Errorf("Append after restart = %+v, want revision 1", res)
	}
	if n := len(readAll(t, s)); n != 2 {
		t.Errorf("ReadAll after restart = %d events, want 2", n)
	}
}

// subscriber collects a subscription in the background.
type subscriber struct {
	mu     sync.Mutex
	events []eventstore.Event
	err    error
	cancel context.CancelFunc
	done   chan struct{}
}

func subscribe(t *testing.T, s eventstore.Store, opts eventstore.SubscribeOptions) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	sub := &subscriber{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sub.done)
		for e, err := range s.SubscribeAll(ctx, opts) {
			sub.mu.Lock()
			if err != nil {
				sub.err = err
				sub.mu.Unlock()
				return
			}
			sub.events = append(sub.events, e)
			sub.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-sub.done })
	return sub
}

func (s *subscriber) wait(t *testing.T, n int) []eventstore.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		got, err := append([]eventstore.Event(nil), s.events...), s.err
		s.mu.Unlock()
		if err != nil {
			t.Fatalf("subscription ended: %v", err)
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription delivered %d events, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ids(events []eventstore.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// TestSubscriptionResumesAfterDropsAndRestarts: the subscription survives
// a dropped subscription and a server restart, resuming after the last
// event it delivered, with nothing skipped or repeated.
func TestSubscriptionResumesAfterDropsAndRestarts(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	conn := srv.ConnectionString() + "&maxDiscoverAttempts=3&discoveryInterval=20&gossipTimeout=1"
	s := open(t, conn, esdbstore.Options{ResubscribeBackoff: 50 * time.Millisecond})
	w := open(t, conn, esdbstore.Options{})
	for range 3 {
		mustAppend(t, w, "s-1", eventstore.Any, event(`{}`))
	}
	sub := subscribe(t, s, eventstore.SubscribeOptions{})
	sub.wait(t, 3)

	srv.DropSubscriptions()
	for range 3 {
		mustAppend(t, w, "s-1", eventstore.Any, event(`{}`))
	}
	sub.wait(t, 6)

	srv.Stop()
	time.Sleep(100 * time.Millisecond)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	for i := 0; i < 3; {
		// The writer's first calls may still meet the stopped server.
		if _, err := w.Append(testCtx(t), "s-2", eventstore.Any, event(`{}`)); err == nil {
			i++
		} else if time.Since(restarted) > 10*time.Second {
			t.Fatalf("Append after restart = %v", err)
		}
	}
	sub.wait(t, 9)
	time.Sleep(100 * time.Millisecond) // anything repeated would arrive now
	sub.mu.Lock()
	got := append([]eventstore.Event(nil), sub.events...)
	sub.mu.Unlock()
	if diff := cmp.Diff(ids(readAll(t, w)), ids(got)); diff != "" {
		t.Errorf("delivered (-readall +subscription):\n%s", diff)
	}
}

// TestForeignEventsAreInvisible: system streams, other applications'
// streams (outside the namespace), metadata streams and claim streams never
// show up in ReadAll, Head or SubscribeAll; two namespaces on one server do
// not see each other.
func TestForeignEventsAreInvisible(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	a := open(t, srv.ConnectionString(), esdbstore.Options{Namespace: "a-"})
	b := open(t, srv.ConnectionString(), esdbstore.Options{Namespace: "b-"})

	cfg, err := esdb.ParseConnectionString(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	raw, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	foreign := func(stream, typ string) {
		t.Helper()
		_, err := raw.AppendToStream(testCtx(t), stream, esdb.AppendToStreamOptions{}, esdb.EventData{EventType: typ, Data: []byte(`{}`), ContentType: esdb.ContentTypeJson})
		if err != nil {
			t.Fatal(err)
		}
	}
	sa := subscribe(t, a, eventstore.SubscribeOptions{})
	sb := subscribe(t, b, eventstore.SubscribeOptions{})
	foreign("$stats-127.0.0.1:2113", "$statsCollected")
	ra := mustAppend(t, a, "skp-1", eventstore.NoStream, event(`{}`))
	foreign("other-app-1", "something")
	foreign("$$a-skp-1", "$metadata")
	foreign("a-skp-1", "$>")
	rb := mustAppend(t, b, "skp-1", eventstore.NoStream, event(`{}`))
	foreign("a-_eid-"+uuid.NewString(), "kinerja.event_id_claimed.v1")

	for _, tt := range []struct {
		name string
		s    *esdbstore.Store
		sub  *subscriber
		want eventstore.AppendResult
	}{{"a", a, sa, ra}, {"b", b, sb, rb}} {
		all := readAll(t, tt.s)
		if len(all) != 1 || all[0].Stream != "skp-1" || all[0].Position != tt.want.Position {
			t.Errorf("%s: ReadAll = %+v, want its one event at %d", tt.name, all, tt.want.Position)
		}
		if head, err := tt.s.Head(testCtx(t)); err != nil || head != tt.want.Position {
			t.Errorf("%s: Head = %d, %v; want %d", tt.name, head, err, tt.want.Position)
		}
		got := tt.sub.wait(t, 1)
		time.Sleep(50 * time.Millisecond)
		tt.sub.mu.Lock()
		got = append(got[:0:0], tt.sub.events...)
		tt.sub.mu.Unlock()
		if len(got) != 1 || got[0].Position != tt.want.Position {
			t.Errorf("%s: subscription delivered %+v, want its one event", tt.name, got)
		}
	}
}

// TestAnyAcrossStores: writers in two processes (two stores, no shared
// lock or cache) appending with Any to one stream all land, by retrying.
func TestAnyAcrossStores(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	stores := []*esdbstore.Store{open(t, srv.ConnectionString(), esdbstore.Options{}), open(t, srv.ConnectionString(), esdbstore.Options{})}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := stores[w%2].Append(testCtx(t), "hot-1", eventstore.Any, event(`{}`)); err != nil {
					t.Errorf("Append(Any) = %v", err)
				}
			}
		}()
	}
	wg.Wait()
	n, err := eventstore.VerifyStream("hot-1", stores[0].ReadStream(testCtx(t), "hot-1", eventstore.ReadStreamOptions{}))
	if err != nil || n != 40 {
		t.Errorf("VerifyStream = %d, %v; want 40 events", n, err)
	}
}

// TestRepeatWithChangedContentIsRefused: KurrentDB compares event IDs
// only, so it would acknowledge an exact-revision repeat with changed
// content without writing; the store settles repeats itself and refuses
// it. A repeat from another store (another process) returns the first
// result.
func TestRepeatWithChangedContentIsRefused(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	s := open(t, srv.ConnectionString(), esdbstore.Options{})
	e := event(`{"v":1}`)
	first := mustAppend(t, s, "s-1", eventstore.NoStream, e)
	if again := mustAppend(t, open(t, srv.ConnectionString(), esdbstore.Options{}), "s-1", eventstore.NoStream, e); again != first {
		t.Errorf("repeat from another store = %+v, want %+v", again, first)
	}
	e.Data = []byte(`{"v":2}`)
	_, err := s.Append(testCtx(t), "s-1", eventstore.NoStream, e)
	var ie *eventstore.IdempotencyError
	if !errors.As(err, &ie) || ie.Reason != eventstore.IdempotencyContent {
		t.Errorf("repeat with other data = %v, want IdempotencyError(content)", err)
	}
	if srv.Len() != 2 { // the event and its claim
		t.Errorf("server log has %d records, want 2", srv.Len())
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []esdbstore.Options{{Namespace: "$sys"}, {Namespace: "_x"}, {Namespace: "a b"}, {MaxAppendAttempts: -1}, {HeadCacheSize: -1}, {ResubscribeBackoff: -1}} {
		if err := o.Validate(); err == nil {
			t.Errorf("Options%+v.Validate() = nil, want an error", o)
		}
		if _, err := esdbstore.Open("esdb://localhost:2113?tls=false", o); err == nil {
			t.Errorf("Open with Options%+v succeeded", o)
		}
	}
	if err := (esdbstore.Options{Namespace: "test-1."}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if _, err := esdbstore.Open("http://nope", esdbstore.Options{}); err == nil {
		t.Error("Open(http://...) succeeded, want a connection string error")
	}
}

func TestPing(t *testing.T) {
	s := open(t, esdbtest.Start(t), esdbstore.Options{})
	if err := s.Ping(testCtx(t)); err != nil {
		t.Errorf("Ping = %v", err)
	}
	s.Close()
	if err := s.Ping(testCtx(t)); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}
