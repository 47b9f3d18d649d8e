package page

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// YearParam reads ?year= (0 when absent). A year that is not a number in
// the SKP's bounds is a *ParamError.
func YearParam(r *Request) (int, error) {
	y := r.URL.Query().Get("year")
	if y == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(y)
	if err != nil || n < skp.MinYear || n > skp.MaxYear {
		return 0, BadParam("error.year", fmt.Sprintf("%d–%d", skp.MinYear, skp.MaxYear))
	}
	return n, nil
}

// YearOptions are the years a year switch offers: from three years before
// this one to the next, and the year shown.
func YearOptions(current, shown int) []int {
	var out []int
	for y := current - 3; y <= current+1; y++ {
		if y >= skp.MinYear && y <= skp.MaxYear {
			out = append(out, y)
		}
	}
	if !slices.Contains(out, shown) {
		out = append(out, shown)
		slices.Sort(out)
	}
	slices.Reverse(out)
	return out
}
