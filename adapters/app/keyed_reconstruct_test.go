package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
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
	return func(ctx context.Context) (Answer, bool) {
		metOwnEvents(ctx)
		i := n.Add(1)
		return Answer{Status: 201, Body: fmt.Appendf(nil, "reconstructed %d", i), Header: map[string]string{"ETag": fmt.Sprint(i)}}, true
	}
}

// metOwnEvents stands for keyedLog meeting the request's events, appended
// by an earlier attempt (an *AppliedError): what the edge's reconstruction
// starts from.
func metOwnEvents(ctx context.Context) {
	ctx.Value(keyedIDsKey{}).(*keyedIDs).applied.Store(true)
}

// TestKeyedLeaseKeepsOnlyAppliedSuccess: a repeat holding the lease on a
// claim whose answer was lost completes it only with a successful answer
// reconstructed from its own events. A 499 (the client went away while the
// representation was read), a refusal returned before the command met its
// events, or a 2xx that did not come from them are not stored even when the
// edge asks to keep them: the next repeat reconstructs, and its answer is
// the key's.
func TestKeyedLeaseKeepsOnlyAppliedSuccess(t *testing.T) {
	for _, c := range []struct {
		name    string
		status  int
		applied bool
	}{{"client gone during reconstruction", 499, true}, {"refused before its events", 422, false}, {"success not from its events", 201, false}} {
		t.Run(c.name, func(t *testing.T) {
			idem := &memClaimer{}
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
			cfg := Config{Idempotency: idem, IdempotencyExclusive: true, Now: func() time.Time { return time.Unix(0, clock.Load()) }}
			cfg.setDefaults()
			a := &App{cfg: cfg}
			ctx := context.Background()
			k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}
			crashAfterAppend(t, a, idem, k)
			clock.Add(int64(time.Minute))
			bad, replayed, err := a.Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
				if c.applied {
					metOwnEvents(ctx)
				}
				return Answer{Status: c.status, Body: []byte("failed")}, true
			})
			if err != nil || replayed || bad.Status != c.status {
				t.Fatalf("the failing repeat: %+v, replayed %v, %v", bad, replayed, err)
			}
			if rec := memRecord(t, idem, k); rec.Status != claimStatus {
				t.Fatalf("after the failing repeat the record is %d %q; want the claim still without its answer", rec.Status, rec.Body)
			}
			var n atomic.Int32
			ans, replayed, err := a.Keyed(ctx, k, reconstructing(&n))
			if err != nil || replayed || string(ans.Body) != "reconstructed 1" {
				t.Fatalf("the next repeat: %d %q, replayed %v, %v; want it to reconstruct", ans.Status, ans.Body, replayed, err)
			}
			if ans, replayed, err := a.Keyed(ctx, k, reconstructing(&n)); err != nil || !replayed || string(ans.Body) != "reconstructed 1" {
				t.Fatalf("the repeat after: %d %q, replayed %v, %v; want the reconstruction replayed", ans.Status, ans.Body, replayed, err)
			}
		})
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

// TestKeyedTakeOverOwnEndedClaimRace orders the race that
// TestKeyedReconstructionOnPostgres met about once in six runs under load
// (two reconstructions by four repeats at once). Process 0's own request
// left the claim without its answer (so a repeat there takes it over at
// once), and its repeat reads that claim; before it swaps it, a repeat in
// process 1 takes the claim over and starts reconstructing. Process 0's
// swap then fails, and it reads process 1's lease: a claim whose holder is
// running, which it must wait on, not take over because the claim it first
// read was its own.
func TestKeyedTakeOverOwnEndedClaimRace(t *testing.T) {
	idem := &memClaimer{}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
	var apps [2]*App
	for i := range apps {
		cfg := Config{Idempotency: idem, Now: func() time.Time { return time.Unix(0, clock.Load()) }}
		cfg.setDefaults()
		apps[i] = &App{cfg: cfg}
	}
	k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}
	orderedTakeOverRace(t, apps, k,
		func() { crashAfterAppend(t, apps[0], idem, k) },
		func() { clock.Add(int64(time.Minute)) },
		func() keyRecord { return memRecord(t, idem, k) })
}

// orderedTakeOverRace runs the steps of TestKeyedTakeOverOwnEndedClaimRace
// on two Apps sharing a store: crash leaves the claim of apps[0]'s request
// without its answer, restart moves the clock past claimStale, record
// reads the stored record.
func orderedTakeOverRace(t *testing.T, apps [2]*App, k Key, crash, restart func(), record func() keyRecord) {
	t.Helper()
	ctx := context.Background()
	crash()
	restart()
	type result struct {
		ans      Answer
		replayed bool
		err      error
	}
	var n atomic.Int32
	atSwap, goSwap, waiting := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	var swaps atomic.Int32
	apps[0].takeOverHook = func(step string) {
		switch step {
		case "swap":
			if swaps.Add(1) == 1 {
				close(atSwap)
				<-goSwap
			}
		case "wait":
			select {
			case waiting <- struct{}{}:
			default:
			}
		}
	}
	defer func() { apps[0].takeOverHook = nil }()
	// Process 0's repeat reads the claim its own request left, and stops
	// just before it swaps it.
	done0 := make(chan result, 1)
	go func() {
		ans, replayed, err := apps[0].Keyed(ctx, k, reconstructing(&n))
		done0 <- result{ans, replayed, err}
	}()
	<-atSwap
	// Process 1's repeat takes the claim over (it is older than
	// claimStale) and reconstructs, held in its run.
	inRun, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	done1 := make(chan result, 1)
	go func() {
		ans, replayed, err := apps[1].Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
			close(inRun)
			<-release
			return reconstructing(&n)(ctx)
		})
		done1 <- result{ans, replayed, err}
	}()
	<-inRun
	// Process 0's swap fails (the record is process 1's lease now): it
	// must wait for process 1's answer.
	close(goSwap)
	select {
	case r := <-done0:
		t.Fatalf("process 0 returned %q (replayed %v, %v) while process 1 held the claim: %d reconstructions; want it to wait for process 1's answer",
			r.ans.Body, r.replayed, r.err, n.Load())
	case <-waiting:
	}
	releaseOnce.Do(func() { close(release) })
	r1, r0 := <-done1, <-done0
	if r1.err != nil || r1.replayed || string(r1.ans.Body) != "reconstructed 1" {
		t.Fatalf("process 1: %q, replayed %v, %v", r1.ans.Body, r1.replayed, r1.err)
	}
	if r0.err != nil || !r0.replayed || r0.ans.Status != r1.ans.Status || string(r0.ans.Body) != string(r1.ans.Body) {
		t.Fatalf("process 0: %d %q, replayed %v, %v; want process 1's answer replayed", r0.ans.Status, r0.ans.Body, r0.replayed, r0.err)
	}
	if n.Load() != 1 {
		t.Fatalf("%d reconstructions; want 1", n.Load())
	}
	if rec := record(); rec.Status != r1.ans.Status || string(rec.Body) != string(r1.ans.Body) {
		t.Fatalf("record = %+v; want process 1's answer", rec)
	}
}

// fourRepeatsAtOnce sends four repeats of k at once, alternating between
// apps (one App: four in one process), after a crash lost the answer of k
// (a claim without its answer is stored, the events of unit-L appended):
// each meets its own events, exactly one reconstructs, all return its
// answer, which the record then holds; later repeats replay it, and the
// key is refused to another request.
func fourRepeatsAtOnce(t *testing.T, apps []*App, k Key, record func() keyRecord) {
	t.Helper()
	ctx := context.Background()
	var reconstructions atomic.Int32
	repeat := func(a *App) func(context.Context) (Answer, bool) {
		return func(ctx context.Context) (Answer, bool) {
			if _, _, _, err := a.Services(ctx).Units.Handler.Log.Load(ctx, "unit-L"); !errors.Is(err, ErrApplied) {
				t.Errorf("the repeat's load = %v, want ErrApplied", err)
			}
			i := reconstructions.Add(1)
			time.Sleep(50 * time.Millisecond) // let the others race it
			return Answer{Status: 201, Body: fmt.Appendf(nil, "reconstructed %d", i)}, true
		}
	}
	var wg sync.WaitGroup
	answers := make([]Answer, 4)
	for i := range answers {
		wg.Go(func() {
			a := apps[i%len(apps)]
			ans, _, err := a.Keyed(ctx, k, repeat(a))
			if err != nil {
				t.Error(err)
			}
			answers[i] = ans
		})
	}
	wg.Wait()
	if n := reconstructions.Load(); n != 1 {
		t.Fatalf("%d reconstructions by four repeats at once; want 1", n)
	}
	for i, ans := range answers {
		if ans.Status != 201 || string(ans.Body) != "reconstructed 1" {
			t.Errorf("repeat %d: %d %q; want the one stored answer", i, ans.Status, ans.Body)
		}
	}
	if rec := record(); rec.Status != 201 || string(rec.Body) != "reconstructed 1" {
		t.Fatalf("record = %+v; want the reconstructed answer", rec)
	}
	for _, a := range apps {
		ans, replayed, err := a.Keyed(ctx, k, repeat(a))
		if err != nil || !replayed || string(ans.Body) != "reconstructed 1" {
			t.Fatalf("later repeat: %+v, replayed %v, %v", ans, replayed, err)
		}
		other := k
		other.Fingerprint = Fingerprint("POST", "/v1/units", "M")
		if _, _, err := a.Keyed(ctx, other, repeat(a)); !errors.Is(err, ErrKeyReused) {
			t.Fatalf("another request with the key = %v, want ErrKeyReused", err)
		}
	}
	if n := reconstructions.Load(); n != 1 {
		t.Fatalf("%d reconstructions in all; want 1", n)
	}
}

// TestKeyedReconstructionOnBolt is TestKeyedReconstructionOnPostgres on the
// embedded store: bbolt events, the records in the store's own file
// (boltstore.Store.Idempotency, claimed in the events' transaction), one
// process (the file is locked to it), restarted after the crash.
func TestKeyedReconstructionOnBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kinerja.db")
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	open := func() (*App, *boltstore.Store) {
		store, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h := &domain.Handler{Log: eventlog.New(store), NewID: uuid.New}
		cfg := Config{Idempotency: store.Idempotency(), IdempotencyExclusive: true, Units: &orgunit.Service{Handler: h},
			Employees: &employee.Service{Handler: h}, SKPs: &skp.Service{Handler: h}, Distribution: &distribution.Service{Handler: h},
			Now: func() time.Time { return now }}
		cfg.setDefaults()
		return &App{cfg: cfg}, store
	}
	ctx := context.Background()
	k := Key{Caller: "hr", Key: "lost", Fingerprint: Fingerprint("POST", "/v1/units", "L")}
	a, store := open()
	record := func() keyRecord {
		s := sum("kinerja/idempotency/v1", k.Caller, k.Key)
		raw, ok, err := a.cfg.Idempotency.Get(ctx, hex.EncodeToString(s[:]), now)
		if err != nil || !ok {
			t.Fatalf("record: %v, %v", ok, err)
		}
		var rec keyRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// The crash: the events and the claim commit, the answer is never stored.
	a.Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
		if _, err := a.Services(ctx).Units.Handler.Log.Append(ctx, "unit-L", domain.NoStream, []domain.NewEvent{{
			Meta:  domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
			Event: orgunit.Registered{UnitID: "L", Name: "Bappeda"}}}); err != nil {
			t.Fatal(err)
		}
		return Answer{}, false
	})
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	a, store = open()
	defer store.Close()
	if rec := record(); rec.Status != claimStatus {
		t.Fatalf("after the restart: %+v; want the claim", rec)
	}
	fourRepeatsAtOnce(t, []*App{a}, k, record)
}

// TestKeyedTakeOverWaitsOnLiveClaim: a first request is still running in
// process 0 (its events and claim committed, its answer not yet stored)
// when a repeat arrives in process 1 on the same store. The repeat must
// wait for that answer, not take the claim over and reconstruct (two
// answers to one request), both when process 1's clock runs 6 s ahead and
// when the command took 6 s after the claim's stamp.
func TestKeyedTakeOverWaitsOnLiveClaim(t *testing.T) {
	for _, c := range []struct {
		name          string
		skew, runTime time.Duration
	}{{"clock 6s ahead", 6 * time.Second, 0}, {"command ran 6s", 0, 6 * time.Second}} {
		t.Run(c.name, func(t *testing.T) {
			idem := &memClaimer{}
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
			var apps [2]*App
			for i := range apps {
				skew := time.Duration(i) * c.skew
				cfg := Config{Idempotency: idem, Now: func() time.Time { return time.Unix(0, clock.Load()).Add(skew) }}
				cfg.setDefaults()
				apps[i] = &App{cfg: cfg}
			}
			ctx := context.Background()
			k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}
			inRun, release := make(chan struct{}), make(chan struct{})
			var releaseOnce sync.Once
			defer releaseOnce.Do(func() { close(release) })
			done0 := make(chan Answer, 1)
			go func() {
				ans, _, err := apps[0].Keyed(ctx, k, func(ctx context.Context) (Answer, bool) {
					idem.appendWith(ctx)
					clock.Add(int64(c.runTime))
					close(inRun)
					<-release
					return Answer{Status: 201, Body: []byte("original")}, true
				})
				if err != nil {
					t.Error(err)
				}
				done0 <- ans
			}()
			<-inRun
			waiting := make(chan struct{}, 1)
			var swapped atomic.Bool
			apps[1].takeOverHook = func(step string) {
				switch step {
				case "swap":
					swapped.Store(true)
				case "wait":
					select {
					case waiting <- struct{}{}:
					default:
					}
				}
			}
			var n atomic.Int32
			type result struct {
				ans      Answer
				replayed bool
				err      error
			}
			done1 := make(chan result, 1)
			go func() {
				ans, replayed, err := apps[1].Keyed(ctx, k, reconstructing(&n))
				done1 <- result{ans, replayed, err}
			}()
			select {
			case r := <-done1:
				t.Fatalf("the repeat returned %q (replayed %v, %v, swapped %v) while the original ran; want it to wait", r.ans.Body, r.replayed, r.err, swapped.Load())
			case <-waiting:
			}
			releaseOnce.Do(func() { close(release) })
			if ans := <-done0; string(ans.Body) != "original" {
				t.Fatalf("original: %q", ans.Body)
			}
			r := <-done1
			if r.err != nil || !r.replayed || string(r.ans.Body) != "original" || n.Load() != 0 || swapped.Load() {
				t.Fatalf("the repeat: %q, replayed %v, %v; %d reconstructions, swapped %v; want the original's answer replayed",
					r.ans.Body, r.replayed, r.err, n.Load(), swapped.Load())
			}
			if rec := memRecord(t, idem, k); string(rec.Body) != "original" {
				t.Fatalf("record = %+v; want the original's answer", rec)
			}
		})
	}
}

// cancelAfterCommit is a store whose Complete commits and then reports the
// request's cancellation, as PostgreSQL does for a context cancelled while
// the commit's acknowledgement is on its way.
type cancelAfterCommit struct{ *memClaimer }

func (c cancelAfterCommit) Complete(ctx context.Context, key string, claim, rec []byte, now, expires time.Time) (bool, error) {
	took, err := c.memClaimer.Complete(ctx, key, claim, rec, now, expires)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return took, err
}

// TestKeyedTakeOverCancelled: the client of a repeat goes away while its
// takeover swaps the claim. The lease must not be left without a holder:
// the next repeat in this process takes it at once and reconstructs,
// instead of waiting claimPatience for a lease nobody holds.
func TestKeyedTakeOverCancelled(t *testing.T) {
	idem := &memClaimer{}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano())
	cfg := Config{Idempotency: cancelAfterCommit{idem}, Now: func() time.Time { return time.Unix(0, clock.Load()) }}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	k := Key{Caller: "alice", Key: "k-1", Fingerprint: Fingerprint("POST", "/v1/units", "{}")}
	crashAfterAppend(t, a, idem, k)
	clock.Add(int64(time.Minute))

	ctx, cancel := context.WithCancel(context.Background())
	a.takeOverHook = func(step string) {
		if step == "swap" {
			cancel()
		}
	}
	var n atomic.Int32
	gone := func(ctx context.Context) (Answer, bool) {
		metOwnEvents(ctx)
		if ctx.Err() != nil {
			return Answer{Status: 499, Body: []byte("canceled")}, false // as the API answers a client gone
		}
		return reconstructing(&n)(ctx)
	}
	a.Keyed(ctx, k, gone)
	a.takeOverHook = nil

	next, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	ans, replayed, err := a.Keyed(next, k, reconstructing(&n))
	if err != nil || replayed || string(ans.Body) != "reconstructed 1" {
		t.Fatalf("the next repeat: %q, replayed %v, %v; want it to take the lease at once and reconstruct", ans.Body, replayed, err)
	}
}
