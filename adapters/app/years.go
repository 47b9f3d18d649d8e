package app

import (
	"context"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// latestYearLookback bounds how many years before this one LatestYear
// looks for SKPs.
const latestYearLookback = 10

// LatestYear returns the latest year, at most next year, with an SKP the
// caller may list (any SKP for the roles that see them all, else the
// caller's own and those they appraise), looking back at most ten years;
// this year when there is none. The pages that show a year default to it,
// so that an agency whose last complete year is behind the calendar opens
// on its data, not on an empty year.
func (a *App) LatestYear(ctx context.Context, caller domain.Principal) (int, error) {
	cur := a.Today().Year()
	for y := min(cur+1, skp.MaxYear); y >= max(cur-latestYearLookback, skp.MinYear); y-- {
		list, _, err := a.ListSKPs(ctx, caller, skps.Query{Year: y, Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(list) > 0 {
			return y, nil
		}
	}
	return cur, nil
}
