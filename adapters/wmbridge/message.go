package wmbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Metadata keys that carry the envelope of an event on a message.
const (
	MetaStream        = "kinerja_stream"
	MetaRevision      = "kinerja_revision"
	MetaPosition      = "kinerja_position"
	MetaType          = "kinerja_type"
	MetaSchemaVersion = "kinerja_schema_version"
	MetaOccurredAt    = "kinerja_occurred_at"
	MetaRecordedAt    = "kinerja_recorded_at"
	MetaActorID       = "kinerja_actor_id"
	MetaActorRole     = "kinerja_actor_role"
	MetaCausationID   = "kinerja_causation_id"
	MetaReason        = "kinerja_reason"
	MetaHash          = "kinerja_hash"
	MetaEventID       = "kinerja_event_id"
	// MetaCorrelationID is Watermill's own key, so its CorrelationID
	// middleware and the ledger agree.
	MetaCorrelationID = middleware.CorrelationIDMetadataKey
	// MetaRedacted is "actor" on the message of an event whose actor must
	// not travel (a 360° answer: the actor is the giver): the message
	// carries no actor ID, hash, correlation or causation ID
	// (docs/feedback360.md); a consumer in the ledger's process reads the
	// whole event from the store (Projector).
	MetaRedacted = "kinerja_redacted"
)

// Redacted reports whether events of type typ travel without their actor:
// a 360° answer, whose actor is the giver (readable only through a
// recorded disclosure). Its hash, correlation and causation IDs are left
// out too: with the round's few invitees, each could be tried against
// them.
func Redacted(typ string) bool { return typ == skp.FeedbackRoundAnswered{}.EventType() }

// IsRedacted reports whether msg is the message of a redacted event.
func IsRedacted(msg *message.Message) bool { return msg.Metadata.Get(MetaRedacted) != "" }

// MessageEventType is the event type under which the Publisher stores
// messages.
const MessageEventType = "watermill.message.v1"

// wrapped is the stored form of a published message.
type wrapped struct {
	UUID     string            `json:"uuid"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Payload  []byte            `json:"payload"`
}

// MessageOf turns a stored event into a message: the envelope goes into
// metadata; a published message is unwrapped, keeping its own UUID,
// metadata and payload, with the envelope keys added.
func MessageOf(ev eventstore.Event) (*message.Message, error) {
	if ev.Type == MessageEventType {
		var w wrapped
		if err := json.Unmarshal(ev.Data, &w); err != nil {
			return nil, fmt.Errorf("wmbridge: event %s: %w", ev.ID, err)
		}
		msg := message.NewMessage(w.UUID, w.Payload)
		for k, v := range w.Metadata {
			msg.Metadata.Set(k, v)
		}
		setEnvelope(msg, ev, false)
		return msg, nil
	}
	return rawMessage(ev), nil
}

func rawMessage(ev eventstore.Event) *message.Message {
	msg := message.NewMessage(ev.ID.String(), ev.Data)
	setEnvelope(msg, ev, true)
	return msg
}

func setEnvelope(msg *message.Message, ev eventstore.Event, overwrite bool) {
	set := func(k, v string) {
		if overwrite || msg.Metadata.Get(k) == "" {
			msg.Metadata.Set(k, v)
		}
	}
	msg.Metadata.Set(MetaEventID, ev.ID.String())
	msg.Metadata.Set(MetaStream, ev.Stream)
	msg.Metadata.Set(MetaRevision, strconv.FormatUint(ev.Revision, 10))
	msg.Metadata.Set(MetaPosition, strconv.FormatUint(uint64(ev.Position), 10))
	msg.Metadata.Set(MetaType, ev.Type)
	msg.Metadata.Set(MetaSchemaVersion, strconv.Itoa(ev.SchemaVersion))
	msg.Metadata.Set(MetaOccurredAt, ev.OccurredAt.Format(time.RFC3339Nano))
	msg.Metadata.Set(MetaRecordedAt, ev.RecordedAt.Format(time.RFC3339Nano))
	msg.Metadata.Set(MetaActorRole, ev.Actor.Role)
	set(MetaReason, ev.Reason)
	if Redacted(ev.Type) {
		for _, k := range []string{MetaActorID, MetaHash, MetaCausationID, MetaCorrelationID} {
			delete(msg.Metadata, k)
		}
		msg.Metadata.Set(MetaRedacted, "actor")
		return
	}
	msg.Metadata.Set(MetaActorID, ev.Actor.ID)
	msg.Metadata.Set(MetaHash, ev.Hash.String())
	set(MetaCausationID, ev.CausationID)
	set(MetaCorrelationID, ev.CorrelationID)
}

// EventOf rebuilds the stored event a message was made from (for a
// published message, the wrapping event's envelope with the message's
// payload as data). A redacted message (IsRedacted) gives the event
// without its actor ID, hash, correlation and causation IDs.
func EventOf(msg *message.Message) (eventstore.Event, error) {
	md := msg.Metadata
	var ev eventstore.Event
	var errs []error
	parseU := func(k string) uint64 {
		v, err := strconv.ParseUint(md.Get(k), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
		return v
	}
	parseT := func(k string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, md.Get(k))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
		return v.UTC()
	}
	ev.Stream = md.Get(MetaStream)
	ev.Revision = parseU(MetaRevision)
	ev.Position = eventstore.Position(parseU(MetaPosition))
	ev.Type = md.Get(MetaType)
	ev.SchemaVersion = int(parseU(MetaSchemaVersion))
	ev.OccurredAt = parseT(MetaOccurredAt)
	ev.RecordedAt = parseT(MetaRecordedAt)
	ev.Actor = eventstore.Actor{ID: md.Get(MetaActorID), Role: md.Get(MetaActorRole)}
	ev.CorrelationID = md.Get(MetaCorrelationID)
	ev.CausationID = md.Get(MetaCausationID)
	ev.Reason = md.Get(MetaReason)
	if h, err := eventstore.ParseHash(md.Get(MetaHash)); err == nil {
		ev.Hash = h
	} else if !IsRedacted(msg) {
		errs = append(errs, err)
	}
	if id, err := uuid.Parse(md.Get(MetaEventID)); err == nil {
		ev.ID = id
	} else {
		errs = append(errs, fmt.Errorf("%s: %w", MetaEventID, err))
	}
	ev.Data = msg.Payload
	if err := errors.Join(errs...); err != nil {
		return eventstore.Event{}, fmt.Errorf("wmbridge: message %s is not a ledger event: %w", msg.UUID, err)
	}
	return ev, nil
}

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Actor is recorded on the events the Publisher appends (default
	// {"watermill", "SYSTEM"}); a message's kinerja_actor_id and
	// kinerja_actor_role metadata override it.
	Actor eventstore.Actor
	// Now stamps OccurredAt (default time.Now).
	Now func() time.Time
}

// Publisher is a message.Publisher that appends messages to the store.
// Messages of one Publish call to one topic are appended atomically, in
// order.
type Publisher struct {
	store  eventstore.Store
	cfg    PublisherConfig
	mu     sync.RWMutex
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher appending to store.
func NewPublisher(store eventstore.Store, cfg PublisherConfig) *Publisher {
	if cfg.Actor.ID == "" {
		cfg.Actor = eventstore.Actor{ID: "watermill", Role: "SYSTEM"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Publisher{store: store, cfg: cfg}
}

// namespace derives event IDs from message UUIDs that are not UUIDs.
var namespace = uuid.MustParse("6f2b1c3e-7d8a-4b5c-9e0f-a1b2c3d4e5f6")

// Publish implements message.Publisher: the messages are appended to the
// stream named topic, with Any expected revision. Each event ID is derived
// from the topic and the message UUID, so publishing the same messages to
// the same topic again appends nothing, and publishing one message to two
// topics stores two events.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return errors.New("wmbridge: publisher closed")
	}
	if len(msgs) == 0 {
		return nil
	}
	events := make([]eventstore.EventData, len(msgs))
	ctx := context.Background()
	for i, m := range msgs {
		if m.Context() != nil && m.Context() != context.Background() {
			ctx = m.Context()
		}
		data, err := json.Marshal(wrapped{UUID: m.UUID, Metadata: m.Metadata, Payload: m.Payload})
		if err != nil {
			return fmt.Errorf("wmbridge: publish %s: %w", topic, err)
		}
		// The same message may go to several topics (a fan-out), and event
		// IDs are unique across streams: derive the ID from both.
		id := uuid.NewSHA1(namespace, []byte(topic+"\x00"+m.UUID))
		actor := p.cfg.Actor
		if v := m.Metadata.Get(MetaActorID); v != "" {
			actor = eventstore.Actor{ID: v, Role: m.Metadata.Get(MetaActorRole)}
		}
		events[i] = eventstore.EventData{
			ID: id, Type: MessageEventType, SchemaVersion: 1, OccurredAt: p.cfg.Now(), Actor: actor,
			CorrelationID: m.Metadata.Get(MetaCorrelationID), Data: data,
		}
	}
	if _, err := p.store.Append(ctx, topic, eventstore.Any, events...); err != nil {
		return fmt.Errorf("wmbridge: publish %s: %w", topic, err)
	}
	return nil
}

// Close implements message.Publisher.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}
