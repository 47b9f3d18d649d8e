package app

import (
	"context"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// The consequences register and the calibration view (issue 14) are
// computed from the event store itself, not from a read model: one read
// of the units', employees' and SKPs' streams in the store's order, folded
// by the pure projections (consequences.Fold, calibration.Collector). So
// they are the same on every backend (bbolt, PostgreSQL, KurrentDB), and
// every figure names the stored events it comes from. The fold is kept
// while the store's head stands still (a new event anywhere folds again);
// the reports made from it are kept in the report cache at that head.

// ledgerViews is one fold of the store.
type ledgerViews struct {
	head eventstore.Position
	pubs []consequences.Publication
	cal  *calibration.Collector
}

// viewsCache keeps the last fold.
type viewsCache struct {
	mu   sync.Mutex
	last *ledgerViews
}

func (a *App) ledgerViews(ctx context.Context) (*ledgerViews, error) {
	if a.cfg.Store == nil {
		return nil, &domain.NotFoundError{Kind: "report", ID: "consequences"}
	}
	vc := &a.views
	vc.mu.Lock()
	defer vc.mu.Unlock()
	head, err := a.cfg.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	if vc.last != nil && vc.last.head == head {
		return vc.last, nil
	}
	tables := a.cfg.ConsequenceTables
	if tables.Version == "" {
		tables = consequences.DefaultTables()
	}
	fold := consequences.Fold(tables)
	states := map[string]*consequences.State{}
	v := &ledgerViews{head: head, cal: calibration.NewCollector()}
	filter := calibration.Filter()
	for ev, err := range a.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{Filter: filter}) {
		if err != nil {
			return nil, err
		}
		if ev.Position > head {
			break
		}
		pe, err := projections.Decode(ev)
		if err != nil {
			// An event that does not decode is skipped here (the
			// projections report it as poison; /readyz names it).
			continue
		}
		v.cal.Add(pe)
		if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
			st := fold(states[ev.Stream], pe)
			states[ev.Stream] = st
			v.pubs = append(v.pubs, st.Published()...)
		}
	}
	vc.last = v
	return v, nil
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
// the unit's leader sees its subtree; the roles of the action see any.
// An unknown unit is not found.
func unitScope(v *ledgerViews, caller domain.Principal, action authz.Action, unit string) (func(string) bool, error) {
	if unit == "" {
		if _, err := authz.Decide(caller, action, authz.Subject{}, authz.Options{}); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if !v.cal.HasUnit(unit) {
		return nil, &domain.NotFoundError{Kind: "unit", ID: unit}
	}
	if _, err := authz.Decide(caller, action, authz.Subject{UnitLeader: v.cal.HeadOf(unit)}, authz.Options{}); err != nil {
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
	v, err := a.ledgerViews(ctx)
	if err != nil {
		return Report[consequences.Register]{}, err
	}
	in, err := unitScope(v, caller, authz.ReadConsequences, unit)
	if err != nil {
		return Report[consequences.Register]{}, err
	}
	return cached(&a.reports, "consequences\x00"+year+"\x00"+unit, []eventstore.Position{v.head}, func() (consequences.Register, reports.Table, error) {
		var keep func(consequences.Publication) bool
		if in != nil {
			keep = func(p consequences.Publication) bool { return in(p.UnitID) }
		}
		r := consequences.BuildRegister(v.pubs, year, unit, keep)
		return r, r.Table(), nil
	})
}

// Calibration is the calibration view of the appraisers for year, of
// unit's subtree ("" for the agency; the statistics are always the
// agency's), for a caller who may read it. Errors as for Consequences.
func (a *App) Calibration(ctx context.Context, caller domain.Principal, year, unit string) (Report[calibration.Report], error) {
	if err := yearOf("year", year); err != nil {
		return Report[calibration.Report]{}, err
	}
	v, err := a.ledgerViews(ctx)
	if err != nil {
		return Report[calibration.Report]{}, err
	}
	in, err := unitScope(v, caller, authz.ReadCalibration, unit)
	if err != nil {
		return Report[calibration.Report]{}, err
	}
	return cached(&a.reports, "calibration\x00"+year+"\x00"+unit, []eventstore.Position{v.head}, func() (calibration.Report, reports.Table, error) {
		r := v.cal.Report(year, calibration.Options{})
		if in != nil {
			r = r.Restrict(in)
		}
		if r.Appraisers == nil {
			r.Appraisers = []calibration.Appraiser{}
		}
		return r, r.Table(), nil
	})
}
