package wmbridge_test

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

func openStore(t *testing.T) eventstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestUniversalPubSub runs Watermill's own Pub/Sub test suite against the
// bridge, for the features it claims.
func TestUniversalPubSub(t *testing.T) {
	s := openStore(t)
	features := tests.Features{
		ConsumerGroups:                   false, // a consumer's checkpoint is its own (StartAfter)
		ExactlyOnceDelivery:              false, // at-least-once; exactly-once effects need the checkpoint in the consumer's transaction
		GuaranteedOrder:                  true,
		Persistent:                       true,
		NewSubscriberReceivesOldMessages: true,
		GenerateTopicFunc: func(tctx tests.TestContext) string {
			return "topic-" + strings.ReplaceAll(string(tctx.TestID), "_", "-")
		},
	}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return wmbridge.NewPublisher(s, wmbridge.PublisherConfig{}), wmbridge.NewSubscriber(s, wmbridge.Config{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		},
		nil,
	)
}

func TestLedgerEventRoundTrip(t *testing.T) {
	s := openStore(t)
	e := eventstore.EventData{
		ID: uuid.New(), Type: "skp.rating_assigned.v1", SchemaVersion: 2,
		OccurredAt:    time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC),
		Actor:         eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"},
		CorrelationID: "corr", CausationID: "cause", Reason: "why", Data: []byte(`{"x":1}`),
	}
	if _, err := s.Append(context.Background(), "skp-1", eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	stored := readAll(t, s)[0]
	sub := wmbridge.NewSubscriber(s, wmbridge.Config{})
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), "skp-*")
	if err != nil {
		t.Fatal(err)
	}
	msg := <-ch
	msg.Ack()
	got, err := wmbridge.EventOf(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != stored.ID || got.Position != stored.Position || got.Hash != stored.Hash || got.Stream != "skp-1" ||
		!got.RecordedAt.Equal(stored.RecordedAt) || !got.OccurredAt.Equal(stored.OccurredAt) || got.Actor != stored.Actor ||
		got.CorrelationID != "corr" || got.CausationID != "cause" || got.Reason != "why" || got.SchemaVersion != 2 || string(got.Data) != `{"x":1}` {
		t.Errorf("EventOf(MessageOf(e)) = %+v, want %+v", got, stored)
	}
	if v := eventstore.ChainHash(eventstore.Hash{}, got.Stream, got.Revision, &got.EventData); v != stored.Hash {
		t.Error("the rebuilt envelope does not hash to the stored hash: a field was lost in transit")
	}
}

func TestNackRedeliversAndStartAfterResumes(t *testing.T) {
	s := openStore(t)
	var positions []eventstore.Position
	for i := range 3 {
		res, err := s.Append(context.Background(), "unit-"+string(rune('a'+i)), eventstore.NoStream, eventstore.EventData{
			ID: uuid.New(), Type: "unit.registered.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Data: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, res.Position)
	}
	var nacks []int
	sub := wmbridge.NewSubscriber(s, wmbridge.Config{
		InitialBackoff: time.Millisecond,
		StartAfter:     func(context.Context, string) (eventstore.Position, error) { return positions[0], nil },
		OnNack:         func(_ string, _ eventstore.Event, n int) { nacks = append(nacks, n) },
	})
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), "*")
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	first.Nack()
	again := <-ch
	again.Nack()
	third := <-ch
	if first.UUID != again.UUID || again.UUID != third.UUID {
		t.Fatalf("nacked message not redelivered: %s, %s, %s", first.UUID, again.UUID, third.UUID)
	}
	if ev, _ := wmbridge.EventOf(third); ev.Position != positions[1] {
		t.Errorf("first delivered position %d, want %d (StartAfter is exclusive)", ev.Position, positions[1])
	}
	third.Ack()
	next := <-ch
	next.Ack()
	if ev, _ := wmbridge.EventOf(next); ev.Position != positions[2] {
		t.Errorf("after ack got position %d, want %d", ev.Position, positions[2])
	}
	if len(nacks) != 2 || nacks[1] != 2 {
		t.Errorf("OnNack attempts = %v, want [1 2]", nacks)
	}
}

func TestTopics(t *testing.T) {
	for _, tt := range []struct {
		topic string
		ok    bool
	}{{"*", true}, {"skp-*", true}, {"skp-1", true}, {"a*b*", false}, {"$all", false}, {"", false}} {
		if _, _, err := wmbridge.ParseTopic(tt.topic); (err == nil) != tt.ok {
			t.Errorf("ParseTopic(%q) = %v, want ok=%v", tt.topic, err, tt.ok)
		}
	}
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.Event {
	var out []eventstore.Event
	for e, err := range s.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// failingStore is a store whose subscriptions fail (as a PostgreSQL store's
// do when the database goes away) after failAfter events, the first fails
// times.
type failingStore struct {
	eventstore.Store
	failAfter int
	fails     atomic.Int32
}

func (f *failingStore) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		n := 0
		for ev, err := range f.Store.SubscribeAll(ctx, opts) {
			if err == nil && n == f.failAfter && f.fails.Add(-1) >= 0 {
				yield(eventstore.Event{}, fmt.Errorf("read: %w", eventstore.ErrUnavailable))
				return
			}
			n++
			if !yield(ev, err) {
				return
			}
		}
	}
}

// A store subscription that fails is subscribed to again from the last
// delivered event: the subscriber delivers every event once, in order, and
// its channel stays open (the handlers of a projector resume by themselves
// once the database is back).
func TestSubscriptionResumesAfterAStoreFailure(t *testing.T) {
	s := openStore(t)
	for i := range 10 {
		if _, err := s.Append(context.Background(), fmt.Sprintf("unit-%d", i), eventstore.NoStream, eventstore.EventData{ID: uuid.New(), Type: "unit.registered.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "hr", Role: "HR_ADMIN"}, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	fs := &failingStore{Store: s, failAfter: 3}
	fs.fails.Store(3)
	sub := wmbridge.NewSubscriber(fs, wmbridge.Config{InitialBackoff: time.Millisecond})
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), "*")
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, s)
	for i, w := range want {
		msg, ok := <-ch
		if !ok {
			t.Fatalf("the channel closed after %d events", i)
		}
		msg.Ack()
		got, err := wmbridge.EventOf(msg)
		if err != nil || got.ID != w.ID {
			t.Fatalf("event %d = %v (%v), want %v", i, got.ID, err, w.ID)
		}
	}
	if left := fs.fails.Load(); left != 0 {
		t.Errorf("the store failed %d times fewer than the 3 planned", left)
	}
	select {
	case msg, ok := <-ch:
		if ok {
			t.Errorf("an extra message: %s", msg.UUID)
		}
		t.Error("the channel closed")
	case <-time.After(50 * time.Millisecond):
	}
}
