package app

import (
	"context"
	"slices"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// SearchEmployees returns a page of the employees matching q (and, when
// unit is not "", in unit's subtree) with the next page's cursor, for a
// caller who may list employees. Errors: a refusal of authz (403), not
// found for an unknown unit or a directory that cannot search.
func (a *App) SearchEmployees(ctx context.Context, caller domain.Principal, q directory.SearchQuery, unit string) ([]directory.Employee, string, error) {
	if err := allow(caller, authz.ListEmployees); err != nil {
		return nil, "", err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
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

// NoSKP is the SKPFilter status of the employees without an SKP of the
// year that is not cancelled.
const NoSKP = "NONE"

// SKPFilter selects employees by their SKPs of a year: those with an SKP
// of the year in Status (an skp.Status), or, for NoSKP, those without an
// SKP of the year that is not cancelled (as the progress report counts
// them missing). The zero filter selects everybody.
type SKPFilter struct {
	Year   int
	Status string
}

// SearchEmployeesBySKP is SearchEmployees keeping only the employees that
// pass f (the read models filter by the NIPs the SKP list gives).
func (a *App) SearchEmployeesBySKP(ctx context.Context, caller domain.Principal, q directory.SearchQuery, unit string, f SKPFilter) ([]directory.Employee, string, error) {
	if err := allow(caller, authz.ListEmployees); err != nil {
		return nil, "", err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return nil, "", err
	}
	if f.Status != "" {
		sq := skps.Query{Year: f.Year, Limit: skps.MaxLimit}
		if f.Status != NoSKP {
			sq.Status = f.Status
		}
		nips := []string{}
		for {
			list, next, err := a.cfg.SKPList.List(ctx, sq)
			if err != nil {
				return nil, "", err
			}
			for _, s := range list {
				if f.Status != NoSKP || s.Status != string(skp.StatusCancelled) {
					nips = append(nips, s.NIP)
				}
			}
			if next == "" {
				break
			}
			sq.Cursor = next
		}
		slices.Sort(nips)
		nips = slices.Compact(nips)
		if f.Status == NoSKP {
			q.NotNIPs = nips
		} else {
			q.NIPs = nips
		}
	}
	return a.SearchEmployees(ctx, caller, q, unit)
}
