package app

import (
	"context"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// SearchEmployees returns a page of the employees matching q (and, when
// unit is not "", in unit's subtree) with the next page's cursor, for a
// caller who may list employees. Errors: a refusal of authz (403), not
// found for an unknown unit or a directory that cannot search.
func (a *App) SearchEmployees(ctx context.Context, caller domain.Principal, q directory.SearchQuery, unit string) ([]directory.Employee, string, error) {
	if err := allow(caller, authz.ListEmployees); err != nil {
		return nil, "", err
	}
	s, ok := a.cfg.Directory.(directory.Searcher)
	if !ok {
		return nil, "", &domain.NotFoundError{Kind: "route", ID: "employee search"}
	}
	if unit != "" {
		units, err := a.cfg.Directory.Subtree(ctx, unit)
		if err != nil {
			return nil, "", err
		}
		q.Units = units
	}
	return s.Search(ctx, q)
}
