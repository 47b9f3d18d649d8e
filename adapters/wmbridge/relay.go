package wmbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/internal/atomicfile"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// IntegrationTypes are the event types relayed to outside consumers by
// default: the facts that pay (TPP), credit points (Angka Kredit) and HR
// systems act on.
var IntegrationTypes = []string{
	"skp.established.", "skp.evaluation_issued.", "skp.evaluation_finalised.",
	"skp.rating_revised.", "skp.objection_decided.", "unit.performance_rated.",
}

// NATSOptions are the connection options of a relay's NATS publisher:
// it never stops reconnecting, so that after an outage of any length the
// relay resumes from its checkpoint without a restart (it retries its
// batch meanwhile, never skipping).
func NATSOptions() []nats.Option {
	return []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
}

// IntegrationEvent is the JSON body of a relayed event: the envelope and
// the event's own data, unchanged.
type IntegrationEvent struct {
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Stream        string          `json:"stream"`
	Revision      uint64          `json:"revision"`
	Position      uint64          `json:"position"`
	OccurredAt    time.Time       `json:"occurred_at"`
	RecordedAt    time.Time       `json:"recorded_at"`
	ActorID       string          `json:"actor_id"`
	ActorRole     string          `json:"actor_role"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Hash          string          `json:"hash"`
	Data          json.RawMessage `json:"data"`
}

// CheckpointStore keeps a relay's checkpoint.
type CheckpointStore interface {
	Load(ctx context.Context, name string) (eventstore.Position, error)
	Save(ctx context.Context, name string, pos eventstore.Position) error
}

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Name is the relay's name (its checkpoint and metrics).
	Name string
	// Publisher is where events go (for NATS JetStream, watermill-nats with
	// TrackMsgId, so the broker drops a republished event by its ID).
	Publisher message.Publisher
	// Topic is the topic (NATS subject) to publish to.
	Topic string
	// Filter selects the events relayed (default IntegrationTypes).
	Filter eventstore.Filter
	// Checkpoints keeps the relay's position.
	Checkpoints CheckpointStore
}

// Relay forwards store events to a Watermill publisher as integration
// events. It is a projections.Sink with policy Stop, so the Projector drives
// it like a projection: in order, resuming after its checkpoint, never
// skipping. Delivery is at-least-once (publish, then save the checkpoint);
// each message's UUID is the event ID, which JetStream's duplicate window
// uses to drop a republished event.
type Relay struct {
	cfg RelayConfig
}

var _ projections.Sink = (*Relay)(nil)

// NewRelay returns a Relay.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Name == "" || cfg.Publisher == nil || cfg.Topic == "" || cfg.Checkpoints == nil {
		return nil, errors.New("wmbridge: a relay needs a name, a publisher, a topic and a checkpoint store")
	}
	if cfg.Filter.IsEmpty() {
		cfg.Filter = eventstore.Filter{TypePrefixes: IntegrationTypes}
	}
	return &Relay{cfg: cfg}, nil
}

// Name implements projections.Sink.
func (r *Relay) Name() string { return r.cfg.Name }

// Policy implements projections.Sink: a relay never skips.
func (r *Relay) Policy() projections.Policy { return projections.Stop }

// Filter implements projections.Sink.
func (r *Relay) Filter() eventstore.Filter { return r.cfg.Filter }

// Checkpoint implements projections.Sink.
func (r *Relay) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return r.cfg.Checkpoints.Load(ctx, r.cfg.Name)
}

// Apply implements projections.Sink: publish, then save the checkpoint.
func (r *Relay) Apply(ctx context.Context, events ...projections.Event) error {
	cp, err := r.Checkpoint(ctx)
	if err != nil {
		return err
	}
	var msgs []*message.Message
	last := cp
	for _, ev := range events {
		if ev.Position <= cp {
			continue
		}
		ie := IntegrationEvent{
			EventID: ev.ID.String(), Type: ev.Type, SchemaVersion: ev.SchemaVersion, Stream: ev.Stream, Revision: ev.Revision,
			Position: uint64(ev.Position), OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt,
			ActorID: ev.Actor.ID, ActorRole: ev.Actor.Role, CorrelationID: ev.CorrelationID, Reason: ev.Reason,
			Hash: ev.Hash.String(), Data: rawJSON(ev.Data),
		}
		if Redacted(ev.Type) {
			// A 360° answer's actor is its giver: never on the wire.
			ie.ActorID, ie.CorrelationID, ie.Hash = "REDACTED", "", ""
		}
		body, err := json.Marshal(ie)
		if err != nil {
			return projections.Poison(ev.Event, err)
		}
		msg := message.NewMessage(ev.ID.String(), body)
		msg.Metadata.Set(MetaType, ev.Type)
		msg.Metadata.Set(MetaStream, ev.Stream)
		if Redacted(ev.Type) {
			msg.Metadata.Set(MetaRedacted, "actor")
		} else {
			msg.Metadata.Set(MetaCorrelationID, ev.CorrelationID)
		}
		msg.SetContext(ctx)
		msgs = append(msgs, msg)
		last = ev.Position
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := r.cfg.Publisher.Publish(r.cfg.Topic, msgs...); err != nil {
		return fmt.Errorf("wmbridge: relay %s: %w", r.cfg.Name, err)
	}
	return r.cfg.Checkpoints.Save(ctx, r.cfg.Name, last)
}

// rawJSON returns data if it is JSON, else data as a JSON string, so the
// body stays valid JSON.
func rawJSON(data []byte) json.RawMessage {
	if json.Valid(data) {
		return data
	}
	b, _ := json.Marshal(string(data))
	return b
}

// DeadLetter implements projections.Sink; a relay never dead-letters.
func (r *Relay) DeadLetter(context.Context, projections.Event, error) error {
	return errors.New("wmbridge: a relay never skips an event")
}

// DeadLetters implements projections.Sink: a relay has none.
func (r *Relay) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) { return nil, nil }

// Reset implements projections.Sink: it moves the checkpoint back to the
// start, so every event is relayed again (consumers deduplicate by ID).
func (r *Relay) Reset(ctx context.Context) error {
	return resetCheckpoint(ctx, r.cfg.Checkpoints, r.cfg.Name)
}

// CheckpointResetter is a CheckpointStore whose Save never moves a
// checkpoint back (pgstore.Checkpoints): Reset is then the one way back.
type CheckpointResetter interface {
	Reset(ctx context.Context, name string) error
}

// resetCheckpoint moves name's checkpoint back to 0.
func resetCheckpoint(ctx context.Context, cps CheckpointStore, name string) error {
	if r, ok := cps.(CheckpointResetter); ok {
		return r.Reset(ctx, name)
	}
	return cps.Save(ctx, name, 0)
}

// FileCheckpoints keeps checkpoints in files of a directory, one per name,
// replaced atomically (write, fsync, rename, fsync the directory).
type FileCheckpoints struct {
	dir string
	mu  sync.Mutex
}

// NewFileCheckpoints returns a checkpoint store in dir (created 0700).
func NewFileCheckpoints(dir string) (*FileCheckpoints, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wmbridge: checkpoints: %w", err)
	}
	return &FileCheckpoints{dir: dir}, nil
}

func (f *FileCheckpoints) path(name string) string {
	return filepath.Join(f.dir, "checkpoint-"+strings.NewReplacer("/", "_", "\\", "_").Replace(name))
}

// Load implements CheckpointStore (0 when none was saved).
func (f *FileCheckpoints) Load(_ context.Context, name string) (eventstore.Position, error) {
	b, err := os.ReadFile(f.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("wmbridge: checkpoint %s: %w", name, err)
	}
	return eventstore.Position(v), nil
}

// Save implements CheckpointStore.
func (f *FileCheckpoints) Save(_ context.Context, name string, pos eventstore.Position) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return atomicfile.Replace(f.path(name), []byte(strconv.FormatUint(uint64(pos), 10)+"\n"), 0o600)
}
