package page

import (
	"fmt"
	"net/url"
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

// YearUnit reads a report page's ?year= (def when absent; a bad one is a
// *ParamError, as YearParam) and ?unit=, as the strings the application
// layer's reports take.
func YearUnit(r *Request, def int) (year, unit string, err error) {
	y, err := YearParam(r)
	if err != nil {
		return "", "", err
	}
	if y == 0 {
		y = def
	}
	return strconv.Itoa(y), r.URL.Query().Get("unit"), nil
}

// ExportURL is the link to a report's export at path in format, for year
// and (when set) unit.
func ExportURL(path, format, year, unit string) string {
	q := url.Values{"format": {format}, "year": {year}}
	if unit != "" {
		q.Set("unit", unit)
	}
	return path + "?" + q.Encode()
}
