// Package devreport is the dashboard's development report of a unit
// (issue 14), "Laporan pengembangan kompetensi" (/pengembangan-unit): the
// development actions that are overdue (due date passed in the agency's
// zone, no outcome) with the employee, the action, the due date and the
// days overdue; and the competency gaps that occur most often, with count
// and share, as input for the BKD's training plan; the CSV and Excel
// exports. The report is the application layer's (app.Development), for
// the roles of authz.ReadDevelopment.
package devreport

import (
	"embed"
	"net/http"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
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
}

// listData is the page's model.
type listData struct {
	page.Base
	Year                 string
	Unit                 string
	Years                []int
	Report               development.Report
	ExportCSV, ExportXLS string
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
