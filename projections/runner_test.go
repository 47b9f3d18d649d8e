package projections_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// faultSink is a listSink whose Apply can panic at a position or fail
// transiently; safe for the runner's goroutines.
type faultSink struct {
	mu sync.Mutex
	listSink
	panicAt   eventstore.Position
	transient error
}

func (s *faultSink) Apply(ctx context.Context, events ...projections.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transient != nil {
		return s.transient
	}
	for _, e := range events {
		if e.Position == s.panicAt {
			panic("index out of range")
		}
	}
	return s.listSink.Apply(ctx, events...)
}

func (s *faultSink) DeadLetter(ctx context.Context, e projections.Event, cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listSink.DeadLetter(ctx, e, cause)
}

func (s *faultSink) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listSink.Checkpoint(ctx)
}

func (s *faultSink) snapshot() (eventstore.Position, []eventstore.Position, []eventstore.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, append([]eventstore.Position(nil), s.applied...), append([]eventstore.Position(nil), s.dead...)
}

func stateOf(t *testing.T, g *projections.Group, name string) projections.State {
	t.Helper()
	for _, s := range g.States() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no projection %s", name)
	return projections.State{}
}

// TestStartUpCatchUpNeverFailsOnAnEvent: the start-up catch-up of a group
// goes through every event; a Stop projection stalls before its poison
// event and says which, the others finish.
func TestStartUpCatchUpNeverFailsOnAnEvent(t *testing.T) {
	store, pos := fill(t)
	tests := []struct {
		name      string
		stopper   *faultSink
		stallAt   eventstore.Position
		wantCause string
	}{
		{"undecodable payload", &faultSink{listSink: listSink{name: "scores", policy: projections.Stop}}, pos[7], "decode skp.submitted.v1"},
		{"projection panics", &faultSink{listSink: listSink{name: "scores", policy: projections.Stop}, panicAt: pos[3]}, pos[3], "panicked: index out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := &faultSink{listSink: listSink{name: "skps", policy: projections.DeadLetter}, panicAt: tt.stopper.panicAt}
			g, err := projections.NewGroup(context.Background(), projections.GroupConfig{Store: store, Sinks: []projections.Sink{tt.stopper, dl}})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			n, err := g.CatchUp(context.Background(), projections.CatchUpOptions{Batch: 4})
			if err != nil || n != 25 {
				t.Fatalf("CatchUp = %d, %v; want 25 events read and no error", n, err)
			}
			if cp, _, dead := dl.snapshot(); cp != pos[24] || len(dead) == 0 {
				t.Errorf("dead-letter projection at %d with dead letters %v; want %d", cp, dead, pos[24])
			}
			st := stateOf(t, g, "scores")
			if !st.Stalled || st.Stall == nil || st.Stall.Position != tt.stallAt || st.Stall.Stream != "skp-x" || st.Stall.EventID == "" ||
				!strings.Contains(st.Stall.Reason, tt.wantCause) || st.Checkpoint != tt.stallAt-1 {
				t.Fatalf("stop projection state = %+v (stall %+v); want stalled at %d for %q", st, st.Stall, tt.stallAt, tt.wantCause)
			}
			if cp, _, dead := tt.stopper.snapshot(); cp >= tt.stallAt || len(dead) != 0 {
				t.Errorf("stop projection checkpoint %d, dead %v: it passed the poison event at %d", cp, dead, tt.stallAt)
			}
			if got := g.Stalled(); len(got) != 1 || got[0] != "scores" {
				t.Errorf("Stalled() = %v, want [scores]", got)
			}
			// Live delivery takes over from the same runner: the poison
			// event keeps it stalled, and nothing after it is applied.
			if err := g.Runner("scores").Deliver(context.Background(), readAt(t, store, tt.stallAt)); err != nil {
				t.Fatal(err)
			}
			if err := g.Runner("scores").Deliver(context.Background(), readAt(t, store, pos[24])); err != nil {
				t.Fatal(err)
			}
			// The batch timer tries again (and again): still held.
			deadline := time.Now().Add(10 * time.Second)
			for st := stateOf(t, g, "scores"); st.Failures < 2; st = stateOf(t, g, "scores") {
				if time.Now().After(deadline) {
					t.Fatalf("live delivery never tried the poison event again: %+v", st)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if st := stateOf(t, g, "scores"); st.Stall == nil || st.Stall.Position != tt.stallAt {
				t.Errorf("after live delivery the state is %+v (stall %+v), want still held at %d", st, st.Stall, tt.stallAt)
			}
			if cp, _, _ := tt.stopper.snapshot(); cp >= tt.stallAt {
				t.Errorf("live delivery moved the stop projection past its poison event: %d", cp)
			}
			start := time.Now()
			g.Close()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Close took %v with a stalled projection", d)
			}
		})
	}
}

func readAt(t *testing.T, store eventstore.Store, pos eventstore.Position) eventstore.Event {
	t.Helper()
	for ev, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{After: pos - 1, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	t.Fatalf("no event at %d", pos)
	return eventstore.Event{}
}

// TestAdmissionRefusalIsPoisonToEveryProjection: an event the admission
// check refuses reaches no Sink; each projection applies its policy.
func TestAdmissionRefusalIsPoisonToEveryProjection(t *testing.T) {
	store, pos := fill(t)
	refused := errors.New("signature does not verify")
	stopper := &faultSink{listSink: listSink{name: "audit", policy: projections.Stop}}
	dl := &faultSink{listSink: listSink{name: "timeline", policy: projections.DeadLetter}}
	g, err := projections.NewGroup(context.Background(), projections.GroupConfig{Store: store, Sinks: []projections.Sink{stopper, dl},
		Admit: func(_ context.Context, ev eventstore.Event) error {
			if ev.Position == pos[2] {
				return refused
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.CatchUp(context.Background(), projections.CatchUpOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, g, "audit"); st.Stall == nil || st.Stall.Position != pos[2] || !strings.Contains(st.Stall.Reason, refused.Error()) {
		t.Errorf("audit state %+v, want stalled at the refused event %d", st.Stall, pos[2])
	}
	if _, applied, dead := dl.snapshot(); len(dead) != 3 || dead[0] != pos[2] || len(applied) != 22 {
		t.Errorf("timeline applied %d, dead %v; want the refused event dead-lettered first", len(applied), dead)
	}
}

// TestTransientFailureLeavesStartUpToLiveDelivery: a projection whose
// store fails does not hold up the start-up; live delivery retries it and
// applies once the store is back.
func TestTransientFailureLeavesStartUpToLiveDelivery(t *testing.T) {
	store, pos := fill(t)
	down := &faultSink{listSink: listSink{name: "directory", policy: projections.DeadLetter}, transient: errors.New("connection refused")}
	ok := &faultSink{listSink: listSink{name: "skps", policy: projections.DeadLetter}}
	g, err := projections.NewGroup(context.Background(), projections.GroupConfig{Store: store, Sinks: []projections.Sink{down, ok}, RetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.CatchUp(context.Background(), projections.CatchUpOptions{Batch: 5}); err != nil {
		t.Fatal(err)
	}
	if cp, _, _ := ok.snapshot(); cp != pos[24] {
		t.Errorf("healthy projection at %d, want %d", cp, pos[24])
	}
	st := stateOf(t, g, "directory")
	if !st.Stalled || st.Stall != nil || !strings.Contains(st.LastError, "connection refused") || st.Failures != 3 {
		t.Fatalf("failing projection state %+v; want stalled by a transient error after 3 tries, no poison", st)
	}
	if dead, _ := down.DeadLetters(context.Background()); len(dead) != 0 {
		t.Fatalf("a transient failure was dead-lettered: %v", dead)
	}
	down.mu.Lock()
	down.transient = nil
	down.mu.Unlock()
	for _, p := range pos {
		if err := g.Runner("directory").Deliver(context.Background(), readAt(t, store, p)); err != nil {
			t.Fatal(err)
		}
		// A redelivery changes nothing.
		if err := g.Runner("directory").Deliver(context.Background(), readAt(t, store, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Runner("directory").Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, applied, dead := down.snapshot()
	if cp != pos[24] || len(applied) != 23 || len(dead) != 2 {
		t.Errorf("after recovery: checkpoint %d, %d applied, dead %v; want %d, 23, 2", cp, len(applied), dead, pos[24])
	}
	if st := stateOf(t, g, "directory"); st.Stalled || st.LastError != "" || st.Applied != 23 {
		t.Errorf("state after recovery %+v", st)
	}
}

// TestAdmitDecodesOnceForTheGroup: on live delivery every runner admits
// the same event (each from its own subscriber); the runners after the
// first get the payload decoded from the same bytes, not a JSON decoding
// each. Measured by allocations: without the memo the second Admit costs
// a whole decoding again. Different bytes at the same position (as an
// altered copy would carry) are decoded afresh, and an undecodable event
// is never served a remembered payload.
func TestAdmitDecodesOnceForTheGroup(t *testing.T) {
	store, _ := fill(t)
	g, err := projections.NewGroup(context.Background(), projections.GroupConfig{Store: store,
		Sinks: []projections.Sink{&faultSink{listSink: listSink{name: "a", policy: projections.Stop}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	typ, ver, data, err := eventcodec.Encode(skp.FeedbackGiven{FeedbackID: "f-1", Text: strings.Repeat("Kinerja baik. ", 20)})
	if err != nil {
		t.Fatal(err)
	}
	ev := eventstore.Event{EventData: eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: ver, Data: data}, Stream: "skp-x", Position: 7}
	ctx := context.Background()
	first := g.Admit(ctx, ev)
	if first.Payload == nil {
		t.Fatal("the event did not decode")
	}
	decodeAllocs := testing.AllocsPerRun(20, func() { _, _ = projections.Decode(ev) })
	again := testing.AllocsPerRun(20, func() {
		if e := g.Admit(ctx, ev); e.Payload == nil {
			t.Fatal("no payload")
		}
	})
	if again > decodeAllocs/2 {
		t.Errorf("admitting an event decoded just before: %.0f allocations, a decoding takes %.0f: decoded again", again, decodeAllocs)
	}
	if got := g.Admit(ctx, ev).Payload.(skp.FeedbackGiven); got.FeedbackID != "f-1" {
		t.Errorf("remembered payload = %+v", got)
	}
	// Same position and ID, other bytes: decoded from these bytes.
	typ2, ver2, data2, _ := eventcodec.Encode(skp.FeedbackGiven{FeedbackID: "f-2", Text: "lain"})
	other := ev
	other.Type, other.SchemaVersion, other.Data = typ2, ver2, data2
	if got := g.Admit(ctx, other).Payload.(skp.FeedbackGiven); got.FeedbackID != "f-2" {
		t.Errorf("other bytes at the same position gave %+v, want their own payload", got)
	}
	// Undecodable bytes at the same position: no payload, never the memo's.
	bad := ev
	bad.Data = []byte(`{"feedback_id": 7}`)
	if p := g.Admit(ctx, bad).Payload; p != nil {
		t.Errorf("undecodable event admitted with payload %+v", p)
	}
}
