package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crashAfterAppend runs k once so that its claim commits with its events
// and its answer is never stored: a crash between the two.
func crashAfterAppend(t *testing.T, a *App, idem *memClaimer, k Key) {
	t.Helper()
	if _, _, err := a.Keyed(context.Background(), k, func(ctx context.Context) (Answer, bool) {
		idem.appendWith(ctx)
		return Answer{}, false
	}); err != nil {
		t.Fatal(err)
	}
	if rec := memRecord(t, idem, k); rec.Status != claimStatus {
		t.Fatalf("after the crash the record is %+v; want the claim", rec)
	}
}

func memRecord(t *testing.T, idem *memClaimer, k Key) keyRecord {
	t.Helper()
	s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
	raw, ok, _ := idem.Get(context.Background(), hex.EncodeToString(s[:]), time.Time{})
	var rec keyRecord
	if ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

// reconstructing stands for the edge's answer to a repeat whose events an
// earlier attempt appended: numbered, so that two reconstructions differ.
func reconstructing(n *atomic.Int32) func(context.Context) (Answer, bool) {
	return func(context.Context) (Answer, bool) {
		i := n.Add(1)
		return Answer{Status: 201, Body: fmt.Appendf(nil, "reconstructed %d", i), Header: map[string]string{"ETag": fmt.Sprint(i)}}, true
	}
}

// TestKeyedReconstructionStored: after a crash left a claim without an
// answer, the first repeat's reconstructed answer completes the record,
// and every later repeat replays exactly it instead of reconstructing
// again; the key stays refused to another request. Repeats at once
// reconstruct once and get the same answer. (On a store this process
// alone uses, and on a shared one whose claim is old.)
func TestKeyedReconstructionStored(t *testing.T) {
	for _, exclusive := range []bool{true, false} {
		t.Run(fmt.Sprint("exclusive=", exclusive), func(t *testing.T) {
			idem := &memClaimer{}
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
			cfg := Config{Idempotency: idem, IdempotencyExclusive: exclusive, Now: func() time.Time { return time.Unix(0, clock.Load()) }}
			cfg.setDefaults()
			a := &App{cfg: cfg}
			ctx := context.Background()
			k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}
			crashAfterAppend(t, a, idem, k)
			clock.Add(int64(time.Minute)) // the restart: the claim's holder is gone

			var n atomic.Int32
			first, replayed, err := a.Keyed(ctx, k, reconstructing(&n))
			if err != nil || replayed || string(first.Body) != "reconstructed 1" {
				t.Fatalf("first repeat: %+v, replayed %v, %v", first, replayed, err)
			}
			for i := range 2 {
				ans, replayed, err := a.Keyed(ctx, k, reconstructing(&n))
				if err != nil || !replayed || ans.Status != 201 || string(ans.Body) != "reconstructed 1" || ans.Header["ETag"] != "1" {
					t.Fatalf("repeat %d: %+v, replayed %v, %v", i+2, ans, replayed, err)
				}
			}
			if n.Load() != 1 {
				t.Fatalf("%d reconstructions across three repeats; want 1 (the first completes the record)", n.Load())
			}
			if rec := memRecord(t, idem, k); rec.Status != 201 || string(rec.Body) != "reconstructed 1" || rec.Fingerprint != k.Fingerprint {
				t.Fatalf("record = %+v", rec)
			}
			other := k
			other.Fingerprint = Fingerprint("POST", "/v1/units", `{"id":"B"}`)
			if _, _, err := a.Keyed(ctx, other, reconstructing(&n)); !errors.Is(err, ErrKeyReused) {
				t.Errorf("another request with the key = %v, want ErrKeyReused", err)
			}

			// Repeats at once after a crash: one reconstruction, one answer.
			k2 := k
			k2.Key = "k-2"
			crashAfterAppend(t, a, idem, k2)
			clock.Add(int64(time.Minute))
			n.Store(0)
			var wg sync.WaitGroup
			answers := make([]Answer, 4)
			for i := range answers {
				wg.Go(func() {
					ans, _, err := a.Keyed(ctx, k2, reconstructing(&n))
					if err != nil {
						t.Error(err)
					}
					answers[i] = ans
				})
			}
			wg.Wait()
			if n.Load() != 1 {
				t.Fatalf("%d reconstructions by repeats at once; want 1", n.Load())
			}
			for i, ans := range answers {
				if string(ans.Body) != "reconstructed 1" {
					t.Errorf("repeat %d got %q; want the one stored answer", i, ans.Body)
				}
			}
		})
	}
}

// TestKeyedReconstructionTwoProcesses: two App instances share one store
// (two kinerjad on one PostgreSQL). A repeat in the first holds the claim
// while it reconstructs; a repeat in the second meanwhile waits for its
// answer and returns it, without reconstructing. A young claim (a first
// request that may still be running elsewhere) is waited on, not taken.
func TestKeyedReconstructionTwoProcesses(t *testing.T) {
	idem := &memClaimer{}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
	apps := make([]*App, 2)
	for i := range apps {
		cfg := Config{Idempotency: idem, Now: func() time.Time { return time.Unix(0, clock.Load()) }}
		cfg.setDefaults()
		apps[i] = &App{cfg: cfg}
	}
	ctx := context.Background()
	k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}
	crashAfterAppend(t, apps[0], idem, k)
	clock.Add(int64(time.Minute))

	var n atomic.Int32
	inRun, release := make(chan struct{}), make(chan struct{})
	done := make(chan Answer)
	go func() {
		ans, _, err := apps[0].Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
			close(inRun)
			<-release
			return reconstructing(&n)(ctx)
		})
		if err != nil {
			t.Error(err)
		}
		done <- ans
	}()
	<-inRun // the first holds the claim (its lease, taken now: young)
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		ans, replayed, err := apps[1].Keyed(ctx, k, reconstructing(&n))
		if err != nil || !replayed || string(ans.Body) != "reconstructed 1" {
			t.Errorf("the second process's repeat: %+v, replayed %v, %v; want the first's answer", ans, replayed, err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the second reads the lease and waits
	close(release)
	if ans := <-done; string(ans.Body) != "reconstructed 1" {
		t.Errorf("first: %q", ans.Body)
	}
	<-waited
	if n.Load() != 1 {
		t.Fatalf("%d reconstructions in two processes; want 1", n.Load())
	}
}
