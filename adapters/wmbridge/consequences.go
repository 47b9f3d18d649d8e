package wmbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// ConsequenceTypes are the kinerja_type metadata of the consequence
// messages: an original, a correction and a retraction (issue 14).
const (
	ConsequenceOriginal   = "consequence.published.v1"
	ConsequenceCorrection = "consequence.corrected.v1"
	ConsequenceRetraction = "consequence.retracted.v1"
)

// ConsequenceRelayConfig configures a ConsequenceRelay.
type ConsequenceRelayConfig struct {
	// Name is the relay's name (its checkpoint and metrics).
	Name string
	// Publisher is where the consequences go (watermill-nats with
	// TrackMsgId: JetStream drops a republished consequence by its ID).
	Publisher message.Publisher
	// Topic is the NATS subject.
	Topic string
	// Tables are the conversion tables, for every year, when TableSet is
	// nil.
	Tables consequences.Tables
	// TableSet are the tables the ledger adopted for each year
	// (consequences.LoadTableSet); the relay follows later adoptions.
	TableSet *consequences.TableSet
	// History rebuilds an SKP's stream the relay does not hold (after a
	// restart), usually projections.StoreHistory.
	History projections.History
	// Checkpoints keeps the relay's position.
	Checkpoints CheckpointStore
}

// ConsequenceRelay publishes the consequences of final evaluations
// (projections/consequences) to a Watermill publisher: a projections.Sink
// with policy Stop that the Projector drives like the integration relay,
// in order, resuming after its checkpoint. Every publication is a pure
// function of its SKP's stream, so after a crash between publishing and
// saving the checkpoint the relay computes the same publications with the
// same IDs again, and JetStream's duplicate window drops them: neither
// lost nor doubled.
type ConsequenceRelay struct {
	cfg  ConsequenceRelayConfig
	proj *consequences.Projection
}

var _ projections.Sink = (*ConsequenceRelay)(nil)

// NewConsequenceRelay returns a ConsequenceRelay.
func NewConsequenceRelay(cfg ConsequenceRelayConfig) (*ConsequenceRelay, error) {
	if cfg.Name == "" || cfg.Publisher == nil || cfg.Topic == "" || cfg.Checkpoints == nil || cfg.History == nil {
		return nil, errors.New("wmbridge: a consequence relay needs a name, a publisher, a topic, a history and a checkpoint store")
	}
	set := cfg.TableSet
	if set == nil {
		if err := cfg.Tables.Validate(); err != nil {
			return nil, err
		}
		set = consequences.Fixed(cfg.Tables)
	}
	return &ConsequenceRelay{cfg: cfg, proj: consequences.NewWithSet(set, cfg.History, 0)}, nil
}

// Name implements projections.Sink.
func (r *ConsequenceRelay) Name() string { return r.cfg.Name }

// Policy implements projections.Sink: a consequence is never skipped.
func (r *ConsequenceRelay) Policy() projections.Policy { return consequences.Policy }

// Filter implements projections.Sink: the SKP streams.
func (r *ConsequenceRelay) Filter() eventstore.Filter { return consequences.Filter() }

// Checkpoint implements projections.Sink.
func (r *ConsequenceRelay) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return r.cfg.Checkpoints.Load(ctx, r.cfg.Name)
}

// Apply implements projections.Sink: compute, publish, then save the
// checkpoint.
func (r *ConsequenceRelay) Apply(ctx context.Context, events ...projections.Event) error {
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
		pubs, err := r.proj.Apply(ctx, nil, ev)
		if err != nil {
			return err
		}
		for _, p := range pubs {
			body, err := json.Marshal(p)
			if err != nil {
				return projections.Poison(ev.Event, err)
			}
			msg := message.NewMessage(p.ID, body)
			typ := ConsequenceOriginal
			switch p.Kind {
			case consequences.Correction:
				typ = ConsequenceCorrection
			case consequences.Retraction:
				typ = ConsequenceRetraction
			}
			msg.Metadata.Set(MetaType, typ)
			msg.Metadata.Set(MetaStream, ev.Stream)
			msg.Metadata.Set(MetaCorrelationID, ev.CorrelationID)
			msg.SetContext(ctx)
			msgs = append(msgs, msg)
		}
		last = ev.Position
	}
	if last == cp {
		return nil
	}
	if len(msgs) > 0 {
		if err := r.cfg.Publisher.Publish(r.cfg.Topic, msgs...); err != nil {
			r.proj.Reset() // computed again from the history on the retry
			return fmt.Errorf("wmbridge: relay %s: %w", r.cfg.Name, err)
		}
	}
	return r.cfg.Checkpoints.Save(ctx, r.cfg.Name, last)
}

// DeadLetter implements projections.Sink: a consequence is never skipped.
func (r *ConsequenceRelay) DeadLetter(context.Context, projections.Event, error) error {
	return errors.New("wmbridge: a consequence relay never skips an event")
}

// DeadLetters implements projections.Sink.
func (r *ConsequenceRelay) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	return nil, nil
}

// Reset implements projections.Sink: publish again from the beginning
// (JetStream drops what it still holds within its duplicate window).
func (r *ConsequenceRelay) Reset(ctx context.Context) error {
	r.proj.Reset()
	return resetCheckpoint(ctx, r.cfg.Checkpoints, r.cfg.Name)
}
