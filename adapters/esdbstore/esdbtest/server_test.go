package esdbtest_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kinerja-ledger/kinerja/adapters/esdbstore/esdbtest"
)

// raw returns a Streams client talking to srv without the esdb client in
// between, to see the messages as the server sends them.
func raw(t *testing.T, srv *esdbtest.Server) streams.StreamsClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return streams.NewStreamsClient(conn)
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func structured(id uuid.UUID) *shared.UUID {
	most, least := esdb.UUIDAsInt64(id)
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}}
}

// appendRaw sends one append and returns the answer.
func appendRaw(t *testing.T, c streams.StreamsClient, stream string, exp *streams.AppendReq_Options, ids ...uuid.UUID) *streams.AppendResp {
	t.Helper()
	a, err := c.Append(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exp.StreamIdentifier = &shared.StreamIdentifier{StreamName: []byte(stream)}
	if err := a.Send(&streams.AppendReq{Content: &streams.AppendReq_Options_{Options: exp}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		m := &streams.AppendReq_ProposedMessage{
			Id:       structured(id),
			Metadata: map[string]string{"type": "test.happened.v1", "content-type": "application/json"},
			Data:     []byte(`{"id":"` + id.String() + `"}`),
		}
		if err := a.Send(&streams.AppendReq{Content: &streams.AppendReq_ProposedMessage_{ProposedMessage: m}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := a.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func noStream() *streams.AppendReq_Options {
	return &streams.AppendReq_Options{ExpectedStreamRevision: &streams.AppendReq_Options_NoStream{NoStream: &shared.Empty{}}}
}

func revision(r uint64) *streams.AppendReq_Options {
	return &streams.AppendReq_Options{ExpectedStreamRevision: &streams.AppendReq_Options_Revision{Revision: r}}
}

func anyRevision() *streams.AppendReq_Options {
	return &streams.AppendReq_Options{ExpectedStreamRevision: &streams.AppendReq_Options_Any{Any: &shared.Empty{}}}
}

func TestAppendWrongExpectedVersionCarriesCurrentRevision(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)

	w := appendRaw(t, c, "s-1", revision(0), uuid.New()).GetWrongExpectedVersion()
	if w == nil || w.GetCurrentNoStream() == nil || w.GetNoStream_20_6_0() == nil || w.GetExpectedRevision() != 0 {
		t.Fatalf("Append(revision 0) to a missing stream = %v, want wrong_expected_version with current no_stream", w)
	}
	appendRaw(t, c, "s-1", noStream(), uuid.New(), uuid.New())
	w = appendRaw(t, c, "s-1", revision(5), uuid.New()).GetWrongExpectedVersion()
	if w == nil || w.GetCurrentRevision() != 1 || w.GetCurrentRevision_20_6_0() != 1 || w.GetExpectedRevision() != 5 || w.GetExpectedRevision_20_6_0() != 5 {
		t.Fatalf("Append(revision 5) at revision 1 = %v, want current 1, expected 5 in both generations of fields", w)
	}
	w = appendRaw(t, c, "s-1", noStream(), uuid.New()).GetWrongExpectedVersion()
	if w == nil || w.GetExpectedNoStream() == nil || w.GetCurrentRevision() != 1 {
		t.Fatalf("Append(no_stream) at revision 1 = %v", w)
	}
}

func TestAppendRepeatsAreIdempotentByID(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{IdempotencyCacheSize: 4})
	c := raw(t, srv)
	a, b := uuid.New(), uuid.New()
	first := appendRaw(t, c, "s-1", noStream(), a, b).GetSuccess()
	if first == nil || first.GetCurrentRevision() != 1 {
		t.Fatalf("first append = %v", first)
	}
	appendRaw(t, c, "s-1", revision(1), uuid.New())

	again := appendRaw(t, c, "s-1", noStream(), a, b).GetSuccess()
	if again == nil || again.GetCurrentRevision() != 1 || again.GetPosition().GetCommitPosition() != first.GetPosition().GetCommitPosition() {
		t.Errorf("repeat with no_stream = %v, want the first success %v", again, first)
	}
	if w := appendRaw(t, c, "s-1", noStream(), a, uuid.New()).GetWrongExpectedVersion(); w == nil || w.GetCurrentRevision() != 2 {
		t.Errorf("partial repeat = %v, want wrong_expected_version (corrupted idempotency)", w)
	}
	if w := appendRaw(t, c, "s-1", noStream(), b, a).GetWrongExpectedVersion(); w == nil {
		t.Errorf("repeat in another order = %v, want wrong_expected_version", w)
	}
	if srv.Len() != 3 {
		t.Errorf("log has %d events, want 3", srv.Len())
	}

	// any: only recently written IDs are recognised.
	x := uuid.New()
	firstAny := appendRaw(t, c, "s-2", anyRevision(), x).GetSuccess()
	if got := appendRaw(t, c, "s-2", anyRevision(), x).GetSuccess(); got.GetCurrentRevision() != 0 || got.GetPosition().GetCommitPosition() != firstAny.GetPosition().GetCommitPosition() {
		t.Errorf("recent repeat with any = %v, want %v", got, firstAny)
	}
	for range 4 {
		appendRaw(t, c, "s-3", anyRevision(), uuid.New())
	}
	if got := appendRaw(t, c, "s-2", anyRevision(), x).GetSuccess(); got.GetCurrentRevision() != 1 {
		t.Errorf("repeat with any after the cache forgot = %v, want a duplicate at revision 1 (weak idempotency)", got)
	}
}

// readAll collects a Read call's responses until the server ends it.
func readAll(t *testing.T, c streams.StreamsClient, req *streams.ReadReq) []*streams.ReadResp {
	t.Helper()
	r, err := c.Read(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	var out []*streams.ReadResp
	for {
		m, err := r.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

func streamReq(stream string, backwards bool, from *streams.ReadReq_Options_StreamOptions, count uint64) *streams.ReadReq {
	dir := streams.ReadReq_Options_Forwards
	if backwards {
		dir = streams.ReadReq_Options_Backwards
	}
	from.StreamIdentifier = &shared.StreamIdentifier{StreamName: []byte(stream)}
	return &streams.ReadReq{Options: &streams.ReadReq_Options{
		StreamOption:  &streams.ReadReq_Options_Stream{Stream: from},
		ReadDirection: dir,
		CountOption:   &streams.ReadReq_Options_Count{Count: count},
		FilterOption:  &streams.ReadReq_Options_NoFilter{NoFilter: &shared.Empty{}},
		UuidOption:    &streams.ReadReq_Options_UUIDOption{Content: &streams.ReadReq_Options_UUIDOption_String_{String_: &shared.Empty{}}},
	}}
}

func revisions(ms []*streams.ReadResp) []uint64 {
	var out []uint64
	for _, m := range ms {
		if e := m.GetEvent(); e != nil {
			out = append(out, e.GetEvent().GetStreamRevision())
		}
	}
	return out
}

func TestReadStream(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	before := time.Now().Add(-time.Second)
	appendRaw(t, c, "s-1", noStream(), ids...)

	all := readAll(t, c, streamReq("s-1", false, &streams.ReadReq_Options_StreamOptions{RevisionOption: &streams.ReadReq_Options_StreamOptions_Start{Start: &shared.Empty{}}}, 100))
	if diff := cmp.Diff([]uint64{0, 1, 2, 3}, revisions(all)); diff != "" {
		t.Errorf("forwards from start (-want +got):\n%s", diff)
	}
	var lastPos uint64
	for i, m := range all {
		e := m.GetEvent().GetEvent()
		md := e.GetMetadata()
		ticks, err := strconv.ParseInt(md["created"], 10, 64)
		created := time.Unix(0, ticks*100)
		if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) {
			t.Errorf("event %d created = %q, want .NET ticks since the epoch of about now", i, md["created"])
		}
		if md["type"] != "test.happened.v1" || md["content-type"] != "application/json" {
			t.Errorf("event %d system metadata = %v", i, md)
		}
		if e.GetId().GetString_() != ids[i].String() {
			t.Errorf("event %d id = %v, want %s as a string (the request asked for strings)", i, e.GetId(), ids[i])
		}
		if e.GetCommitPosition() != e.GetPreparePosition() || e.GetCommitPosition() <= lastPos || m.GetEvent().GetCommitPosition() != e.GetCommitPosition() {
			t.Errorf("event %d position = %d/%d after %d, want commit = prepare, increasing", i, e.GetCommitPosition(), e.GetPreparePosition(), lastPos)
		}
		lastPos = e.GetCommitPosition()
	}
	back := readAll(t, c, streamReq("s-1", true, &streams.ReadReq_Options_StreamOptions{RevisionOption: &streams.ReadReq_Options_StreamOptions_Revision{Revision: 50}}, 2))
	if diff := cmp.Diff([]uint64{3, 2}, revisions(back)); diff != "" {
		t.Errorf("backwards from past the end (-want +got):\n%s", diff)
	}
	from := readAll(t, c, streamReq("s-1", false, &streams.ReadReq_Options_StreamOptions{RevisionOption: &streams.ReadReq_Options_StreamOptions_Revision{Revision: 2}}, 100))
	if diff := cmp.Diff([]uint64{2, 3}, revisions(from)); diff != "" {
		t.Errorf("forwards from 2 (-want +got):\n%s", diff)
	}
	missing := readAll(t, c, streamReq("nope", false, &streams.ReadReq_Options_StreamOptions{RevisionOption: &streams.ReadReq_Options_StreamOptions_Start{Start: &shared.Empty{}}}, 100))
	if len(missing) != 1 || string(missing[0].GetStreamNotFound().GetStreamIdentifier().GetStreamName()) != "nope" {
		t.Errorf("read of a missing stream = %v, want one stream_not_found", missing)
	}
}

func allReq(backwards bool, from *streams.ReadReq_Options_AllOptions, count uint64, filter *streams.ReadReq_Options_FilterOptions) *streams.ReadReq {
	req := streamReq("", backwards, &streams.ReadReq_Options_StreamOptions{}, count)
	req.Options.StreamOption = &streams.ReadReq_Options_All{All: from}
	if filter != nil {
		req.Options.FilterOption = &streams.ReadReq_Options_Filter{Filter: filter}
	}
	return req
}

func positions(ms []*streams.ReadResp) []uint64 {
	var out []uint64
	for _, m := range ms {
		if e := m.GetEvent(); e != nil {
			out = append(out, e.GetEvent().GetCommitPosition())
		}
	}
	return out
}

func TestReadAll(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	appendRaw(t, c, "a-1", noStream(), uuid.New(), uuid.New())
	appendRaw(t, c, "b-1", noStream(), uuid.New())
	appendRaw(t, c, "a-2", noStream(), uuid.New())
	start := &streams.ReadReq_Options_AllOptions{AllOption: &streams.ReadReq_Options_AllOptions_Start{Start: &shared.Empty{}}}
	all := positions(readAll(t, c, allReq(false, start, 100, nil)))
	if len(all) != 4 {
		t.Fatalf("$all = %v, want 4 events", all)
	}
	at := func(p uint64) *streams.ReadReq_Options_AllOptions {
		return &streams.ReadReq_Options_AllOptions{AllOption: &streams.ReadReq_Options_AllOptions_Position{Position: &streams.ReadReq_Options_Position{CommitPosition: p, PreparePosition: p}}}
	}
	if diff := cmp.Diff(all[2:], positions(readAll(t, c, allReq(false, at(all[2]), 100, nil)))); diff != "" {
		t.Errorf("forwards from an event's position is inclusive (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{all[1], all[0]}, positions(readAll(t, c, allReq(true, at(all[2]), 100, nil)))); diff != "" {
		t.Errorf("backwards from an event's position starts before it (-want +got):\n%s", diff)
	}
	end := &streams.ReadReq_Options_AllOptions{AllOption: &streams.ReadReq_Options_AllOptions_End{End: &shared.Empty{}}}
	if diff := cmp.Diff([]uint64{all[3]}, positions(readAll(t, c, allReq(true, end, 1, nil)))); diff != "" {
		t.Errorf("backwards from the end, count 1 (-want +got):\n%s", diff)
	}
	byPrefix := &streams.ReadReq_Options_FilterOptions{
		Filter: &streams.ReadReq_Options_FilterOptions_StreamIdentifier{StreamIdentifier: &streams.ReadReq_Options_FilterOptions_Expression{Prefix: []string{"a-"}}},
		Window: &streams.ReadReq_Options_FilterOptions_Count{Count: &shared.Empty{}},
	}
	if diff := cmp.Diff([]uint64{all[0], all[1], all[3]}, positions(readAll(t, c, allReq(false, start, 100, byPrefix)))); diff != "" {
		t.Errorf("stream prefix filter (-want +got):\n%s", diff)
	}
	byRegex := &streams.ReadReq_Options_FilterOptions{
		Filter: &streams.ReadReq_Options_FilterOptions_StreamIdentifier{StreamIdentifier: &streams.ReadReq_Options_FilterOptions_Expression{Regex: "^b-"}},
		Window: &streams.ReadReq_Options_FilterOptions_Count{Count: &shared.Empty{}},
	}
	if diff := cmp.Diff([]uint64{all[2]}, positions(readAll(t, c, allReq(false, start, 100, byRegex)))); diff != "" {
		t.Errorf("stream regex filter (-want +got):\n%s", diff)
	}
}

// subscription opens a raw subscription to $all and returns a function
// that receives the next message.
func subscription(t *testing.T, c streams.StreamsClient, filter *streams.ReadReq_Options_FilterOptions) func() *streams.ReadResp {
	t.Helper()
	req := allReq(false, &streams.ReadReq_Options_AllOptions{AllOption: &streams.ReadReq_Options_AllOptions_Start{Start: &shared.Empty{}}}, 0, filter)
	req.Options.CountOption = &streams.ReadReq_Options_Subscription{Subscription: &streams.ReadReq_Options_SubscriptionOptions{}}
	r, err := c.Read(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return func() *streams.ReadResp {
		t.Helper()
		m, err := r.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

func TestSubscriptionConfirmsFirstThenCatchesUpThenLive(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	appendRaw(t, c, "s-1", noStream(), uuid.New(), uuid.New())
	next := subscription(t, c, nil)
	if m := next(); m.GetConfirmation() == nil || m.GetConfirmation().GetSubscriptionId() == "" {
		t.Fatalf("first message = %v, want a confirmation", m)
	}
	for i := range 2 {
		if m := next(); m.GetEvent() == nil {
			t.Fatalf("catch-up message %d = %v, want an event", i, m)
		}
	}
	if m := next(); m.GetCaughtUp() == nil {
		t.Fatalf("after the history: %v, want caught_up", m)
	}
	appendRaw(t, c, "s-2", noStream(), uuid.New())
	if m := next(); string(m.GetEvent().GetEvent().GetStreamIdentifier().GetStreamName()) != "s-2" {
		t.Fatalf("live message = %v, want the new event", m)
	}
}

func TestFilteredSubscriptionSendsCheckpoints(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	for range 10 {
		appendRaw(t, c, "noise-1", anyRevision(), uuid.New())
	}
	appendRaw(t, c, "wanted-1", noStream(), uuid.New())
	next := subscription(t, c, &streams.ReadReq_Options_FilterOptions{
		Filter:                       &streams.ReadReq_Options_FilterOptions_StreamIdentifier{StreamIdentifier: &streams.ReadReq_Options_FilterOptions_Expression{Prefix: []string{"wanted-"}}},
		Window:                       &streams.ReadReq_Options_FilterOptions_Max{Max: 4},
		CheckpointIntervalMultiplier: 1,
	})
	if m := next(); m.GetConfirmation() == nil {
		t.Fatalf("first message = %v, want a confirmation", m)
	}
	var checkpoints, events int
	for {
		m := next()
		if m.GetCaughtUp() != nil {
			break
		}
		switch {
		case m.GetCheckpoint() != nil:
			checkpoints++
		case m.GetEvent() != nil:
			events++
			if name := string(m.GetEvent().GetEvent().GetStreamIdentifier().GetStreamName()); name != "wanted-1" {
				t.Errorf("filtered subscription sent an event of %s", name)
			}
		}
	}
	if events != 1 || checkpoints != 2 {
		t.Errorf("got %d events and %d checkpoints over 11 events with a window of 4, want 1 and 2", events, checkpoints)
	}
}

func TestStopRestartKeepsData(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	appendRaw(t, c, "s-1", noStream(), uuid.New())
	addr := srv.Addr()
	srv.Stop()
	srv.Stop() // idempotent
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Errorf("restarted on %s, want %s", srv.Addr(), addr)
	}
	c = raw(t, srv)
	if got := appendRaw(t, c, "s-1", revision(0), uuid.New()).GetSuccess(); got.GetCurrentRevision() != 1 {
		t.Errorf("append after restart = %v, want revision 1", got)
	}
}

// TestTheClientConnects drives the real client through discovery (server
// features, and gossip for esdb+discover) against the server.
func TestTheClientConnects(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	for _, conn := range []string{srv.ConnectionString(), "esdb+discover://" + srv.Addr() + "?tls=false"} {
		cfg, err := esdb.ParseConnectionString(conn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = esdb.NoopLogging()
		client, err := esdb.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.AppendToStream(ctx(t), "s-1", esdb.AppendToStreamOptions{}, esdb.EventData{EventType: "test.happened.v1", ContentType: esdb.ContentTypeBinary, Data: []byte{1}})
		if err != nil {
			t.Errorf("%s: AppendToStream = %v", conn, err)
		}
		client.Close()
	}
}

func TestReadAllRefusesPositionsInsideRecords(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	appendRaw(t, c, "s-1", noStream(), uuid.New())
	rec, _ := srv.Event("s-1", 0)
	p := rec.Position + 1
	r, err := c.Read(ctx(t), allReq(false, &streams.ReadReq_Options_AllOptions{AllOption: &streams.ReadReq_Options_AllOptions_Position{
		Position: &streams.ReadReq_Options_Position{CommitPosition: p, PreparePosition: p},
	}}, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := r.Recv(); err == nil {
		t.Errorf("read from inside a record = %v, want an error", m)
	}
}

func TestStreamSubscription(t *testing.T) {
	srv := esdbtest.StartServer(t, esdbtest.Config{})
	c := raw(t, srv)
	appendRaw(t, c, "s-1", noStream(), uuid.New(), uuid.New(), uuid.New())
	appendRaw(t, c, "s-2", noStream(), uuid.New())
	req := streamReq("s-1", false, &streams.ReadReq_Options_StreamOptions{RevisionOption: &streams.ReadReq_Options_StreamOptions_Revision{Revision: 0}}, 0)
	req.Options.CountOption = &streams.ReadReq_Options_Subscription{Subscription: &streams.ReadReq_Options_SubscriptionOptions{}}
	r, err := c.Read(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	next := func() *streams.ReadResp {
		m, err := r.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := next(); m.GetConfirmation() == nil {
		t.Fatalf("first message = %v, want a confirmation", m)
	}
	var got []uint64
	for m := next(); m.GetCaughtUp() == nil; m = next() {
		got = append(got, m.GetEvent().GetEvent().GetStreamRevision())
	}
	appendRaw(t, c, "s-2", revision(0), uuid.New())
	appendRaw(t, c, "s-1", revision(2), uuid.New())
	got = append(got, next().GetEvent().GetEvent().GetStreamRevision())
	if diff := cmp.Diff([]uint64{1, 2, 3}, got); diff != "" {
		t.Errorf("subscription to s-1 after revision 0 (-want +got):\n%s", diff)
	}
}
