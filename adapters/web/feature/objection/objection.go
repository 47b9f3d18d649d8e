// Package objection is the dashboard's objections: the register of
// objections to performance evaluations (filing window, decision due
// date, the overdue ones, outcomes) and its CSV and Excel export, for
// grievance clerks, the HR roles and auditors; and the forms of one
// objection (forms.go): the employee's filing within the window with the
// days left (a grievance clerk's paper filing with its date), the
// superior's requests for explanations and the parties' answers, the
// employee's withdrawal, a delegation of the decision to a Plt/Plh or an
// escalation of a stuck one (decider.go), and the superior's decision page with both
// explanations, the SKP as recorded at the filing and the score history
// side by side.
package objection

import (
	"cmp"
	"embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

//go:embed *.html
var files embed.FS

// Feature is the objection pages.
type Feature struct {
	site      *page.Site
	register  *page.Template[*registerData]
	objection *page.Template[*objectionPage]
	file      *page.Template[*formPage]
	request   *page.Template[*formPage]
	explain   *page.Template[*formPage]
	withdraw  *page.Template[*formPage]
	decide    *page.Template[*decidePage]
	decider   *page.Template[*formPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, register: page.MustParse[*registerData](site, files, "objections.html", messages),
		objection: page.MustParse[*objectionPage](site, files, "objection.html", messages),
		file:      page.MustParse[*formPage](site, files, "file.html", messages),
		request:   page.MustParse[*formPage](site, files, "request.html", messages),
		explain:   page.MustParse[*formPage](site, files, "explain.html", messages),
		withdraw:  page.MustParse[*formPage](site, files, "withdraw.html", messages),
		decide:    page.MustParse[*decidePage](site, files, "decide.html", messages),
		decider:   page.MustParse[*formPage](site, files, "decider.html", messages)}
}

// Routes registers the register and its export, and the pages of one
// objection.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /keberatan", f.showRegister)
	r.Page("GET /ekspor/keberatan", f.export)
	r.Page("GET "+ObjectionPath, f.showObjection)
	r.Page("GET "+FilePath, f.showFile)
	r.Page("POST "+FilePath, f.postFile)
	r.Page("GET "+RequestPath, f.showRequest)
	r.Page("POST "+RequestPath, f.postRequest)
	r.Page("GET "+ExplainPath, f.showExplain)
	r.Page("POST "+ExplainPath, f.postExplain)
	r.Page("GET "+WithdrawPath, f.showWithdraw)
	r.Page("POST "+WithdrawPath, f.postWithdraw)
	r.Page("GET "+DecidePath, f.showDecide)
	r.Page("POST "+DecidePath, f.postDecide)
	r.Page("GET "+DeciderPath, f.showDecider)
	r.Page("POST "+DeciderPath, f.postDecider)
}

// regFilter is the objection register's filter form.
type regFilter struct {
	Unit    string
	Status  string
	Overdue string // "", "true" or "false"
	overdue *bool
}

// registerFilter reads ?unit=, ?status= and ?overdue=.
func registerFilter(r *page.Request) (regFilter, error) {
	q := r.URL.Query()
	f := regFilter{Unit: q.Get("unit"), Status: q.Get("status"), Overdue: q.Get("overdue")}
	switch f.Status {
	case "", "OPEN", "DECIDED", "WITHDRAWN":
	default:
		return f, page.BadParam("error.objstatus", f.Status)
	}
	if f.Overdue != "" {
		b, err := strconv.ParseBool(f.Overdue)
		if err != nil {
			return f, page.BadParam("error.overdue", f.Overdue)
		}
		f.overdue = &b
		f.Overdue = strconv.FormatBool(b)
	}
	return f, nil
}

func (f regFilter) query() app.ObjectionQuery {
	return app.ObjectionQuery{Unit: f.Unit, Status: f.Status, Overdue: f.overdue}
}

// registerList is the register's table: 50 objections a page, in filing
// order unless a column header sorts it (issue 13).
var registerList = page.ListSpec{Name: "register", Size: 50,
	Sorts: []string{"filed", "name", "period", "due", "status"}}

// registerOrder compares objections by each column of registerList; ties
// fall back to the filing order (then the objection ID), so that every
// objection is on exactly one page whatever the sort.
var registerOrder = map[string]func(a, b reports.ObjectionItem) int{
	"filed": byFiling,
	"name": func(a, b reports.ObjectionItem) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), byFiling(a, b))
	},
	"period": func(a, b reports.ObjectionItem) int {
		return cmp.Or(strings.Compare(a.Period, b.Period), byFiling(a, b))
	},
	"due": func(a, b reports.ObjectionItem) int {
		return cmp.Or(a.DecisionDue.Compare(b.DecisionDue), byFiling(a, b))
	},
	"status": func(a, b reports.ObjectionItem) int {
		return cmp.Or(strings.Compare(a.Status, b.Status), byFiling(a, b))
	},
}

func byFiling(a, b reports.ObjectionItem) int {
	return cmp.Or(a.FiledAt.Compare(b.FiledAt), strings.Compare(a.ID, b.ID))
}

// registerData is the objection register's model.
type registerData struct {
	page.Base
	Filter regFilter
	// Picker is the filter's unit field (page.UnitPicker: never the
	// whole tree).
	Picker   page.UnitPicker
	Register reports.ObjectionRegister
	// Rows are the objections of the page shown; RegNav its navigation.
	Rows   []reports.ObjectionItem
	RegNav page.ListNav
	// Zones are the units' own zones by unit ID: each row's times show
	// in its unit's zone (issue 13).
	Zones      map[string]string
	Overdue    int
	Position   int64
	ExportCSV  string
	ExportXLSX string
}

// showRegister lists objections with their filing window, decision due
// date, overdue ones highlighted, and outcomes; paginated and sortable by
// its column headers (registerList), the counts over the whole filter.
func (f *Feature) showRegister(w http.ResponseWriter, r *page.Request) error {
	if err := r.App().Authorize(r.User, authz.ReadObjectionRegister); err != nil {
		return err
	}
	ctx := r.Context()
	flt, err := registerFilter(r)
	if err != nil {
		return err
	}
	d := &registerData{Base: r.Base("objections", "objections.title"), Filter: flt}
	units, err := r.App().Units(ctx, r.User)
	if err != nil {
		return err
	}
	d.Picker = page.NewUnitPicker(r.Lang, "unit", flt.Unit, units, "")
	d.Picker.ID = "f-unit"
	if d.Picker.Error != "" {
		// No unit of the caller's agency has this ID: 404, with the
		// problem beside the field and the units matching what was
		// typed, listing no objection.
		return f.register.Render(w, http.StatusNotFound, d)
	}
	d.Zones = map[string]string{}
	for _, u := range units {
		if u.Zone != "" {
			d.Zones[u.ID] = u.Zone
		}
		if u.ID == flt.Unit {
			d.InZone(u.Zone) // a unit's register: the page in its zone
		}
	}
	reg, err := r.App().ObjectionRegister(ctx, r.User, flt.query())
	if err != nil {
		return err
	}
	d.Register = reg.Data
	for _, o := range d.Register.Items {
		if o.Overdue {
			d.Overdue++
		}
	}
	if d.Rows, d.RegNav, err = page.Paginate(r, registerList, d.Register.Items, registerOrder, flt.Unit, flt.Status, flt.Overdue); err != nil {
		return err
	}
	d.Position = f.site.Position(ctx, objections.Name)
	d.ExportCSV = page.Link("/ekspor/keberatan", "unit", flt.Unit, "status", flt.Status, "overdue", flt.Overdue, "format", "csv")
	d.ExportXLSX = page.Link("/ekspor/keberatan", "unit", flt.Unit, "status", flt.Status, "overdue", flt.Overdue, "format", "xlsx")
	return f.register.Render(w, http.StatusOK, d)
}

// export serves the register as CSV or Excel.
func (f *Feature) export(w http.ResponseWriter, r *page.Request) error {
	format, err := r.ExportFormat()
	if err != nil {
		return err
	}
	if err := r.App().Authorize(r.User, authz.ReadObjectionRegister); err != nil {
		return err
	}
	flt, err := registerFilter(r)
	if err != nil {
		return err
	}
	reg, err := r.App().ObjectionRegister(r.Context(), r.User, flt.query())
	if err != nil {
		return err
	}
	// One zone per file (a time column's header names it): the unit's
	// when the register is a unit's, else the agency's.
	zone := ""
	if flt.Unit != "" {
		zone = f.site.UnitZone(r.Context(), flt.Unit)
	}
	return page.WriteTableIn(w, r, format, tabular.FileName("objections", flt.Unit, flt.Status), reg.Table, zone)
}
