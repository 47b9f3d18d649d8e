package wmbridge_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"iter"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// readCounter counts the global reads of the store beneath the
// authentication: a point read of one event (Limit 1), and the unlimited
// reads an authenticated global read makes (which verify signatures).
type readCounter struct {
	eventstore.Store
	point, whole atomic.Int64
}

func (c *readCounter) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	if opts.Limit == 1 {
		c.point.Add(1)
	} else {
		c.whole.Add(1)
	}
	return c.Store.ReadAll(ctx, opts)
}

// TestLagIsSampledFromPositions: the lag gauge is the age of the oldest
// event a projection has not applied, found without authenticating
// (signatures are the projections' reads' business) and read once while
// the checkpoint stands still; a projection at the head, or with nothing
// of its own after its checkpoint, has no lag.
func TestLagIsSampledFromPositions(t *testing.T) {
	key := eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)))
	keys := eventstore.NewKeyring(key.Public())
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{Signer: key, Keyring: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	raw := &readCounter{Store: bolt}
	authed := eventstore.NewAuthenticatedStore(raw, keys).Marking()

	stopper := newCountSink("scores", projections.Stop)
	caught := newCountSink("units", projections.DeadLetter)
	caught.filter = eventstore.Filter{StreamPrefixes: []string{"unit-"}}
	appendEv(t, authed, "unit-1", "")
	appendEv(t, authed, "skp-1", "")
	bad := appendEv(t, authed, "skp-1", "poison")
	for range 5 {
		appendEv(t, authed, "skp-2", "")
	}
	var rec time.Time
	for ev, err := range bolt.ReadAll(context.Background(), eventstore.ReadAllOptions{After: bad.Position - 1, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		rec = ev.RecordedAt
	}
	now := rec.Add(90 * time.Second)
	reg := prometheus.NewRegistry()
	p, stop := runProjector(t, wmbridge.ProjectorConfig{Store: authed, Admit: authed.Verdict, Sinks: []projections.Sink{stopper, caught},
		Registry: reg, SamplePeriod: 5 * time.Millisecond, RetryInterval: time.Millisecond, Now: func() time.Time { return now }})
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Stalled()) == 0 || func() bool { cp, _, _ := caught.snapshot(); return cp == 0 }() {
		if time.Now().After(deadline) {
			t.Fatal("the stop projection never stalled at the poison event")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // samples taken after the stall
	point, whole := raw.point.Load(), raw.whole.Load()
	time.Sleep(100 * time.Millisecond) // about 20 more samples
	if n := raw.whole.Load() - whole; n != 0 {
		t.Errorf("sampling made %d authenticated (signature-checking) reads of the store, want none", n)
	}
	if n := raw.point.Load() - point; n != 0 {
		t.Errorf("sampling read %d events while nothing moved, want none (the oldest unapplied event is read once)", n)
	}
	if got := gaugeValue(t, reg, "kinerja_projection_lag_seconds", "scores"); got != 90 {
		t.Errorf("lag of the stalled projection = %v s, want 90 (the age of the poison event it has not applied)", got)
	}
	if got := gaugeValue(t, reg, "kinerja_projection_lag_seconds", "units"); got != 0 {
		t.Errorf("lag of a projection with nothing of its own after its checkpoint = %v s, want 0", got)
	}
	// /readyz and Status read the lag the same way (projections.Group.Lag).
	whole = raw.whole.Load()
	if lags, err := p.Lags(context.Background()); err != nil || lags["scores"] != 90*time.Second || lags["units"] != 0 {
		t.Errorf("Lags() = %v, %v; want scores 1m30s, units 0", lags, err)
	}
	if n := raw.whole.Load() - whole; n != 0 {
		t.Errorf("Lags() made %d authenticated (signature-checking) reads of the store, want none", n)
	}
	// An event of the caught-up projection's own: it has it applied, so
	// still no lag.
	last := appendEv(t, authed, "unit-1", "")
	for cp, _, _ := caught.snapshot(); cp != last.Position; cp, _, _ = caught.snapshot() {
		if time.Now().After(deadline) {
			t.Fatal("the caught-up projection did not apply its new event")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := gaugeValue(t, reg, "kinerja_projection_lag_seconds", "units"); got != 0 {
		t.Errorf("lag after the projection applied its new event = %v s, want 0", got)
	}
}
