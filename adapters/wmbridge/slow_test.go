package wmbridge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// blockingSink is a countSink whose Apply waits until release is closed:
// a projection stuck on a slow database.
type blockingSink struct {
	*countSink
	release chan struct{}
}

func (s blockingSink) Apply(ctx context.Context, events ...projections.Event) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.countSink.Apply(ctx, events...)
}

// TestSlowConsumerDoesNotHoldUpWritesOrOthers (issue 10, "a slow
// consumer"): while one projection cannot apply anything, every append is
// acknowledged, the other projections keep up, and the stuck one's lag
// shows in the metrics and in its health (what /readyz reports).
func TestSlowConsumerDoesNotHoldUpWritesOrOthers(t *testing.T) {
	s := openStore(t)
	slow := blockingSink{countSink: newCountSink("timeline", projections.DeadLetter), release: make(chan struct{})}
	fast := newCountSink("skps", projections.DeadLetter)
	reg := prometheus.NewRegistry()
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: s, Sinks: []projections.Sink{slow, fast}, Registry: reg,
		SamplePeriod: 5 * time.Millisecond, MaxBatch: 10})
	defer stop()

	// 4 writers append 50 events each while the slow projection is stuck.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last eventstore.Position
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				res := appendEv(t, s, fmt.Sprintf("skp-%d-%d", w, i%5), "")
				mu.Lock()
				last = max(last, res.Position)
				mu.Unlock()
			}
		})
	}
	appended := make(chan struct{})
	go func() { wg.Wait(); close(appended) }()
	select {
	case <-appended:
	case <-time.After(30 * time.Second):
		t.Fatal("appends did not complete while a projection was stuck")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if cp, _, _ := fast.snapshot(); cp == last {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the healthy projection did not keep up while another was stuck")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if cp, _, _ := slow.snapshot(); cp != 0 {
		t.Fatalf("the stuck projection applied up to %d", cp)
	}
	// Its lag is visible: the metric (sampled every 5 ms) and its health.
	for gaugeValue(t, reg, "kinerja_projection_lag_seconds", "timeline") <= 0 ||
		gaugeValue(t, reg, "kinerja_projection_lag_seconds", "skps") != 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("lag metrics: timeline %v (want > 0), skps %v (want 0)",
				gaugeValue(t, reg, "kinerja_projection_lag_seconds", "timeline"), gaugeValue(t, reg, "kinerja_projection_lag_seconds", "skps"))
		case <-time.After(5 * time.Millisecond):
		}
	}
	time.Sleep(20 * time.Millisecond)
	for _, h := range p.Group().Health(ctx, 10*time.Millisecond) {
		want := projections.Healthy
		if h.Name == "timeline" {
			want = projections.Lagging
		}
		if h.Condition != want || (h.Name == "timeline" && h.Lag < 10*time.Millisecond) {
			t.Errorf("health of %s = %s (lag %v), want %s", h.Name, h.Condition, h.Lag, want)
		}
	}
	// Released, it catches up without loss.
	close(slow.release)
	waitFor(t, p, last)
	if _, _, applied := slow.snapshot(); len(applied) != 200 {
		t.Errorf("the slow projection applied %d events, want 200", len(applied))
	}
}
