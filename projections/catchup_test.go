package projections_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// listSink is a working Sink that records what it applies.
type listSink struct {
	name    string
	policy  projections.Policy
	cp      eventstore.Position
	applied []eventstore.Position
	dead    []eventstore.Position
	batches int
}

func (s *listSink) Name() string {
	if s.name == "" {
		return "list"
	}
	return s.name
}
func (s *listSink) Policy() projections.Policy { return s.policy }
func (s *listSink) Filter() eventstore.Filter  { return eventstore.Filter{} }
func (s *listSink) Reset(context.Context) error {
	*s = listSink{name: s.name, policy: s.policy}
	return nil
}
func (s *listSink) Checkpoint(context.Context) (eventstore.Position, error) { return s.cp, nil }
func (s *listSink) Apply(_ context.Context, events ...projections.Event) error {
	for _, e := range events {
		if e.Payload == nil {
			// As the read models do: a payload that did not decode is
			// poison to a projection that needs it.
			if _, err := projections.Decode(e.Event); err != nil {
				return err
			}
		}
		if e.Reason == "refuse" {
			return projections.Poison(e.Event, errors.New("contradicts the read model"))
		}
	}
	s.batches++
	for _, e := range events {
		if e.Position > s.cp {
			s.applied = append(s.applied, e.Position)
			s.cp = e.Position
		}
	}
	return nil
}
func (s *listSink) DeadLetter(_ context.Context, e projections.Event, _ error) error {
	s.dead = append(s.dead, e.Position)
	s.cp = e.Position
	return nil
}
func (s *listSink) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	return nil, nil
}

func fill(t *testing.T) (eventstore.Store, []eventstore.Position) {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var pos []eventstore.Position
	add := func(typ, reason, data string) {
		res, err := s.Append(context.Background(), "skp-x", eventstore.Any, eventstore.EventData{
			ID: uuid.New(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Reason: reason, Data: []byte(data)})
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, res.Position)
	}
	for i := range 25 {
		switch i {
		case 7:
			add("skp.submitted.v1", "", `{"version": "not a number"}`) // undecodable: poison at decode
		case 15:
			add("test.other.v1", "refuse", `{}`) // the sink refuses it: poison at apply
		default:
			add("test.other.v1", "", `{}`)
		}
	}
	return s, pos
}

func TestCatchUpDeadLettersPoisonAndBatches(t *testing.T) {
	store, pos := fill(t)
	sink := &listSink{policy: projections.DeadLetter}
	var progress int
	n, err := projections.CatchUp(context.Background(), store, sink, projections.CatchUpOptions{Batch: 4, Progress: func(eventstore.Position, int) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	if n != 23 || len(sink.applied) != 23 || len(sink.dead) != 2 || sink.dead[0] != pos[7] || sink.dead[1] != pos[15] {
		t.Fatalf("CatchUp applied %d (%d), dead %v; want 23 applied and positions %d, %d dead", n, len(sink.applied), sink.dead, pos[7], pos[15])
	}
	if sink.cp != pos[24] || progress == 0 {
		t.Errorf("checkpoint %d, progress calls %d", sink.cp, progress)
	}
	// A second catch-up has nothing to do.
	if n, err := projections.CatchUp(context.Background(), store, sink, projections.CatchUpOptions{}); err != nil || n != 0 {
		t.Errorf("second CatchUp = %d, %v; want 0", n, err)
	}
}

func TestCatchUpStopPolicyStopsBeforePoison(t *testing.T) {
	store, pos := fill(t)
	sink := &listSink{policy: projections.Stop}
	_, err := projections.CatchUp(context.Background(), store, sink, projections.CatchUpOptions{Batch: 4})
	if !errors.Is(err, projections.ErrStopped) || !projections.IsPoison(err) {
		t.Fatalf("CatchUp = %v, want ErrStopped with the poison event", err)
	}
	if sink.cp != pos[6] || len(sink.dead) != 0 {
		t.Errorf("stopped at checkpoint %d with dead letters %v; want %d and none", sink.cp, sink.dead, pos[6])
	}
}

func TestCatchUpAllMatchesCatchUp(t *testing.T) {
	store, pos := fill(t)
	one, all := &listSink{policy: projections.DeadLetter}, &listSink{policy: projections.DeadLetter}
	if _, err := projections.CatchUp(context.Background(), store, one, projections.CatchUpOptions{Batch: 3}); err != nil {
		t.Fatal(err)
	}
	// A second sink that is already half way: CatchUpAll must not apply
	// what it has.
	half := &listSink{name: "half", policy: projections.DeadLetter, cp: pos[12]}
	stopper := &listSink{policy: projections.Stop}
	n, err := projections.CatchUpAll(context.Background(), store, []projections.Sink{all, half}, projections.CatchUpOptions{Batch: 3})
	if err != nil || n != 25 {
		t.Fatalf("CatchUpAll = %d, %v; want 25 events read", n, err)
	}
	if fmt.Sprint(all.applied, all.dead) != fmt.Sprint(one.applied, one.dead) {
		t.Errorf("CatchUpAll applied %v dead %v; CatchUp applied %v dead %v", all.applied, all.dead, one.applied, one.dead)
	}
	if len(half.applied) != 11 || half.applied[0] != pos[13] || len(half.dead) != 1 {
		t.Errorf("half-way sink applied %v, dead %v; want the 11 events after %d (one dead)", half.applied, half.dead, pos[12])
	}
	if _, err := projections.CatchUpAll(context.Background(), store, []projections.Sink{stopper}, projections.CatchUpOptions{Batch: 3}); !errors.Is(err, projections.ErrStopped) {
		t.Errorf("CatchUpAll with a Stop sink = %v, want ErrStopped", err)
	}
}
