// Package people is the dashboard's employee search ("Cari pegawai",
// /pegawai): a GET form (name, NIP prefix, unit with its sub-units,
// position kind, SKP status of a year) and a results table with a "more" link by cursor. It
// works without JavaScript. The search is the directory read model's
// (directory.Searcher) through the application layer
// (app.SearchEmployees), which lets the HR and audit roles use it
// (authz.ListEmployees).
package people

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

//go:embed *.html
var files embed.FS

// Path is the search page's address.
const Path = "/pegawai"

// pageSize is the number of employees a page shows.
const pageSize = 50

// Feature is the employee search.
type Feature struct {
	site   *page.Site
	search *page.Template[*Search]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, search: page.MustParse[*Search](site, files, "people.html", messages)}
}

// Routes registers the search page.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET "+Path, f.show)
}

// Filter is the search form as typed.
type Filter struct {
	Q, NIP, Unit, Kind string
	Prefix             bool
	// SKPStatus keeps the employees with an SKP of Year in this status
	// (app.NoSKP: without one).
	SKPStatus string
	Year      int
}

// maxUnitOptions bounds the unit filter's select: a province's 10,449
// units made a 730 KB page of options (the page budget is 300 KB); past
// this many the filter is a text field for the unit's ID (the same
// parameter).
const maxUnitOptions = 500

// keptUnits are the unit filter's choices and the names of the units a
// caller reaches, kept while the directory's version stands: at a
// province the list of 10,449 units, read, named and sorted on every
// view, was most of the page's CPU.
type keptUnits struct {
	at      int64
	options []Option // nil past maxUnitOptions (input)
	input   bool
	names   map[string]string // by unit ID; shared by the views: read only
}

// units returns the caller's keptUnits.
func (f *Feature) units(r *page.Request) (*keptUnits, error) {
	ctx := r.Context()
	at := f.site.Version(ctx, directory.Name)
	reach := app.ReachOf(r.User)
	key := ""
	if at >= 0 {
		key = "people-units\x00" + strconv.FormatBool(reach.All) + "\x00" + reach.Agency
		if v, ok := f.site.Kept().Get(key); ok {
			if k, ok := v.(*keptUnits); ok && k.at == at {
				return k, nil
			}
		}
	}
	units, err := r.App().Units(ctx, r.User)
	if err != nil {
		return nil, err
	}
	k := &keptUnits{at: at, names: make(map[string]string, len(units))}
	size := int64(0)
	for _, u := range units {
		k.options = append(k.options, Option{u.ID, u.Name})
		k.names[u.ID] = u.Name
		size += int64(len(u.ID)+len(u.Name)) + 64
	}
	slices.SortFunc(k.options, func(a, b Option) int { return strings.Compare(a.Label, b.Label) })
	if len(k.options) > maxUnitOptions {
		k.options, k.input = nil, true
	}
	if key != "" {
		f.site.Kept().Put(key, k, size)
	}
	return k, nil
}

// Option is a choice of a select.
type Option struct{ Value, Label string }

// Search is the page's model.
type Search struct {
	page.Base
	Filter Filter
	// Searched says whether the form was sent (the page then shows the
	// results, or that there are none).
	Searched bool
	// Units are the unit filter's choices; none when the caller sees more
	// than maxUnitOptions units (UnitInput: the filter is a text field for
	// the unit's ID instead).
	Units     []Option
	UnitInput bool
	Kinds     []Option
	// Statuses are the SKP statuses the filter offers; Years the years.
	Statuses []Option
	Years    []int
	Results  []directory.Employee
	// UnitNames names the units of the results, by ID.
	UnitNames map[string]string
	// MoreURL is the next page's address ("" at the end).
	MoreURL string
	// Continued says whether this page follows an earlier one.
	Continued bool
	// Links says whether the names link to the master-data page of the
	// employee (for those who manage master data).
	Links bool
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	ctx := r.Context()
	// Refused before anything is read: the form itself is for those who
	// may search.
	if err := r.App().Authorize(r.User, authz.ListEmployees); err != nil {
		return err
	}
	q := r.URL.Query()
	flt := Filter{Q: strings.TrimSpace(q.Get("q")), NIP: strings.ReplaceAll(q.Get("nip"), " ", ""), Unit: q.Get("unit"),
		Kind: q.Get("kind"), Prefix: q.Get("match") == "prefix"}
	d := &Search{Base: r.Base("people", "people.title"), Filter: flt, UnitNames: map[string]string{}}
	flt.SKPStatus = q.Get("skp_status")
	year, err := page.YearParam(r)
	if err != nil {
		return err
	}
	if year == 0 {
		if year, err = r.App().LatestYear(ctx, r.User); err != nil {
			return err
		}
	}
	flt.Year = year
	d.Filter = flt
	d.Years = page.YearOptions(r.App().Today().Year(), year)
	d.Searched = flt.Q != "" || flt.NIP != "" || flt.Unit != "" || flt.Kind != "" || flt.SKPStatus != "" || q.Get("cari") != "" || q.Get("cursor") != ""
	for _, s := range []string{flt.Q, flt.Unit, q.Get("cursor")} {
		if len(s) > 200 {
			return page.BadParam("error.search", s[:20]+"…")
		}
		if msg := domain.TextProblem(s); msg != "" {
			return page.BadParam("error.search", msg)
		}
	}
	if len(flt.NIP) > 18 || strings.Trim(flt.NIP, "0123456789") != "" {
		return page.BadParam("error.search", flt.NIP)
	}
	for _, k := range employee.PositionKinds() {
		d.Kinds = append(d.Kinds, Option{string(k), d.L("poskind", k)})
	}
	if flt.Kind != "" && !slices.ContainsFunc(d.Kinds, func(o Option) bool { return o.Value == flt.Kind }) {
		return page.BadParam("error.search", flt.Kind)
	}
	for _, st := range reports.Statuses() {
		d.Statuses = append(d.Statuses, Option{st, d.L("status", st)})
	}
	d.Statuses = append(d.Statuses, Option{app.NoSKP, ""}) // labelled in the template (people.skp.none)
	if flt.SKPStatus != "" && !slices.ContainsFunc(d.Statuses, func(o Option) bool { return o.Value == flt.SKPStatus }) {
		return page.BadParam("error.search", flt.SKPStatus)
	}
	units, err := f.units(r)
	if err != nil {
		return err
	}
	d.Units, d.UnitInput, d.UnitNames = units.options, units.input, units.names
	if !d.Searched {
		return f.search.Render(w, http.StatusOK, d)
	}
	// The cursor is sealed for the caller and the filters (page.SealCursor),
	// as the API's: an edited one, or one of another search, is refused.
	scope := []string{r.User.ID, flt.Q, flt.NIP, flt.Unit, flt.Kind, q.Get("match"), flt.SKPStatus, strconv.Itoa(flt.Year)}
	inner, err := page.OpenCursor(q.Get("cursor"), scope...)
	if err != nil {
		return err
	}
	sq := directory.SearchQuery{Name: flt.Q, NamePrefix: flt.Prefix, NIPPrefix: flt.NIP, Kind: flt.Kind, Limit: pageSize, Cursor: inner}
	d.Continued = sq.Cursor != ""
	d.Links = r.Can(authz.ManageMasterData)
	sf := app.SKPFilter{}
	if flt.SKPStatus != "" {
		sf = app.SKPFilter{Status: flt.SKPStatus, Year: flt.Year}
	}
	items, next, err := r.App().SearchEmployeesBySKP(ctx, r.User, sq, flt.Unit, sf)
	if errors.Is(err, directory.ErrBadCursor) {
		return page.BadParam("error.search", sq.Cursor)
	}
	if err != nil {
		return err
	}
	d.Results = items
	if next != "" {
		more := url.Values{"cari": {"1"}, "cursor": {page.SealCursor(next, scope...)}}
		for k, v := range map[string]string{"q": flt.Q, "nip": flt.NIP, "unit": flt.Unit, "kind": flt.Kind, "skp_status": flt.SKPStatus, "year": strconv.Itoa(flt.Year)} {
			if v != "" {
				more.Set(k, v)
			}
		}
		if m := q.Get("match"); m != "" {
			more.Set("match", m)
		}
		if d.Lang != "" {
			more.Set("lang", d.Lang)
		}
		d.MoreURL = Path + "?" + more.Encode()
	}
	return f.search.Render(w, http.StatusOK, d)
}
