package wmbridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// countSink is a working in-memory projection: it counts events per stream
// and fails (poison) on events whose reason is "poison".
type countSink struct {
	name   string
	policy projections.Policy
	filter eventstore.Filter

	mu      sync.Mutex
	cp      eventstore.Position
	counts  map[string]int
	applied []eventstore.Position
	dead    []projections.DeadLetterRecord
	failing error // transient failure injected by the test
}

func newCountSink(name string, policy projections.Policy) *countSink {
	return &countSink{name: name, policy: policy, counts: map[string]int{}}
}

func (s *countSink) Name() string                { return s.name }
func (s *countSink) Policy() projections.Policy  { return s.policy }
func (s *countSink) Filter() eventstore.Filter   { return s.filter }
func (s *countSink) Reset(context.Context) error { return nil }
func (s *countSink) Checkpoint(context.Context) (eventstore.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, nil
}
func (s *countSink) Apply(_ context.Context, events ...projections.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return s.failing
	}
	for _, e := range events {
		if e.Reason == "poison" {
			return projections.Poison(e.Event, errors.New("cannot apply"))
		}
	}
	for _, e := range events {
		if e.Position <= s.cp {
			continue
		}
		s.counts[e.Stream]++
		s.applied = append(s.applied, e.Position)
		s.cp = e.Position
	}
	return nil
}
func (s *countSink) DeadLetter(_ context.Context, e projections.Event, cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = append(s.dead, projections.DeadLetterRecord{Projection: s.name, Position: e.Position, EventID: e.ID.String(), Error: cause.Error()})
	s.cp = e.Position
	return nil
}
func (s *countSink) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]projections.DeadLetterRecord(nil), s.dead...), nil
}
func (s *countSink) snapshot() (eventstore.Position, map[string]int, []eventstore.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := map[string]int{}
	for k, v := range s.counts {
		c[k] = v
	}
	return s.cp, c, append([]eventstore.Position(nil), s.applied...)
}

func appendEv(t *testing.T, s eventstore.Store, stream, reason string) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, eventstore.Any, eventstore.EventData{
		ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{ID: "t", Role: "SYSTEM"}, Reason: reason, Data: []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func runProjector(t *testing.T, cfg wmbridge.ProjectorConfig) (*wmbridge.Projector, func()) {
	t.Helper()
	p, err := wmbridge.NewProjector(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case <-p.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("projector did not start")
	}
	return p, func() {
		cancel()
		p.Close()
		<-done
	}
}

func waitFor(t *testing.T, p *wmbridge.Projector, pos eventstore.Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, pos); err != nil {
		t.Fatalf("WaitFor(%d) = %v", pos, err)
	}
}

func TestProjectorAppliesInOrderAndResumes(t *testing.T) {
	s := openStore(t)
	all := newCountSink("all", projections.DeadLetter)
	skpOnly := newCountSink("skp-only", projections.Stop)
	skpOnly.filter = eventstore.Filter{StreamPrefixes: []string{"skp-"}}
	var last eventstore.AppendResult
	for i := range 10 {
		last = appendEv(t, s, fmt.Sprintf("%s-%d", []string{"skp", "unit"}[i%2], i%3), "")
	}
	reg := prometheus.NewRegistry()
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{all, skpOnly}, Registry: reg, SamplePeriod: 10 * time.Millisecond})
	waitFor(t, p, last.Position)
	cp, counts, applied := all.snapshot()
	if cp != last.Position || len(applied) != 10 {
		t.Fatalf("all: checkpoint %d, %d applied; want %d, 10", cp, len(applied), last.Position)
	}
	for i := 1; i < len(applied); i++ {
		if applied[i] <= applied[i-1] {
			t.Fatalf("applied out of order: %v", applied)
		}
	}
	if _, c, _ := skpOnly.snapshot(); c["unit-0"]+c["unit-1"]+c["unit-2"] != 0 || len(c) == 0 {
		t.Errorf("skp-only projection saw %v, want only skp- streams", c)
	}
	_ = counts
	if v := gaugeValue(t, reg, "kinerja_projection_checkpoint_position", "all"); v != float64(last.Position) {
		t.Errorf("checkpoint_position metric = %v, want %d", v, last.Position)
	}
	stop()
	// Restart: nothing applied twice, new events picked up.
	last = appendEv(t, s, "skp-9", "")
	p, stop = runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{all, skpOnly}})
	defer stop()
	waitFor(t, p, last.Position)
	if _, _, applied := all.snapshot(); len(applied) != 11 {
		t.Errorf("after restart %d events applied, want 11 (no repeats)", len(applied))
	}
	st, err := p.Status(context.Background())
	if err != nil || len(st) != 2 || st[0].LagEvents != 0 || st[0].Checkpoint != last.Position || st[0].Policy != projections.DeadLetter || st[1].Policy != projections.Stop {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

func TestPoisonPolicies(t *testing.T) {
	s := openStore(t)
	dl := newCountSink("dashboard", projections.DeadLetter)
	stopper := newCountSink("scores", projections.Stop)
	appendEv(t, s, "skp-1", "")
	bad := appendEv(t, s, "skp-1", "poison")
	last := appendEv(t, s, "skp-1", "")
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{dl, stopper}, RetryInterval: time.Millisecond})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The dead-letter projection records the poison event and goes on.
	for {
		if cp, _, _ := dl.snapshot(); cp == last.Position {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("dead-letter projection did not get past the poison event")
		case <-time.After(5 * time.Millisecond):
		}
	}
	dead, _ := dl.DeadLetters(ctx)
	if len(dead) != 1 || dead[0].Position != bad.Position || !strings.Contains(dead[0].Error, "cannot apply") {
		t.Errorf("dead letters = %+v, want the poison event at %d", dead, bad.Position)
	}
	if _, _, applied := dl.snapshot(); len(applied) != 2 {
		t.Errorf("dead-letter projection applied %d events, want 2", len(applied))
	}
	// The stop projection halts at the poison event and says so.
	for len(p.Stalled()) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("stop projection never reported itself stalled")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if cp, _, _ := stopper.snapshot(); cp != bad.Position-1 && cp >= bad.Position {
		t.Errorf("stop projection checkpoint %d passed the poison event at %d", cp, bad.Position)
	}
	if got := p.Stalled(); len(got) != 1 || got[0] != "scores" {
		t.Errorf("Stalled() = %v, want [scores]", got)
	}
	if dead, _ := stopper.DeadLetters(ctx); len(dead) != 0 {
		t.Errorf("stop projection dead-lettered %v; it must never skip", dead)
	}
}

func TestTransientFailureIsRetriedNotSkipped(t *testing.T) {
	s := openStore(t)
	dl := newCountSink("dashboard", projections.DeadLetter)
	dl.failing = errors.New("database is restarting")
	last := appendEv(t, s, "skp-1", "")
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{dl}, RetryInterval: time.Millisecond})
	defer stop()
	time.Sleep(100 * time.Millisecond)
	if dead, _ := dl.DeadLetters(context.Background()); len(dead) != 0 {
		t.Fatalf("a transient failure was dead-lettered: %+v", dead)
	}
	dl.mu.Lock()
	dl.failing = nil
	dl.mu.Unlock()
	waitFor(t, p, last.Position)
	if cp, _, _ := dl.snapshot(); cp != last.Position {
		t.Errorf("checkpoint %d after recovery, want %d", cp, last.Position)
	}
}

// TestProjectorsShareARegistry: shared projectors start one Projector per
// partition they own, on one registry; the second reuses the first's
// collectors, and a closed one's series go (a released partition leaves no
// stale gauge).
func TestProjectorsShareARegistry(t *testing.T) {
	s := openStore(t)
	a, b := newCountSink("a", projections.DeadLetter), newCountSink("b", projections.DeadLetter)
	last := appendEv(t, s, "skp-1", "")
	reg := prometheus.NewRegistry()
	pa, stopA := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{a}, Registry: reg, SamplePeriod: 10 * time.Millisecond})
	pb, stopB := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{b}, Registry: reg, SamplePeriod: 10 * time.Millisecond})
	defer stopB()
	waitFor(t, pa, last.Position)
	waitFor(t, pb, last.Position)
	for _, name := range []string{"a", "b"} {
		if v := gaugeValue(t, reg, "kinerja_projection_checkpoint_position", name); v != float64(last.Position) {
			t.Errorf("checkpoint_position{%s} = %v, want %d", name, v, last.Position)
		}
	}
	stopA()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kinerja_projection_checkpoint_position" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == "a" {
					t.Errorf("the closed projector's series is still there")
				}
			}
		}
	}
}
