package wmbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// OutboxMessage is a message an outbox holds until it is published.
type OutboxMessage struct {
	// ID is the message's UUID: the Nats-Msg-Id by which JetStream drops
	// a re-send (watermill-nats with TrackMsgId).
	ID string
	// Type is the integration event's type (metadata kinerja_type).
	Type string
	// Body is the message's payload.
	Body []byte
}

// Outbox is a durable queue of messages written in the same transaction
// as the fact they announce (the deadline process manager's reminders).
type Outbox interface {
	// Pending returns up to limit queued messages, oldest first.
	Pending(ctx context.Context, limit int) ([]OutboxMessage, error)
	// Published removes the messages ids.
	Published(ctx context.Context, ids []string) error
}

// OutboxRelayConfig configures an OutboxRelay.
type OutboxRelayConfig struct {
	// Name names the relay in logs and state.
	Name string
	// Outbox holds the messages. Required.
	Outbox Outbox
	// Publisher is where they go. Required.
	Publisher message.Publisher
	// Topic is the topic (NATS subject). Required.
	Topic string
	// Interval is the longest wait between polls (default 1 s); Kick
	// wakes the relay sooner.
	Interval time.Duration
	// Batch bounds the messages published at once (default 100).
	Batch int
	// Logger receives the relay's logs (default slog.Default()).
	Logger *slog.Logger
}

// OutboxRelay publishes an outbox's messages, oldest first, and removes
// them once the publisher acknowledged them: at-least-once, with each
// message's ID as its deduplication ID, like the event relay (Relay). While
// the broker is down it keeps the messages and retries.
type OutboxRelay struct {
	cfg  OutboxRelayConfig
	kick chan struct{}

	mu        sync.Mutex
	published int
	lastErr   string
}

// NewOutboxRelay returns an OutboxRelay.
func NewOutboxRelay(cfg OutboxRelayConfig) (*OutboxRelay, error) {
	if cfg.Outbox == nil || cfg.Publisher == nil || cfg.Topic == "" {
		return nil, errors.New("wmbridge: an outbox relay needs an outbox, a publisher and a topic")
	}
	if cfg.Name == "" {
		cfg.Name = "outbox"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &OutboxRelay{cfg: cfg, kick: make(chan struct{}, 1)}, nil
}

// Kick wakes the relay: a message was queued.
func (r *OutboxRelay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// State reports how many messages were published in this process and the
// last failure ("" after a success).
func (r *OutboxRelay) State() (published int, lastErr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published, r.lastErr
}

// Run publishes until ctx ends.
func (r *OutboxRelay) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		for {
			n, err := r.Flush(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.cfg.Logger.Warn("outbox_publish_failed", "relay", r.cfg.Name, "err", err)
				}
				break
			}
			if n < r.cfg.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// Flush publishes one batch and returns how many messages it published.
func (r *OutboxRelay) Flush(ctx context.Context) (int, error) {
	pending, err := r.cfg.Outbox.Pending(ctx, r.cfg.Batch)
	if err != nil || len(pending) == 0 {
		r.note(0, err)
		return 0, err
	}
	msgs := make([]*message.Message, len(pending))
	ids := make([]string, len(pending))
	for i, m := range pending {
		msg := message.NewMessage(m.ID, m.Body)
		msg.Metadata.Set(MetaType, m.Type)
		msg.SetContext(ctx)
		msgs[i], ids[i] = msg, m.ID
	}
	if err := r.cfg.Publisher.Publish(r.cfg.Topic, msgs...); err != nil {
		err = fmt.Errorf("wmbridge: outbox relay %s: %w", r.cfg.Name, err)
		r.note(0, err)
		return 0, err
	}
	if err := r.cfg.Outbox.Published(ctx, ids); err != nil {
		// Published but not forgotten: sent again next time, and dropped
		// by JetStream's duplicate window.
		r.note(0, err)
		return 0, err
	}
	r.note(len(ids), nil)
	return len(ids), nil
}

func (r *OutboxRelay) note(n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.published += n
	r.lastErr = ""
	if err != nil {
		r.lastErr = err.Error()
	}
}
