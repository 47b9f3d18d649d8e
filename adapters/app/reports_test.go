package app

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// oneUnit is a directory of one unit with two employees.
type oneUnit struct{ directory.Reader }

func (oneUnit) Subtree(context.Context, string) ([]string, error) { return []string{"u1"}, nil }
func (oneUnit) Units(context.Context) ([]directory.Unit, error) {
	return []directory.Unit{{ID: "u1", Name: "Biro Umum"}}, nil
}
func (oneUnit) EmployeesIn(context.Context, []string) ([]directory.Employee, error) {
	return []directory.Employee{{NIP: "a", UnitID: "u1"}, {NIP: "b", UnitID: "u1"}}, nil
}

// countedSKPs serves list and counts the reads.
type countedSKPs struct {
	skps.Reader
	list  []skps.Summary
	reads int
}

func (c *countedSKPs) ForYear(context.Context, []string, int) ([]skps.Summary, error) {
	c.reads++
	return c.list, nil
}

func (c *countedSKPs) List(_ context.Context, q skps.Query) ([]skps.Summary, string, error) {
	var out []skps.Summary
	for _, s := range c.list {
		if s.Year == q.Year {
			out = append(out, s)
		}
	}
	return out, "", nil
}

// positions are settable checkpoints; err fails every read.
type positions struct {
	at  map[string]eventstore.Position
	err error
}

func (p *positions) Checkpoint(_ context.Context, name string) (eventstore.Position, error) {
	return p.at[name], p.err
}

func TestReportsAreKeptWhileTheirReadModelsStandStill(t *testing.T) {
	ctx := context.Background()
	sr := &countedSKPs{list: []skps.Summary{{ID: "s1", NIP: "a", UnitID: "u1", Year: 2026, Status: "ESTABLISHED"}}}
	pos := &positions{at: map[string]eventstore.Position{directory.Name: 10, skps.Name: 12}}
	cfg := Config{Directory: oneUnit{}, SKPList: sr, Positions: pos}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	analyst := domain.Principal{ID: "analyst-1", Roles: []domain.Role{domain.RoleHRAnalyst}}
	r := reporter{a, analyst}
	skpsIn := func(rep Report[reports.ProgressReport]) int {
		t.Helper()
		// The board is kept unencoded: the API answers it a page at a
		// time (issue 15).
		if rep.JSON != nil {
			t.Fatalf("the kept progress board was encoded whole (%d bytes)", len(rep.JSON))
		}
		return rep.Data.Total.SKPs
	}

	first, err := r.Progress(ctx, "u1", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if got := skpsIn(first); got != 1 || first.Position != 10 {
		t.Fatalf("first report counts %d SKPs at position %d, want 1 at 10", got, first.Position)
	}
	if _, err := r.Progress(ctx, "u1", 2026); err != nil || sr.reads != 1 {
		t.Errorf("the same report at the same checkpoints read the SKPs again (%d reads, %v)", sr.reads, err)
	}
	if _, err := r.Progress(ctx, "u1", 2025); err != nil || sr.reads != 2 {
		t.Errorf("another year was served from the cache (%d reads, %v)", sr.reads, err)
	}

	// A new SKP moves the projection's checkpoint: the report is computed
	// afresh and counts it.
	sr.list = append(sr.list, skps.Summary{ID: "s2", NIP: "b", UnitID: "u1", Year: 2026, Status: "DRAFT"})
	pos.at[skps.Name] = 13
	next, err := r.Progress(ctx, "u1", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if got := skpsIn(next); got != 2 || sr.reads != 3 {
		t.Errorf("after the checkpoint moved the report counts %d SKPs after %d reads, want 2 after 3", got, sr.reads)
	}

	// Checkpoints that cannot be read: nothing is kept, every report is
	// computed.
	pos.err = errors.New("read model down")
	for range 2 {
		if _, err := r.Progress(ctx, "u1", 2026); err != nil {
			t.Fatal(err)
		}
	}
	if sr.reads != 5 {
		t.Errorf("without checkpoints the SKPs were read %d times in all, want 5", sr.reads)
	}
}

// reporter asks a's reports as one caller.
type reporter struct {
	a      *App
	caller domain.Principal
}

func (r reporter) Progress(ctx context.Context, unit string, year int) (Report[reports.ProgressReport], error) {
	return r.a.Progress(ctx, r.caller, unit, year)
}

// Reports are for HR_ANALYST, HR_ADMIN and AUDITOR (authz.ReadReports):
// anyone else is refused before anything is read.
func TestReportsNeedTheReportRight(t *testing.T) {
	ctx := context.Background()
	sr := &countedSKPs{}
	cfg := Config{Directory: oneUnit{}, SKPList: sr}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	for _, c := range []struct {
		name  string
		p     domain.Principal
		allow bool
	}{
		{"analyst", domain.Principal{ID: "x", Roles: []domain.Role{domain.RoleHRAnalyst}}, true},
		{"hr admin", domain.Principal{ID: "x", Roles: []domain.Role{domain.RoleHRAdmin}}, true},
		{"auditor", domain.Principal{ID: "x", Roles: []domain.Role{domain.RoleAuditor}}, true},
		{"clerk", domain.Principal{ID: "x", Roles: []domain.Role{domain.RoleGrievanceClerk}}, false},
		{"employee", domain.Principal{ID: "199001012015031001"}, false},
		{"anonymous", domain.Principal{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := sr.reads
			_, err := a.Progress(ctx, c.p, "u1", 2026)
			if c.allow && err != nil {
				t.Fatalf("Progress as %s = %v, want a report", c.name, err)
			}
			if !c.allow && !errors.Is(err, domain.ErrForbidden) {
				t.Fatalf("Progress as %s = %v, want forbidden", c.name, err)
			}
			if !c.allow && sr.reads != before {
				t.Errorf("a refused report read the SKPs")
			}
		})
	}
}

// versioned is positions with versions (as agency groups give: the
// checkpoint is the lowest group's, the version moves with any group).
type versioned struct {
	positions
	ver map[string]int64
}

func (v *versioned) Version(_ context.Context, name string) (int64, error) { return v.ver[name], nil }

// Under agency groups a report is computed again when a group ahead of the
// lowest writes (the version moves, the checkpoint does not): keyed on the
// checkpoints alone it stayed stale while any group stalled.
func TestReportsFollowTheVersionsOfGroupedProjections(t *testing.T) {
	ctx := context.Background()
	sr := &countedSKPs{list: []skps.Summary{{ID: "s1", NIP: "a", UnitID: "u1", Year: 2026, Status: "ESTABLISHED"}}}
	pos := &versioned{positions: positions{at: map[string]eventstore.Position{directory.Name: 10, skps.Name: 12}},
		ver: map[string]int64{directory.Name: 10, skps.Name: 24}}
	cfg := Config{Directory: oneUnit{}, SKPList: sr, Positions: pos}
	cfg.setDefaults()
	r := reporter{&App{cfg: cfg}, domain.Principal{ID: "analyst-1", Roles: []domain.Role{domain.RoleHRAnalyst}}}
	if _, err := r.Progress(ctx, "u1", 2026); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Progress(ctx, "u1", 2026); err != nil || sr.reads != 1 {
		t.Fatalf("standing still: %d reads (%v), want 1", sr.reads, err)
	}
	sr.list = append(sr.list, skps.Summary{ID: "s2", NIP: "b", UnitID: "u1", Year: 2026, Status: "DRAFT"})
	pos.ver[skps.Name] = 25 // a group ahead applied it; the lowest checkpoint stays 12
	rep, err := r.Progress(ctx, "u1", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Data.Total.SKPs != 2 || rep.Position != 10 {
		t.Errorf("after a group ahead moved: %d SKPs at position %d, want 2 at 10 (the position stays the lowest)", rep.Data.Total.SKPs, rep.Position)
	}
}

// Every write moves a projection, and every reader of a report then finds
// it stale at once: 16 readers of the root's progress board computed it 16
// times side by side (issue 15). Readers asking while it is computed at the
// same checkpoints wait for that computation; at other checkpoints they do
// not; and a failed computation is not kept (the next reader computes).
func TestReportsComputedOnceForConcurrentReaders(t *testing.T) {
	const readers = 8
	var c reportCache
	at := []eventstore.Position{10, 12}
	compute, computes, release := countedCompute(readers)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]int, readers)
	for i := range readers {
		wg.Go(func() {
			rep, err := cachedAt(ctx, &c, "progress", at, nil, compute)
			if err != nil {
				t.Error(err)
			}
			got[i] = rep.Data
		})
	}
	// The readers that compute themselves would release it at once; those
	// that wait would not, so after a second the one computing is let go.
	select {
	case <-release:
	case <-time.After(time.Second):
		close(release)
	}
	wg.Wait()
	if n := computes(); n != 1 {
		t.Errorf("%d concurrent readers computed the report %d times, want once", readers, n)
	}
	for i, v := range got {
		if v != 42 {
			t.Errorf("reader %d got %d, want the computed 42", i, v)
		}
	}

	// While a computation at these checkpoints is under way, a reader at
	// them whose context ends stops waiting; a reader at other checkpoints
	// does not wait: it is not the same report.
	hold := make(chan struct{})
	entered := make(chan struct{})
	go func() {
		_, _ = cachedAt(ctx, &c, "k", at, nil, func() (int, reports.Table, error) {
			close(entered)
			<-hold
			return 1, reports.Table{}, nil
		})
	}()
	<-entered
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := cachedAt(cancelled, &c, "k", at, nil, func() (int, reports.Table, error) { return 3, reports.Table{}, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled waiter: %v, want context.Canceled", err)
	}
	other, err := cachedAt(ctx, &c, "k", []eventstore.Position{10, 13}, nil, func() (int, reports.Table, error) { return 2, reports.Table{}, nil })
	if err != nil || other.Data != 2 {
		t.Errorf("a reader at newer checkpoints got %d (%v), want its own 2", other.Data, err)
	}
	close(hold)

	// A failed computation is not kept: the next reader computes.
	if _, err := cachedAt(ctx, &c, "f", at, nil, func() (int, reports.Table, error) { return 0, reports.Table{}, errors.New("read failed") }); err == nil {
		t.Error("a failed computation returned no error")
	}
	if rep, err := cachedAt(ctx, &c, "f", at, nil, func() (int, reports.Table, error) { return 7, reports.Table{}, nil }); err != nil || rep.Data != 7 {
		t.Errorf("after a failed computation: %d, %v; want 7", rep.Data, err)
	}
}

// countedCompute returns a computation of 42 that counts its calls
// (computes) and holds each until release is closed, which the n-th call
// does (every reader computing: the herd).
func countedCompute(n int) (compute func() (int, reports.Table, error), computes func() int, release chan struct{}) {
	var mu sync.Mutex
	calls := 0
	release = make(chan struct{})
	compute = func() (int, reports.Table, error) {
		mu.Lock()
		calls++
		k := calls
		mu.Unlock()
		if k == n {
			close(release)
		}
		<-release
		return 42, reports.Table{}, nil
	}
	computes = func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	return compute, computes, release
}

// waitForWaiters returns when n readers wait on the flight of key.
func waitForWaiters(c *reportCache, key string, n int) {
	for {
		c.mu.Lock()
		f := c.flights[key]
		joined := f != nil && f.waiters >= n
		c.mu.Unlock()
		if joined {
			return
		}
		runtime.Gosched()
	}
}

// TestReportFlightFailureHandedToItsWaiters: when a computation fails on
// its own account (a read failed: computed again it would fail again),
// the readers waiting for it get its error, rather than going round and
// computing it again one after another (review finding 2: 1 + 6
// computations in a row).
func TestReportFlightFailureHandedToItsWaiters(t *testing.T) {
	const waiters = 6
	var c reportCache
	at := []eventstore.Position{4}
	readFailed := errors.New("read failed")
	var mu sync.Mutex
	computes := 0
	fail := make(chan struct{})
	compute := func() (int, reports.Table, error) {
		mu.Lock()
		computes++
		first := computes == 1
		mu.Unlock()
		if first {
			<-fail // the leader fails once every waiter has joined
		}
		return 0, reports.Table{}, readFailed
	}
	entered := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, waiters+1)
	wg.Go(func() {
		_, errs[waiters] = cachedAt(context.Background(), &c, "progress", at, nil, func() (int, reports.Table, error) {
			close(entered)
			return compute()
		})
	})
	<-entered
	for i := range waiters {
		wg.Go(func() { _, errs[i] = cachedAt(context.Background(), &c, "progress", at, nil, compute) })
	}
	waitForWaiters(&c, "progress", waiters)
	close(fail)
	wg.Wait()
	if computes != 1 {
		t.Errorf("a failing computation with %d waiters was computed %d times, want once", waiters, computes)
	}
	for i, err := range errs {
		if !errors.Is(err, readFailed) {
			t.Errorf("reader %d: %v, want the leader's %v", i, err, readFailed)
		}
	}
}

// TestReportFlightEndsOnPanic: a computation that panics still ends its
// flight, so the next reader at the same checkpoints computes instead of
// waiting for a flight that never lands (fails without the deferred end:
// the second reader times out).
func TestReportFlightEndsOnPanic(t *testing.T) {
	var c reportCache
	at := []eventstore.Position{3}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panicking computation did not panic")
			}
		}()
		_, _ = cachedAt(context.Background(), &c, "progress", at, nil, func() (int, reports.Table, error) { panic("boom") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := cachedAt(ctx, &c, "progress", at, nil, func() (int, reports.Table, error) { return 7, reports.Table{}, nil })
	if err != nil || rep.Data != 7 {
		t.Fatalf("the reader after a panicked computation = %v, %v; want 7", rep.Data, err)
	}

	// A reader waiting for a computation that panics computes it itself
	// (the panic was the leader's, not an error the report would repeat).
	at = []eventstore.Position{4}
	boom := make(chan struct{})
	entered := make(chan struct{})
	var lg sync.WaitGroup
	lg.Go(func() {
		defer func() { _ = recover() }()
		_, _ = cachedAt(context.Background(), &c, "progress", at, nil, func() (int, reports.Table, error) {
			close(entered)
			<-boom
			panic("boom")
		})
	})
	<-entered
	lg.Go(func() {
		rep, err = cachedAt(ctx, &c, "progress", at, nil, func() (int, reports.Table, error) { return 8, reports.Table{}, nil })
	})
	waitForWaiters(&c, "progress", 1)
	close(boom)
	lg.Wait()
	if err != nil || rep.Data != 8 {
		t.Fatalf("the reader waiting for a computation that panicked = %v, %v; want 8", rep.Data, err)
	}
}

// TestReportFlightHandedOnWhenItsLeaderFails: when the reader computing a
// report fails (its client hung up and its context ended), one of the
// readers waiting for it computes the report and the others wait for that
// one, rather than every waiter computing its own side by side.
func TestReportFlightHandedOnWhenItsLeaderFails(t *testing.T) {
	const waiters = 6
	var c reportCache
	at := []eventstore.Position{5, 9}
	leaderCtx, hangUp := context.WithCancel(context.Background())
	entered := make(chan struct{})
	var lg sync.WaitGroup
	var leaderErr error
	lg.Go(func() {
		_, leaderErr = cachedAt(leaderCtx, &c, "progress", at, nil, func() (int, reports.Table, error) {
			close(entered)
			<-leaderCtx.Done()
			return 0, reports.Table{}, leaderCtx.Err()
		})
	})
	<-entered
	compute, computes, release := countedCompute(waiters)
	// The waiters join the leader's flight (the same key and checkpoints).
	var wg sync.WaitGroup
	got := make([]int, waiters)
	errs := make([]error, waiters)
	for i := range waiters {
		wg.Go(func() {
			r, err := cachedAt(context.Background(), &c, "progress", at, nil, compute)
			got[i], errs[i] = r.Data, err
		})
	}
	waitForWaiters(&c, "progress", waiters)
	hangUp()
	lg.Wait()
	if !errors.Is(leaderErr, context.Canceled) {
		t.Fatalf("the leader whose client hung up: %v, want context.Canceled", leaderErr)
	}
	// Waiters that each compute release it at once; one that leads while
	// the others wait does not, so after a second it is let go.
	select {
	case <-release:
	case <-time.After(time.Second):
		close(release)
	}
	wg.Wait()
	if n := computes(); n != 1 {
		t.Errorf("after the leader failed, %d waiters computed the report %d times, want once", waiters, n)
	}
	for i := range waiters {
		if errs[i] != nil || got[i] != 42 {
			t.Errorf("waiter %d: %d, %v; want 42", i, got[i], errs[i])
		}
	}
}
