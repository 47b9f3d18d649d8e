package wiring

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// fakeSink applies everything, refuses (poison) the event whose reason is
// "poison", or fails every Apply with err.
type fakeSink struct {
	name   string
	policy projections.Policy
	err    error
	cp     eventstore.Position
}

func (s *fakeSink) Name() string                                            { return s.name }
func (s *fakeSink) Policy() projections.Policy                              { return s.policy }
func (s *fakeSink) Filter() eventstore.Filter                               { return eventstore.Filter{} }
func (s *fakeSink) Checkpoint(context.Context) (eventstore.Position, error) { return s.cp, nil }
func (s *fakeSink) Reset(context.Context) error                             { return nil }
func (s *fakeSink) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	return nil, nil
}
func (s *fakeSink) DeadLetter(_ context.Context, ev projections.Event, _ error) error {
	s.cp = ev.Position
	return nil
}
func (s *fakeSink) Apply(_ context.Context, events ...projections.Event) error {
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		if ev.Reason == "poison" {
			return projections.Poison(ev.Event, errors.New("contradicts the read model"))
		}
	}
	s.cp = events[len(events)-1].Position
	return nil
}

func TestReadiness(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, reason := range []string{"", "poison", ""} {
		if _, err := store.Append(context.Background(), "skp-1", eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "test.x.v1",
			SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}, Reason: reason, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	down := errors.New("connection refused")
	tests := []struct {
		name       string
		sinks      []projections.Sink
		relays     []projections.Sink
		want       string
		conditions map[string]string
	}{
		{"all applied", []projections.Sink{&fakeSink{name: "skps", policy: projections.DeadLetter}}, nil, httpapi.ReadyOK,
			map[string]string{"skps": "ok"}},
		{"a Stop projection held at poison serves, degraded",
			[]projections.Sink{&fakeSink{name: "scores", policy: projections.Stop}, &fakeSink{name: "skps", policy: projections.DeadLetter}}, nil,
			httpapi.ReadyDegraded, map[string]string{"scores": "stalled", "skps": "ok"}},
		{"a failing relay serves, degraded", []projections.Sink{&fakeSink{name: "skps", policy: projections.DeadLetter}},
			[]projections.Sink{&fakeSink{name: "nats", policy: projections.Stop, err: down}}, httpapi.ReadyDegraded,
			map[string]string{"skps": "ok", "nats": "failing"}},
		{"a failing read model is not ready", []projections.Sink{&fakeSink{name: "skps", policy: projections.DeadLetter, err: down},
			&fakeSink{name: "scores", policy: projections.Stop}}, nil, httpapi.ReadyNot, map[string]string{"skps": "failing", "scores": "stalled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			g, err := projections.NewGroup(ctx, projections.GroupConfig{Store: store, Sinks: tt.sinks, Relays: tt.relays, RetryInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if _, err := g.CatchUp(ctx, projections.CatchUpOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.relays {
				// Relays are fed live only.
				for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
					if err != nil {
						t.Fatal(err)
					}
					g.Runner(r.Name()).Deliver(ctx, ev)
				}
				// The batch timer applies them, and fails.
				deadline := time.Now().Add(10 * time.Second)
				for len(g.Stalled()) == 0 {
					if time.Now().After(deadline) {
						t.Fatal("the relay never tried its batch")
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			rd := Readiness(ctx, store, g, time.Hour)
			if rd.Status != tt.want || (tt.want != httpapi.ReadyOK) != (len(rd.Reasons) > 0) {
				t.Errorf("Readiness = %+v, want status %s", rd, tt.want)
			}
			for _, p := range rd.Projections {
				if p.Condition != tt.conditions[p.Name] {
					t.Errorf("%s: condition %s, want %s", p.Name, p.Condition, tt.conditions[p.Name])
				}
				if p.Condition == "stalled" && (p.StalledAt == nil || p.StalledAt.Position != 2) {
					t.Errorf("%s stalled at %+v, want the poison event at 2", p.Name, p.StalledAt)
				}
			}
		})
	}
}
