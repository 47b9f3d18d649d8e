package app

import (
	"context"
	"maps"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/development"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// devFold is the development report's fold, advanced with the other views
// (withViews).
var devFold = development.Fold()

// Development is the development report of year (issue 14) of unit's
// subtree ("" for the agency) as of today in the agency's zone: the
// overdue development actions and the most frequent competency gaps, for
// a caller who may read it (authz.ReadDevelopment). Like the consequences
// register it is a fold of the store, the same on every backend. Errors:
// a *ValidationError naming year, a refusal (403), not found for an
// unknown unit.
func (a *App) Development(ctx context.Context, caller domain.Principal, year, unit string) (Report[development.Report], error) {
	if err := yearOf("year", year); err != nil {
		return Report[development.Report]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[development.Report]{}, err
	}
	today := a.Today()
	var rep Report[development.Report]
	err := a.withViews(ctx, func(v *viewsCache) error {
		in, err := unitScope(v, caller, authz.ReadDevelopment, unit, today)
		if err != nil {
			return err
		}
		// What is overdue changes at midnight without a new event: the day
		// (as YYYYMMDD) is a second checkpoint, so the entry is replaced the
		// next day rather than kept beside the old one.
		day := eventstore.Position(today.Year()*10000 + int(today.Month())*100 + today.Day())
		rep, err = cached(&a.reports, "development\x00"+year+"\x00"+unit, []eventstore.Position{v.head, day}, func() (development.Report, reports.Table, error) {
			r := development.Build(maps.Values(v.dev), year, unit, today, in)
			return r, r.Table(), nil
		})
		return err
	})
	return rep, err
}
