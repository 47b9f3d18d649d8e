package wmbridge_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pglease"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// countingPublisher records the IDs of the messages that reach the broker
// through it.
type countingPublisher struct {
	message.Publisher
	mu  sync.Mutex
	ids []string
}

func (p *countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		p.ids = append(p.ids, m.UUID)
	}
	return nil
}

func (p *countingPublisher) published() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ids...)
}

// pgLocation creates and migrates a fresh event store schema in the test
// database; it is dropped when the test ends.
func pgLocation(t *testing.T) (url, schema string) {
	t.Helper()
	url = os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema = "kinerja_relay_" + hex.EncodeToString(b[:])
	if _, err := pgstore.MigrateURL(context.Background(), url, schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return url, schema
}

// nopPartition is a partition with no work: the lock is what the test
// needs.
type nopPartition struct{}

func (nopPartition) Start(context.Context) error { return nil }
func (nopPartition) Stop()                       {}

// leaseMember joins group as instance with the one partition "control" and
// returns once it owns it; stop ends the member (releasing the lock).
func leaseMember(t *testing.T, url, group, instance string) (*pglease.Member, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := pglease.Join(ctx, pglease.Config{URL: url, Group: group, Instance: instance, Partitions: []string{"control"},
		Poll: 50 * time.Millisecond, New: func(string) (pglease.Partition, error) { return nopPartition{}, nil }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	for deadline := time.Now().Add(20 * time.Second); len(m.Owned()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("lease member %s did not take the control partition", instance)
		}
	}
	return m, stop
}

// The relay moves to another machine (the control partition of shared
// projectors changing owner): with its checkpoint in PostgreSQL, the
// second owner, which has none of the first one's files, publishes only
// what the first did not, not everything again (JetStream would drop the
// repeats only inside its two-minute window). The first owner, fenced out
// once the second took over, cannot move the checkpoint back.
func TestRelayMovesToAnotherOwnerWithoutRepublishing(t *testing.T) {
	ctx := context.Background()
	url := natsURL(t)
	pgURL, schema := pgLocation(t)
	store, err := pgstore.Connect(ctx, pgURL, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pool, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	subject := "kinerja-move-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	js := jetStream(t, url)
	t.Cleanup(func() { js.DeleteStream(subject) })

	// owner is one machine's relay: its own publisher connection, its own
	// Checkpoints (sharing only the database), fenced by its own lease
	// member's lock on the control partition, as projector --share does.
	owner := func(fence func(context.Context, pgx.Tx) error) (*wmbridge.Relay, *countingPublisher, *pgstore.Checkpoints) {
		pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
			URL: url, Marshaler: &wmnats.NATSMarshaler{}, NatsOptions: wmbridge.NATSOptions(),
			JetStream: wmnats.JetStreamConfig{AutoProvision: true, TrackMsgId: true},
		}, watermill.NopLogger{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pub.Close() })
		cps, err := pgstore.NewCheckpoints(pool, schema, fence)
		if err != nil {
			t.Fatal(err)
		}
		counted := &countingPublisher{Publisher: pub}
		relay, err := wmbridge.NewRelay(wmbridge.RelayConfig{Name: "integration-nats", Publisher: counted, Topic: subject, Checkpoints: cps})
		if err != nil {
			t.Fatal(err)
		}
		return relay, counted, cps
	}
	appendIntegration := func(n int) (ids []string, last eventstore.AppendResult) {
		for range n {
			id := uuid.New()
			res, err := store.Append(ctx, "skp-"+id.String()[:8], eventstore.NoStream, eventstore.EventData{
				ID: id, Type: "skp.evaluation_issued.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Data: []byte(`{}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			ids, last = append(ids, id.String()), res
		}
		return ids, last
	}

	group := "relay-move-" + schema
	memberA, stopA := leaseMember(t, pgURL, group, "a")
	relayA, pubA, cpsA := owner(memberA.Fence("control"))
	first, last := appendIntegration(3)
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: store, Relays: []projections.Sink{relayA}})
	waitFor(t, p, last.Position)
	stop()
	if got := pubA.published(); strings.Join(got, ",") != strings.Join(first, ",") {
		t.Fatalf("the first owner published %v, want %v", got, first)
	}

	// The partition moves: the first owner's lock goes (its member
	// stops; a dead machine's connection ends the same way), the second,
	// another machine, takes it and starts from the checkpoint in the
	// database.
	stopA()
	memberB, _ := leaseMember(t, pgURL, group, "b")
	relayB, pubB, _ := owner(memberB.Fence("control"))
	second, last := appendIntegration(2)
	p, stop = runProjector(t, wmbridge.ProjectorConfig{Store: store, Relays: []projections.Sink{relayB}})
	waitFor(t, p, last.Position)
	stop()
	if got := pubB.published(); strings.Join(got, ",") != strings.Join(second, ",") {
		t.Fatalf("the second owner published %v, want only the %d events after the first owner's checkpoint %v", got, len(second), second)
	}
	moved, err := cpsA.Load(ctx, "integration-nats")
	if err != nil || moved != last.Position {
		t.Fatalf("checkpoint after the second owner = %d, %v; want %d", moved, err, last.Position)
	}

	// The fenced-out first owner, still holding a batch from before the
	// move, publishes it (at least once: JetStream drops it by ID) but
	// cannot save its older checkpoint over the new owner's.
	if err := cpsA.Save(ctx, "integration-nats", 1); !errors.Is(err, pglease.ErrFenced) {
		t.Fatalf("a fenced-out owner's Save = %v, want pglease.ErrFenced", err)
	}
	if cp, err := cpsA.Load(ctx, "integration-nats"); err != nil || cp != last.Position {
		t.Fatalf("after the fenced-out owner's Save the checkpoint is %d, %v; want %d", cp, err, last.Position)
	}
	info, err := js.StreamInfo(subject)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 5 {
		t.Fatalf("JetStream holds %d messages, want 5", info.State.Msgs)
	}
}
