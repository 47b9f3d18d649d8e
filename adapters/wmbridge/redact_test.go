package wmbridge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// giverNIP answers a 360° round in these tests.
const giverNIP = "198703152010012015"

// appendAnswer appends a 360° answer by giverNIP (and a rating after it)
// to skp-1 and returns the append of the rating.
func appendAnswer(t *testing.T, s eventstore.Store) (answer, rating eventstore.AppendResult) {
	t.Helper()
	add := func(typ string, actor string) eventstore.AppendResult {
		res, err := s.Append(context.Background(), "skp-1", eventstore.Any, eventstore.EventData{
			ID: uuid.New(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: actor, Role: "EMPLOYEE"},
			CorrelationID: "corr-" + actor, CausationID: "cause-" + actor, Data: []byte(`{"round_id":"r1","period":"2026"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	return add("skp.feedback_round_answered.v1", giverNIP), add("skp.evaluation_issued.v1", "196608011988031001")
}

// A 360° answer travels without its giver: the bridge's message has no
// actor, hash, correlation or causation ID in its metadata (nor anywhere
// else: the data names no one), yet a projection driven by the Projector
// receives the whole event, read again from the store.
func TestAnswerMessagesCarryNoGiver(t *testing.T) {
	s := openStore(t)
	answer, last := appendAnswer(t, s)
	sub := wmbridge.NewSubscriber(s, wmbridge.Config{})
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), "skp-*")
	if err != nil {
		t.Fatal(err)
	}
	msg := <-ch
	msg.Ack()
	all, _ := json.Marshal(msg.Metadata)
	if strings.Contains(string(all)+string(msg.Payload), giverNIP) || msg.Metadata.Get(wmbridge.MetaHash) != "" ||
		msg.Metadata.Get(wmbridge.MetaCorrelationID) != "" || msg.Metadata.Get(wmbridge.MetaCausationID) != "" || !wmbridge.IsRedacted(msg) {
		t.Fatalf("the answer's message tells who answered: %s %s", all, msg.Payload)
	}
	if ev, err := wmbridge.EventOf(msg); err != nil || ev.Actor.ID != "" || ev.Position != answer.Position {
		t.Fatalf("EventOf a redacted message = %+v, %v", ev, err)
	}
	rated := <-ch
	rated.Ack()
	if rated.Metadata.Get(wmbridge.MetaActorID) != "196608011988031001" || wmbridge.IsRedacted(rated) {
		t.Errorf("another event lost its actor: %v", rated.Metadata)
	}

	rec := &actorSink{countSink: newCountSink("actors", projections.Stop)}
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{rec}})
	waitFor(t, p, last.Position)
	stop()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != 2 || rec.seen[0].Actor.ID != giverNIP || rec.seen[0].Hash.IsZero() || rec.seen[0].CorrelationID != "corr-"+giverNIP {
		t.Fatalf("the projection did not get the whole answer: %+v", rec.seen)
	}
}

// actorSink records what it is given.
type actorSink struct {
	*countSink
	seen []eventstore.Event
}

func (s *actorSink) Apply(ctx context.Context, events ...projections.Event) error {
	s.countSink.mu.Lock()
	for _, e := range events {
		if e.Position > s.countSink.cp {
			s.seen = append(s.seen, e.Event)
		}
	}
	s.countSink.mu.Unlock()
	return s.countSink.Apply(ctx, events...)
}

// newRelayFiltered is newRelay relaying the events f selects.
func newRelayFiltered(t *testing.T, url, subject string, f eventstore.Filter) (eventstore.Store, *wmbridge.Relay) {
	t.Helper()
	pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
		URL: url, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
		JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true},
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	cps, err := wmbridge.NewFileCheckpoints(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	relay, err := wmbridge.NewRelay(wmbridge.RelayConfig{Name: "nats", Publisher: pub, Topic: subject, Checkpoints: cps, Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	return openStore(t), relay
}

// The NATS relay, told to relay 360° answers, publishes them to a real
// JetStream without the giver: actor REDACTED, no hash, no correlation.
func TestRelayedAnswerCarriesNoGiver(t *testing.T) {
	url := natsURL(t)
	subject := "kinerja-red-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	js := jetStream(t, url)
	t.Cleanup(func() { js.DeleteStream(subject) })
	s, relay := newRelayFiltered(t, url, subject, eventstore.Filter{TypePrefixes: []string{"skp.feedback_round_answered.v1", "skp.evaluation_issued.v1"}})
	_, last := appendAnswer(t, s)
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{relay}})
	waitFor(t, p, last.Position)
	stop()
	sub, err := js.SubscribeSync(subject, nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ie wmbridge.IntegrationEvent
	if err := json.Unmarshal(m.Data, &ie); err != nil {
		t.Fatal(err)
	}
	hdr, _ := json.Marshal(m.Header)
	if strings.Contains(string(m.Data)+string(hdr), giverNIP) || ie.ActorID != "REDACTED" || ie.Hash != "" || ie.CorrelationID != "" ||
		ie.Type != "skp.feedback_round_answered.v1" || m.Header.Get(wmbridge.MetaRedacted) != "actor" {
		t.Fatalf("the relayed answer tells who answered: %s %s", m.Data, hdr)
	}
	m2, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m2.Data, &ie); err != nil || ie.ActorID != "196608011988031001" || ie.Hash == "" {
		t.Errorf("another event lost its envelope: %s", m2.Data)
	}
}
