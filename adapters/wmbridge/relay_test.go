package wmbridge_test

import (
	"context"
	"encoding/json"
	"os"
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

// natsURL returns the NATS server of the integration tests: skipped when
// KINERJA_TEST_NATS_URL is unset, a failure when KINERJA_REQUIRE_INTEGRATION=1.
func natsURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("KINERJA_TEST_NATS_URL")
	if u == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_NATS_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_NATS_URL not set")
	}
	return u
}

// newRelay returns a store and a relay of its integration events to
// subject on the NATS at url (connected with wmbridge.NATSOptions and
// extra), with its checkpoints.
func newRelay(t *testing.T, url, subject string, extra ...nats.Option) (eventstore.Store, *wmbridge.Relay, *wmbridge.FileCheckpoints) {
	t.Helper()
	pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
		URL: url, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: append(wmbridge.NATSOptions(), extra...),
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
	relay, err := wmbridge.NewRelay(wmbridge.RelayConfig{Name: "nats", Publisher: pub, Topic: subject, Checkpoints: cps})
	if err != nil {
		t.Fatal(err)
	}
	return openStore(t), relay, cps
}

// jetStream connects to the NATS at url for the test's duration.
func jetStream(t *testing.T, url string) nats.JetStreamContext {
	t.Helper()
	conn, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	js, err := conn.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestRelayToJetStreamAtLeastOnceDeduplicated(t *testing.T) {
	url := natsURL(t)
	subject := "kinerja-test-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	js := jetStream(t, url)
	t.Cleanup(func() { js.DeleteStream(subject) })
	s, relay, cps := newRelay(t, url, subject)
	appendTyped := func(typ string) eventstore.AppendResult {
		res, err := s.Append(context.Background(), "skp-1", eventstore.Any, eventstore.EventData{
			ID: uuid.New(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Data: []byte(`{"period":"2026"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	appendTyped("skp.rhk_added.v1") // not an integration event
	appendTyped("skp.evaluation_issued.v1")
	last := appendTyped("skp.objection_decided.v1")

	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{relay}})
	waitFor(t, p, last.Position)
	stop()
	// Simulate a crash after publishing but before the checkpoint was
	// saved: the relay republishes; JetStream drops the duplicates.
	if err := cps.Save(context.Background(), "nats", 0); err != nil {
		t.Fatal(err)
	}
	p, stop = runProjector(t, wmbridge.ProjectorConfig{Store: s, Relays: []projections.Sink{relay}})
	waitFor(t, p, last.Position)
	stop()

	info, err := js.StreamInfo(subject)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("JetStream stream holds %d messages, want 2 (two integration events, republished once, deduplicated)", info.State.Msgs)
	}
	sub, err := js.SubscribeSync(subject, nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for range 2 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ie wmbridge.IntegrationEvent
		if err := json.Unmarshal(m.Data, &ie); err != nil {
			t.Fatal(err)
		}
		if string(ie.Data) != `{"period":"2026"}` || ie.Stream != "skp-1" || ie.Hash == "" {
			t.Errorf("integration event = %+v", ie)
		}
		types = append(types, ie.Type)
	}
	if types[0] != "skp.evaluation_issued.v1" || types[1] != "skp.objection_decided.v1" {
		t.Errorf("relayed types %v, want the two integration events in order", types)
	}
}
