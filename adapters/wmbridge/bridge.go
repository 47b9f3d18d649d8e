// Package wmbridge connects the event store to Watermill: a
// message.Subscriber that delivers the store's events as Watermill messages,
// with the store's global position as the checkpoint, and a
// message.Publisher that appends messages to the store.
//
// # Topics
//
// A topic names what a subscription reads from the global order:
//
//   - "*": every event;
//   - "skp-*": every event of a stream whose name starts with "skp-";
//   - anything else: the events of that one stream.
//
// Publishing to a topic appends to the stream of that name.
//
// # Delivery
//
// A subscription delivers one message at a time, in the global order, and
// waits for its Ack before the next (GuaranteedOrder). A Nack redelivers the
// same event after a back-off that grows to Config.MaxBackoff, for as long
// as it is nacked: the subscription never skips an event on its own.
// Skipping a poisonous event is the handler's decision (for example through
// a poison-queue middleware). Delivery is at-least-once across restarts;
// consumers that store their checkpoint in the same transaction as their
// effects (the projections do) get exactly-once effects, and tell
// Config.StartAfter where to resume.
//
// # Messages
//
// An event becomes a message whose UUID is the event ID, whose payload is
// the event data, and whose metadata carries the envelope (see the Meta*
// keys; the correlation ID under Watermill's "correlation_id"). EventOf
// rebuilds the envelope from a message. Messages published through the
// Publisher are stored as events of type MessageEventType with their UUID,
// metadata and payload wrapped in the data, and come out unwrapped.
package wmbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Config configures a Subscriber.
type Config struct {
	// StartAfter returns the position after which a subscription to topic
	// starts: the consumer's checkpoint. Nil means from the beginning.
	StartAfter func(ctx context.Context, topic string) (eventstore.Position, error)
	// InitialBackoff is the wait before the first redelivery of a nacked
	// message (default 10 ms).
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between redeliveries (default 30 s).
	MaxBackoff time.Duration
	// OnNack, if set, is called after every Nack with the event and how many
	// times in a row it was nacked, so the owner can raise an alert when a
	// consumer is stuck.
	OnNack func(topic string, ev eventstore.Event, attempts int)
	// Filter narrows every subscription further (stream and type prefixes),
	// on top of what the topic selects. A projection's subscriber carries the
	// projection's filter, so events it ignores never become messages.
	Filter eventstore.Filter
	// Logger receives the subscriber's logs (default: none).
	Logger watermill.LoggerAdapter
}

func (c *Config) setDefaults() {
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = 10 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

// Subscriber is a message.Subscriber over an event store.
type Subscriber struct {
	store   eventstore.Store
	cfg     Config
	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber reading from store.
func NewSubscriber(store eventstore.Store, cfg Config) *Subscriber {
	cfg.setDefaults()
	return &Subscriber{store: store, cfg: cfg, closing: make(chan struct{})}
}

// ParseTopic turns a topic into a store filter and, for a single-stream
// topic, the stream name that events must match exactly.
func ParseTopic(topic string) (eventstore.Filter, string, error) {
	switch {
	case topic == "*":
		return eventstore.Filter{}, "", nil
	case strings.HasSuffix(topic, "*"):
		prefix := strings.TrimSuffix(topic, "*")
		if strings.Contains(prefix, "*") || prefix == "" {
			return eventstore.Filter{}, "", fmt.Errorf("wmbridge: bad topic %q", topic)
		}
		return eventstore.Filter{StreamPrefixes: []string{prefix}}, "", nil
	default:
		if err := eventstore.ValidateStreamName(topic); err != nil {
			return eventstore.Filter{}, "", fmt.Errorf("wmbridge: topic %q: %w", topic, err)
		}
		return eventstore.Filter{StreamPrefixes: []string{topic}}, topic, nil
	}
}

// Subscribe implements message.Subscriber. The returned channel is closed
// when ctx ends or the Subscriber is closed; a store that fails is
// subscribed to again (see run).
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	filter, exact, err := ParseTopic(topic)
	if err != nil {
		return nil, err
	}
	if len(filter.StreamPrefixes) == 0 {
		filter.StreamPrefixes = s.cfg.Filter.StreamPrefixes
	}
	filter.TypePrefixes = s.cfg.Filter.TypePrefixes
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("wmbridge: subscriber closed")
	}
	after := eventstore.Position(0)
	if s.cfg.StartAfter != nil {
		if after, err = s.cfg.StartAfter(ctx, topic); err != nil {
			return nil, fmt.Errorf("wmbridge: start position of %s: %w", topic, err)
		}
	}
	out := make(chan *message.Message)
	subCtx, cancel := context.WithCancel(ctx)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		select {
		case <-s.closing:
		case <-subCtx.Done():
		}
		cancel()
	}()
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		s.run(subCtx, topic, exact, eventstore.SubscribeOptions{After: after, Filter: filter}, out)
	}()
	return out, nil
}

// run delivers the store's events until ctx ends. A store that fails (its
// database went away, its connection was terminated) is subscribed to
// again after a pause, from the last delivered event, so the handlers
// resume by themselves once it is back: nothing is skipped, nothing
// delivered twice.
func (s *Subscriber) run(ctx context.Context, topic, exact string, opts eventstore.SubscribeOptions, out chan<- *message.Message) {
	log := s.cfg.Logger.With(watermill.LogFields{"topic": topic})
	backoff := s.cfg.InitialBackoff
	for {
		for ev, err := range s.store.SubscribeAll(ctx, opts) {
			if err != nil {
				if ctx.Err() == nil {
					log.Error("store subscription failed; subscribing again", err, watermill.LogFields{"after": uint64(opts.After), "pause": backoff.String()})
				}
				break
			}
			backoff = s.cfg.InitialBackoff
			if exact == "" || ev.Stream == exact {
				if !s.deliver(ctx, topic, ev, out) {
					return
				}
			}
			opts.After = ev.Position
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff, maxResubscribePause)
	}
}

// maxResubscribePause caps the pause between subscriptions to a failing
// store: the handlers resume within it once the store is back.
const maxResubscribePause = 2 * time.Second

// deliver sends ev until it is acked; it returns false when the
// subscription is over.
func (s *Subscriber) deliver(ctx context.Context, topic string, ev eventstore.Event, out chan<- *message.Message) bool {
	backoff := s.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		msg, err := MessageOf(ev)
		if err != nil {
			// A wrapped message we cannot unwrap: deliver it raw rather than
			// stop the subscription; EventOf still gives the envelope.
			s.cfg.Logger.Error("cannot unwrap published message", err, watermill.LogFields{"event_id": ev.ID.String()})
			msg = rawMessage(ev)
		}
		// The message's context ends when it is acked or nacked, or the
		// subscription ends: work a handler starts for it must not outlive it.
		msgCtx, cancel := context.WithCancel(ctx)
		msg.SetContext(msgCtx)
		select {
		case out <- msg:
		case <-ctx.Done():
			cancel()
			return false
		}
		select {
		case <-msg.Acked():
			cancel()
			return true
		case <-msg.Nacked():
			cancel()
			if s.cfg.OnNack != nil {
				s.cfg.OnNack(topic, ev, attempt)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
			backoff = min(2*backoff, s.cfg.MaxBackoff)
		case <-ctx.Done():
			cancel()
			return false
		}
	}
}

// Close implements message.Subscriber: it ends every subscription and waits
// for their goroutines.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
