// Package devreport is the dashboard's development report of a unit
// (issue 14), "Laporan pengembangan kompetensi" (/pengembangan-unit): the
// development actions that are overdue (due date passed in the agency's
// zone, no outcome) with the employee, the action, the due date and the
// days overdue; and the competency gaps that occur most often, with count
// and share, as input for the BKD's training plan; the CSV and Excel
// exports. The report is the application layer's (app.Development), for
// the roles of authz.ReadDevelopment. Beside them, the improvement plans
// due and open of the same subtree (app.ImprovementPlans: not year-bound,
// from the deadline process manager), paged, with their own exports
// (/pengembangan-unit/rencana-perbaikan/ekspor).
package devreport

import (
	"cmp"
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/projections/development"
)

//go:embed *.html
var files embed.FS

// Feature is the development report page.
type Feature struct {
	site *page.Site
	list *page.Template[*listData]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, list: page.MustParse[*listData](site, files, "devreport.html", messages)}
}

// Routes registers the page and its export.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /pengembangan-unit", f.show)
	r.Page("GET /pengembangan-unit/ekspor", f.export)
	r.Page("GET /pengembangan-unit/rencana-perbaikan/ekspor", f.exportPlans)
}

// planList pages the improvement plans; the report's order (unit, due
// date, SKP, period) stays the tie-break.
var (
	planList  = page.ListSpec{Name: "plan", Size: 50, Sorts: []string{"due", "unit", "name"}}
	planOrder = map[string]func(a, b app.ImprovementPlanRow) int{
		"due":  func(a, b app.ImprovementPlanRow) int { return a.Due.Compare(b.Due) },
		"unit": func(a, b app.ImprovementPlanRow) int { return strings.Compare(a.UnitID, b.UnitID) },
		"name": func(a, b app.ImprovementPlanRow) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.NIP, b.NIP))
		},
	}
)

// plans returns the improvement-plan report of unit, or nil when the
// deadline process manager does not run here.
func plans(r *page.Request, unit string) (*app.ImprovementPlanReport, error) {
	rep, err := r.App().ImprovementPlans(r.Context(), r.User, unit)
	var nf *domain.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "report" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rep.Data, nil
}

// listData is the page's model.
type listData struct {
	page.Base
	Year                 string
	Unit                 string
	Years                []int
	Report               development.Report
	ExportCSV, ExportXLS string
	// Plans is the improvement-plan report of the unit's subtree (nil
	// where the process manager does not run); PlanPage and PlanNav the
	// page of its plans shown.
	Plans            *app.ImprovementPlanReport
	PlanPage         []app.ImprovementPlanRow
	PlanNav          page.ListNav
	PlanCSV, PlanXLS string
}

// yearUnit reads ?year= (default: this year: development is current work)
// and ?unit=.
func yearUnit(r *page.Request) (string, string, error) {
	return page.YearUnit(r, r.App().Today().Year())
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := r.App().Development(r.Context(), r.User, year, unit)
	if err != nil {
		return err
	}
	d := &listData{Base: r.Base("devreport", "dev.title"), Year: year, Unit: unit, Report: rep.Data}
	y, _ := strconv.Atoi(year)
	for i := y + 1; i >= y-3; i-- {
		d.Years = append(d.Years, i)
	}
	d.ExportCSV = exportURL("csv", year, unit)
	d.ExportXLS = exportURL("xlsx", year, unit)
	if d.Plans, err = plans(r, unit); err != nil {
		return err
	}
	if d.Plans != nil {
		if d.PlanPage, d.PlanNav, err = page.Paginate(r, planList, d.Plans.Plans, planOrder, unit); err != nil {
			return err
		}
		d.PlanCSV, d.PlanXLS = plansExportURL("csv", unit), plansExportURL("xlsx", unit)
	}
	return f.list.Render(w, http.StatusOK, d)
}

func exportURL(format, year, unit string) string {
	return page.ExportURL("/pengembangan-unit/ekspor", format, year, unit)
}

func (f *Feature) export(w http.ResponseWriter, r *page.Request) error {
	format, err := r.ExportFormat()
	if err != nil {
		return err
	}
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := r.App().Development(r.Context(), r.User, year, unit)
	if err != nil {
		return err
	}
	// A unit's file in the unit's zone (issue 13); the agency's otherwise.
	return page.WriteTableIn(w, r, format, tabular.FileName("development", unit, year), rep.Table, f.site.UnitZone(r.Context(), unit))
}

func plansExportURL(format, unit string) string {
	u := "/pengembangan-unit/rencana-perbaikan/ekspor?format=" + format
	if unit != "" {
		u += "&unit=" + url.QueryEscape(unit)
	}
	return u
}

// exportPlans writes the improvement plans of ?unit='s subtree as CSV or
// Excel (404 where the process manager does not run).
func (f *Feature) exportPlans(w http.ResponseWriter, r *page.Request) error {
	format, err := r.ExportFormat()
	if err != nil {
		return err
	}
	_, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := r.App().ImprovementPlans(r.Context(), r.User, unit)
	if err != nil {
		return err
	}
	return page.WriteTable(w, r, format, tabular.FileName("improvement-plans", unit), rep.Table)
}
