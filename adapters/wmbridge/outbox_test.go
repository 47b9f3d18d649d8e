package wmbridge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
)

// memOutbox is an Outbox in memory whose Published can be made to fail
// (a crash after the publish, before the outbox forgot the messages).
type memOutbox struct {
	mu       sync.Mutex
	msgs     []wmbridge.OutboxMessage
	failDone bool
}

func (o *memOutbox) Pending(_ context.Context, limit int) ([]wmbridge.OutboxMessage, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.msgs[:min(limit, len(o.msgs))]), nil
}

func (o *memOutbox) Published(_ context.Context, ids []string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failDone {
		return errors.New("crashed before the outbox was updated")
	}
	o.msgs = slices.DeleteFunc(o.msgs, func(m wmbridge.OutboxMessage) bool { return slices.Contains(ids, m.ID) })
	return nil
}

// Reminders reach JetStream once each, in order, even when the outbox
// publishes them again after a crash (the message ID is the reminder's).
func TestOutboxRelayToJetStreamDeduplicated(t *testing.T) {
	url := natsURL(t)
	subject := "kinerja-reminders-test-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	js := jetStream(t, url)
	t.Cleanup(func() { js.DeleteStream(subject) })
	pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
		URL: url, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
		JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true},
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	out := &memOutbox{failDone: true}
	for i, id := range ids {
		out.msgs = append(out.msgs, wmbridge.OutboxMessage{ID: id, Type: "deadline.reminder.v1", Body: []byte(`{"n":` + string(rune('0'+i)) + `}`)})
	}
	relay, err := wmbridge.NewOutboxRelay(wmbridge.OutboxRelayConfig{Outbox: out, Publisher: pub, Topic: subject, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := relay.Flush(ctx); err == nil {
		t.Fatal("a failed outbox update went unreported")
	}
	out.failDone = false
	for {
		n, err := relay.Flush(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if len(out.msgs) != 0 {
		t.Fatalf("the outbox still holds %d messages", len(out.msgs))
	}
	if published, lastErr := relay.State(); published != 3 || lastErr != "" {
		t.Errorf("state: %d published, last error %q", published, lastErr)
	}
	info, err := js.StreamInfo(subject)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("JetStream holds %d messages, want 3 (the first two were sent twice and deduplicated)", info.State.Msgs)
	}
	sub, err := js.SubscribeSync(subject, nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get(nats.MsgIdHdr); got != id {
			t.Errorf("message %d has ID %q, want %q", i, got, id)
		}
	}
	if _, err := wmbridge.NewOutboxRelay(wmbridge.OutboxRelayConfig{Outbox: out, Publisher: pub}); err == nil {
		t.Error("a relay without a topic was accepted")
	}
}
