package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// The reports, for both edges: the API answers them as JSON, CSV or XLSX,
// the dashboard draws them and exports the same tables. One
// implementation, one cache.
//
// The progress and distribution reports depend on nothing but the read
// models they read, and a read model publishes its rows with its
// checkpoint atomically; so a report is kept with the checkpoints read
// before it was computed, and served again while they are unchanged. (A
// whole-agency report of 10,000 employees computed in full costs about
// 100 ms of CPU; HR dashboards ask for the same ones again and again.)
// Every write moves a projection, so under writes each report is computed
// again: over the in-memory read models from their reports.Tally, kept as
// the rows change (O(units), docs/projections.md); over PostgreSQL in full.
// The objection register depends on the clock (overdue) and is always
// computed.

// Report is a computed report.
type Report[T any] struct {
	// Data is the report itself (what a page draws).
	Data T
	// Table is its flat form, for CSV and Excel.
	Table reports.Table
	// JSON is Data encoded (once, for a kept report); nil for the progress
	// board, whose JSON is answered a page at a time.
	JSON json.RawMessage
	// Position is how far every projection the report read had read (the
	// API's Kinerja-Projection-Position).
	Position eventstore.Position
}

// reportCacheMax bounds the reports kept; when full, the cache starts
// over.
const reportCacheMax = 256

// reportCache holds computed reports by query, with the checkpoints of the
// read models they read, and the computations under way: a report asked for
// again while it is being computed at the same checkpoints waits for that
// computation instead of doing it again. (Every write moves a projection,
// and then every reader of a report found it stale at once: 16 readers of
// the root's progress board computed it 16 times over, side by side.)
type reportCache struct {
	mu      sync.Mutex
	entries map[string]cachedReport
	flights map[string]*reportFlight
}

type cachedReport struct {
	at     []eventstore.Position
	ver    []int64 // the projections' versions (App.versions), when known
	report any     // a Report[T]
}

// reportFlight is a report being computed at at and ver; done is closed
// when report (a Report[T]) or err is set.
type reportFlight struct {
	at     []eventstore.Position
	ver    []int64
	done   chan struct{}
	report any
	err    error
	// retry is set with err when the computation failed on its leader's
	// account (its context ended, or it panicked): its waiters go round
	// again. Any other error would repeat, and is theirs too.
	retry bool
	// waiters is how many readers wait on done (under reportCache.mu).
	waiters int
}

// cached returns the report kept under key at the checkpoints at, or
// computes it with compute and keeps it. With no checkpoints (at == nil)
// nothing is kept.
func cached[T any](c *reportCache, key string, at []eventstore.Position, compute func() (T, reports.Table, error)) (Report[T], error) {
	return keep(context.Background(), c, key, at, nil, true, compute)
}

// cachedAt is cached, the kept report also checked against ver, the
// versions of its projections (App.versions): under agency groups a
// projection's checkpoint is the lowest of its groups', which does not move
// while a group ahead of it writes, so the checkpoints alone would keep a
// stale report (and a stalled group would keep every agency's). A caller
// waiting for another's computation of it stops waiting when ctx ends.
func cachedAt[T any](ctx context.Context, c *reportCache, key string, at []eventstore.Position, ver []int64, compute func() (T, reports.Table, error)) (Report[T], error) {
	return keep(ctx, c, key, at, ver, true, compute)
}

// cachedData is cachedAt without the JSON (Report.JSON is nil): the
// progress board's JSON is answered a page at a time (httpapi), and the
// whole board encoded was most of its CPU at a province's root.
func cachedData[T any](ctx context.Context, c *reportCache, key string, at []eventstore.Position, ver []int64, compute func() (T, reports.Table, error)) (Report[T], error) {
	return keep(ctx, c, key, at, ver, false, compute)
}

func keep[T any](ctx context.Context, c *reportCache, key string, at []eventstore.Position, ver []int64, encode bool, compute func() (T, reports.Table, error)) (Report[T], error) {
	if at == nil {
		return computeReport(at, encode, compute)
	}
	for {
		c.mu.Lock()
		if e, ok := c.entries[key]; ok && slices.Equal(e.at, at) && slices.Equal(e.ver, ver) {
			if rep, ok := e.report.(Report[T]); ok {
				c.mu.Unlock()
				return rep, nil
			}
		}
		f, ok := c.flights[key]
		if !ok || !slices.Equal(f.at, at) || !slices.Equal(f.ver, ver) {
			break // c.mu held: this caller leads the computation
		}
		f.waiters++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Report[T]{}, ctx.Err()
		}
		if rep, ok := f.report.(Report[T]); ok && f.err == nil {
			return rep, nil
		}
		if f.err != nil && !f.retry {
			// A read failed, or the report cannot be computed: computed
			// again it would fail again, once per waiter in turn (and
			// cached's callers wait without a deadline).
			return Report[T]{}, f.err
		}
		// The computation failed on its leader's account (its request was
		// cancelled, it panicked), and its flight is gone: the waiters go
		// round again, and the first of them to take the lock leads the
		// next computation while the others wait for it (they used to
		// compute one each, side by side: the herd again).
	}
	f := &reportFlight{at: at, ver: ver, done: make(chan struct{})}
	if c.flights == nil {
		c.flights = map[string]*reportFlight{}
	}
	c.flights[key] = f
	c.mu.Unlock()
	// The flight ends whatever happens to the computation, a panic
	// included: otherwise every later reader at these checkpoints would
	// wait on done until its own request ended.
	rep, err := Report[T]{}, errReportNotComputed
	defer func() {
		c.mu.Lock()
		// A computation started meanwhile at other checkpoints replaced
		// this one in flights: its report, not this one, is the one to
		// keep.
		latest := c.flights[key] == f
		if latest {
			delete(c.flights, key)
		}
		if err == nil && latest {
			if c.entries == nil || len(c.entries) >= reportCacheMax {
				c.entries = map[string]cachedReport{}
			}
			c.entries[key] = cachedReport{at: at, ver: ver, report: rep}
		}
		c.mu.Unlock()
		f.report, f.err = rep, err
		f.retry = err != nil && leaderFailed(ctx, err)
		close(f.done)
	}()
	rep, err = computeReport(at, encode, compute)
	return rep, err
}

// errReportNotComputed is a flight's error when its computation did not
// return (it panicked).
var errReportNotComputed = errors.New("app: the report's computation did not return")

// leaderFailed reports whether a computation's error err is its leader's
// own (so another reader's computation may well succeed): its context
// ctx ended, the computation's reads stopped on a context's end (the
// closures of cached's callers read with their request's context), or it
// panicked.
func leaderFailed(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, errReportNotComputed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// computeReport computes a report with compute, encoded when encode.
func computeReport[T any](at []eventstore.Position, encode bool, compute func() (T, reports.Table, error)) (Report[T], error) {
	data, table, err := compute()
	if err != nil {
		return Report[T]{}, err
	}
	// Encoded once: a whole-agency progress report took longer to encode
	// than to compute.
	var b []byte
	if encode {
		if b, err = json.Marshal(data); err != nil {
			return Report[T]{}, fmt.Errorf("app: encode report: %w", err)
		}
	}
	return Report[T]{Data: data, Table: table, JSON: b, Position: minimum(at)}, nil
}

// checkpoints returns the checkpoints of the named projections, or nil when
// they cannot be read (then nothing is cached).
func (a *App) checkpoints(ctx context.Context, names ...string) []eventstore.Position {
	if a.cfg.Positions == nil {
		return nil
	}
	at := make([]eventstore.Position, len(names))
	for i, n := range names {
		p, err := a.cfg.Positions.Checkpoint(ctx, n)
		if err != nil {
			return nil
		}
		at[i] = p
	}
	return at
}

// versions returns the versions of the named projections (Versions), or
// nil when Positions has none (then the checkpoints alone key a report).
func (a *App) versions(ctx context.Context, names ...string) []int64 {
	v, ok := a.cfg.Positions.(Versions)
	if !ok {
		return nil
	}
	out := make([]int64, len(names))
	for i, n := range names {
		x, err := v.Version(ctx, n)
		if err != nil {
			return nil
		}
		out[i] = x
	}
	return out
}

// Position returns how far the named projection had read, or 0 when it
// cannot tell (no Positions, or the read failed).
func (a *App) Position(ctx context.Context, projection string) (eventstore.Position, bool) {
	at := a.checkpoints(ctx, projection)
	if at == nil {
		return 0, false
	}
	return at[0], true
}

// Version returns a number of the named projection that moves whenever
// any of its writers applies an event (Versions when Positions has it, else
// the checkpoint), or false when it cannot tell. For keys of what is kept
// while a read model stands still, never for read-your-writes waits (the
// checkpoint is).
func (a *App) Version(ctx context.Context, projection string) (int64, bool) {
	if v, ok := a.cfg.Positions.(Versions); ok {
		n, err := v.Version(ctx, projection)
		if err != nil {
			return 0, false
		}
		return n, true
	}
	p, ok := a.Position(ctx, projection)
	return int64(p), ok
}

// minimum is the position a report read at: how far every one of its
// projections had read.
func minimum(at []eventstore.Position) eventstore.Position {
	if len(at) == 0 {
		return 0
	}
	return slices.Min(at)
}

// notFound turns the read models' not-found into the domain's kind.
func notFound(err error) error {
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%w: %w", domain.ErrNotFound, err)
	}
	return err
}

// allow asks authz whether caller may do a (an action decided by token
// role alone).
func allow(caller domain.Principal, a authz.Action) error {
	_, err := authz.Decide(caller, a, authz.Subject{}, authz.Options{})
	return err
}

// Progress counts the SKPs of unit's subtree for year by status, with the
// late and the missing ones, for a caller who may read reports. Errors: a
// refusal of authz (403), not found for an unknown unit.
func (a *App) Progress(ctx context.Context, caller domain.Principal, unit string, year int) (Report[reports.ProgressReport], error) {
	if err := allow(caller, authz.ReadReports); err != nil {
		return Report[reports.ProgressReport]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[reports.ProgressReport]{}, err
	}
	at := a.checkpoints(ctx, directory.Name, skps.Name)
	ver := a.versions(ctx, directory.Name, skps.Name)
	return cachedData(ctx, &a.reports, "progress\x00"+unit+"\x00"+strconv.Itoa(year), at, ver, func() (reports.ProgressReport, reports.Table, error) {
		rep, err := reports.Progress(ctx, a.cfg.Directory, a.cfg.SKPList, unit, year)
		if err != nil {
			return rep, reports.Table{}, notFound(err)
		}
		return rep, rep.Table(), nil
	})
}

// ProgressAsOf is Progress as the SKPs were recorded at cut (the unit
// dashboard's and the API's as-of control): each SKP of the year changed
// since is rebuilt from its events up to the cut (skps.AsOf, kept per cut:
// App.Past), and one drafted later is not counted. The units and their
// employees are today's (the directory read model keeps no history). Kept
// like the other reports, per cut, until the projections move. A zero cut
// is Progress.
func (a *App) ProgressAsOf(ctx context.Context, caller domain.Principal, unit string, year int, cut Cut) (Report[reports.ProgressReport], error) {
	if cut.IsZero() {
		return a.Progress(ctx, caller, unit, year)
	}
	if err := allow(caller, authz.ReadReports); err != nil {
		return Report[reports.ProgressReport]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[reports.ProgressReport]{}, err
	}
	past, _, m, err := a.pastReaders(ctx, cut, directory.Name, skps.Name)
	if err != nil {
		return Report[reports.ProgressReport]{}, err
	}
	pos := a.checkpoints(ctx, directory.Name, skps.Name)
	ver := a.versions(ctx, directory.Name, skps.Name)
	key := "progress-asof\x00" + unit + "\x00" + strconv.Itoa(year) + "\x00" + cut.key()
	return cachedData(ctx, &a.reports, key, pos, ver, func() (reports.ProgressReport, reports.Table, error) {
		release, err := a.past.turn(ctx, caller.ID)
		if err != nil {
			return reports.ProgressReport{}, reports.Table{}, err
		}
		defer release()
		defer a.past.counted(m)
		rep, err := reports.Progress(ctx, a.cfg.Directory, past, unit, year)
		if err != nil {
			return rep, reports.Table{}, notFound(err)
		}
		rep.AsOf = cut.String()
		return rep, rep.Table(), nil
	})
}

// DistributionAsOf is Distribution as the SKPs and their evaluations were
// recorded at cut: the evaluations of an SKP changed since are rebuilt
// from its events up to the cut (reports.EvaluationsAsOf), one rated later
// is not counted, an SKP cancelled later still counts. The units, their
// organisation predikat and the recorded justification are today's (the
// directory read model keeps no history). A zero cut is Distribution.
func (a *App) DistributionAsOf(ctx context.Context, caller domain.Principal, unit, period string, cut Cut) (Report[reports.DistributionReport], error) {
	if cut.IsZero() {
		return a.Distribution(ctx, caller, unit, period)
	}
	if err := allow(caller, authz.ReadReports); err != nil {
		return Report[reports.DistributionReport]{}, err
	}
	// The agency scope, as Distribution's: a past cut reads the same
	// units, so it must be limited to the same agency.
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[reports.DistributionReport]{}, err
	}
	if a.cfg.Evaluations == nil {
		return Report[reports.DistributionReport]{}, &domain.NotFoundError{Kind: "report", ID: "distribution"}
	}
	pastSKPs, pastEvals, m, err := a.pastReaders(ctx, cut, directory.Name, skps.Name, evaluations.Name)
	if err != nil {
		return Report[reports.DistributionReport]{}, err
	}
	at := a.checkpoints(ctx, directory.Name, skps.Name, evaluations.Name)
	ver := a.versions(ctx, directory.Name, skps.Name, evaluations.Name)
	key := "distribution-asof\x00" + unit + "\x00" + period + "\x00" + cut.key()
	return cachedAt(ctx, &a.reports, key, at, ver, func() (reports.DistributionReport, reports.Table, error) {
		release, err := a.past.turn(ctx, caller.ID)
		if err != nil {
			return reports.DistributionReport{}, reports.Table{}, err
		}
		defer release()
		defer a.past.counted(m)
		in := a.distributionInput()
		in.SKPs, in.Evaluations = pastSKPs, pastEvals
		rep, table, err := distributionReport(ctx, in, unit, period)
		rep.AsOf = cut.String()
		return rep, table, err
	})
}

// Distribution checks the predikat counts of unit's subtree for period
// against the distribution pattern, for a caller who may read reports.
// Errors: a refusal, not found for an unknown unit, a *ValidationError
// naming period.
func (a *App) Distribution(ctx context.Context, caller domain.Principal, unit, period string) (Report[reports.DistributionReport], error) {
	if err := allow(caller, authz.ReadReports); err != nil {
		return Report[reports.DistributionReport]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[reports.DistributionReport]{}, err
	}
	return a.distribution(ctx, unit, period)
}

// distribution is Distribution without the access decision (the inbox
// reads it for the leader one level up, who may read no report), from the
// same cache.
func (a *App) distribution(ctx context.Context, unit, period string) (Report[reports.DistributionReport], error) {
	if a.cfg.Evaluations == nil {
		return Report[reports.DistributionReport]{}, &domain.NotFoundError{Kind: "report", ID: "distribution"}
	}
	at := a.checkpoints(ctx, directory.Name, skps.Name, evaluations.Name)
	ver := a.versions(ctx, directory.Name, skps.Name, evaluations.Name)
	return cachedAt(ctx, &a.reports, "distribution\x00"+unit+"\x00"+period, at, ver, func() (reports.DistributionReport, reports.Table, error) {
		return distributionReport(ctx, a.distributionInput(), unit, period)
	})
}

// distributionReport computes the distribution report from in, with the
// domain's error kinds.
func distributionReport(ctx context.Context, in reports.DistributionInput, unit, period string) (reports.DistributionReport, reports.Table, error) {
	rep, err := reports.Distribution(ctx, in, unit, period)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return rep, reports.Table{}, notFound(err)
	case err != nil:
		return rep, reports.Table{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "period", Message: err.Error()}}}
	}
	return rep, rep.Table(), nil
}

// ObjectionQuery filters the objection register.
type ObjectionQuery struct {
	// Unit limits it to a unit's subtree ("" for all).
	Unit string
	// Status is OPEN, DECIDED or WITHDRAWN ("" for any).
	Status string
	// Overdue keeps the overdue ones (true) or the others (false); nil
	// for either.
	Overdue *bool
}

// ObjectionsReport is the objection report of the API's
// /v1/reports/objections, for a caller who may read reports.
func (a *App) ObjectionsReport(ctx context.Context, caller domain.Principal, q ObjectionQuery) (Report[reports.ObjectionRegister], error) {
	if err := allow(caller, authz.ReadReports); err != nil {
		return Report[reports.ObjectionRegister]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &q.Unit); err != nil {
		return Report[reports.ObjectionRegister]{}, err
	}
	return a.objectionRegister(ctx, q)
}

// ObjectionRegister is the objection register with deadlines and
// outcomes (the dashboard's register and its export), for a caller who
// may read the register (grievance clerks too).
func (a *App) ObjectionRegister(ctx context.Context, caller domain.Principal, q ObjectionQuery) (Report[reports.ObjectionRegister], error) {
	if err := allow(caller, authz.ReadObjectionRegister); err != nil {
		return Report[reports.ObjectionRegister]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &q.Unit); err != nil {
		return Report[reports.ObjectionRegister]{}, err
	}
	return a.objectionRegister(ctx, q)
}

func (a *App) objectionRegister(ctx context.Context, q ObjectionQuery) (Report[reports.ObjectionRegister], error) {
	if a.cfg.Objections == nil {
		return Report[reports.ObjectionRegister]{}, &domain.NotFoundError{Kind: "report", ID: "objections"}
	}
	at := a.checkpoints(ctx, directory.Name, objections.Name)
	// Never kept: overdue depends on the clock.
	rep, err := reports.Objections(ctx, a.cfg.Directory, a.cfg.Objections, q.Unit, q.Status, q.Overdue, a.cfg.Now())
	if err != nil {
		return Report[reports.ObjectionRegister]{}, notFound(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return Report[reports.ObjectionRegister]{}, fmt.Errorf("app: encode report: %w", err)
	}
	return Report[reports.ObjectionRegister]{Data: rep, Table: rep.Table(), JSON: b, Position: minimum(at)}, nil
}
