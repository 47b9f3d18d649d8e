package app

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
	"github.com/kinerja-ledger/kinerja/projections/development"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// The consequences register and the calibration view (issue 14) are
// computed from the event store itself, not from a read model: the units',
// employees' and SKPs' streams in the store's order, folded by the pure
// projections (consequences.Fold, calibration.Collector). So they are the
// same on every backend (bbolt, PostgreSQL, KurrentDB), and every figure
// names the stored events it comes from. The fold is kept in memory and
// advanced with the events after the last one it read when the store's
// head has moved (the first report reads the whole store once); the
// reports made from it are kept in the report cache at that head.

// viewsCache is the fold of the store behind both views.
type viewsCache struct {
	mu     sync.Mutex
	ready  bool
	head   eventstore.Position // the store's head the fold has reached
	last   eventstore.Position // the last event read (the next read's After)
	fold   projections.Fold[*consequences.State]
	tables *consequences.TableSet // the tables adopted for each year
	states map[string]*consequences.State
	pubs   []consequences.Publication
	cal    *calibration.Collector
	dev    map[string]*development.State // the development report's fold, by SKP stream
}

// withViews advances the fold to the store's head and runs f on it, under
// the fold's lock (f must not keep what it reads past its return).
func (a *App) withViews(ctx context.Context, f func(v *viewsCache) error) error {
	if a.cfg.Store == nil {
		return &domain.NotFoundError{Kind: "report", ID: "consequences"}
	}
	v := &a.views
	v.mu.Lock()
	defer v.mu.Unlock()
	head, err := a.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	if !v.ready {
		// The tables the ledger adopted for each year (every adoption,
		// whatever its position: consequences.Adopt); where it adopted none
		// yet, the configured ones.
		set, err := consequences.LoadTableSet(ctx, a.cfg.Store)
		if err != nil {
			return err
		}
		if len(set.Adoptions()) == 0 {
			tables := a.cfg.ConsequenceTables
			if tables.Version == "" {
				tables = consequences.DefaultTables()
			}
			set = consequences.Fixed(tables)
		}
		v.tables = set
		v.fold, v.states, v.cal, v.ready = consequences.FoldSet(set), map[string]*consequences.State{}, calibration.NewCollector(), true
		v.dev = map[string]*development.State{}
	}
	if head != v.head {
		filter := calibration.Filter()
		filter.StreamPrefixes = append(slices.Clone(filter.StreamPrefixes), domain.ConsequenceTablesStream)
		for ev, err := range a.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{After: v.last, Filter: filter}) {
			if err != nil {
				return err
			}
			if ev.Position > head {
				break
			}
			v.last = ev.Position
			pe, err := projections.Decode(ev)
			if err != nil {
				// An event that does not decode is left out here (the
				// projections report it as poison; /readyz names it).
				continue
			}
			if ev.Stream == domain.ConsequenceTablesStream {
				// An adoption after the fold started (another process).
				if err := v.tables.Apply(pe); err != nil {
					return err
				}
				continue
			}
			v.cal.Add(pe)
			if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
				st := v.fold(v.states[ev.Stream], pe)
				v.states[ev.Stream] = st
				v.pubs = append(v.pubs, st.Published()...)
				if d := devFold(v.dev[ev.Stream], pe); d != nil {
					v.dev[ev.Stream] = d
				}
			}
		}
		v.head = head
	}
	return f(v)
}

// yearOf checks an annual period.
func yearOf(field, p string) error {
	per, err := period.Parse(p)
	if err != nil || !per.IsAnnual() {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Message: "must be a year, such as 2025"}}}
	}
	return nil
}

// unitScope decides action for a caller over unit ("" for the agency):
// the unit's head on today sees its subtree; the roles of the action see any.
// An unknown unit is not found.
func unitScope(v *viewsCache, caller domain.Principal, action authz.Action, unit string, today calendar.Date) (func(string) bool, error) {
	if unit == "" {
		if _, err := authz.Decide(caller, action, authz.Subject{}, authz.Options{}); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if !v.cal.HasUnit(unit) {
		return nil, &domain.NotFoundError{Kind: "unit", ID: unit}
	}
	if _, err := authz.Decide(caller, action, authz.Subject{UnitLeader: v.cal.HeadOf(unit, today)}, authz.Options{}); err != nil {
		return nil, err
	}
	return func(u string) bool { return v.cal.InSubtree(u, unit) }, nil
}

// Consequences is the register of the consequences of the final annual
// evaluations of year (originals, corrections, the current ones, the
// recognition list), of unit's subtree ("" for the agency), for a caller
// who may read consequences. Errors: a *ValidationError naming year, a
// refusal (403), not found for an unknown unit.
func (a *App) Consequences(ctx context.Context, caller domain.Principal, year, unit string) (Report[consequences.Register], error) {
	if err := yearOf("year", year); err != nil {
		return Report[consequences.Register]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[consequences.Register]{}, err
	}
	var rep Report[consequences.Register]
	err := a.withViews(ctx, func(v *viewsCache) error {
		in, err := unitScope(v, caller, authz.ReadConsequences, unit, a.Today())
		if err != nil {
			return err
		}
		rep, err = cached(&a.reports, "consequences\x00"+year+"\x00"+unit, []eventstore.Position{v.head}, func() (consequences.Register, reports.Table, error) {
			var keep func(consequences.Publication) bool
			if in != nil {
				keep = func(p consequences.Publication) bool { return in(p.UnitID) }
			}
			r := consequences.BuildRegister(v.pubs, year, unit, keep)
			return r, r.Table(), nil
		})
		return err
	})
	return rep, err
}

// Calibration is the calibration view of the appraisers for year, of
// unit's subtree ("" for the agency; the statistics are always the
// agency's), for a caller who may read it. Errors as for Consequences.
func (a *App) Calibration(ctx context.Context, caller domain.Principal, year, unit string) (Report[calibration.Report], error) {
	if err := yearOf("year", year); err != nil {
		return Report[calibration.Report]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[calibration.Report]{}, err
	}
	var rep Report[calibration.Report]
	err := a.withViews(ctx, func(v *viewsCache) error {
		in, err := unitScope(v, caller, authz.ReadCalibration, unit, a.Today())
		if err != nil {
			return err
		}
		rep, err = cached(&a.reports, "calibration\x00"+year+"\x00"+unit, []eventstore.Position{v.head}, func() (calibration.Report, reports.Table, error) {
			r := v.cal.Report(year, calibration.Options{})
			if in != nil {
				r = r.Restrict(in)
			}
			if r.Appraisers == nil {
				r.Appraisers = []calibration.Appraiser{}
			}
			return r, r.Table(), nil
		})
		return err
	})
	return rep, err
}
