// Package calibration is the dashboard's calibration page (issue 14),
// "Kalibrasi penilai" (/kalibrasi): each appraiser's distribution of
// predikats against their unit's and the agency's, the leniency/severity
// index with its interval, how often their ratings were objected to,
// changed on objection and revised, and the appraisers flagged for the
// unit head or the BKD with the rating events as evidence. It never
// changes a rating. The view is the application layer's
// (app.Calibration), for the roles of authz.ReadCalibration; the
// statistics are documented in docs/calibration.md.
package calibration

import (
	"cmp"
	"embed"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
)

//go:embed *.html
var files embed.FS

// Feature is the calibration page.
type Feature struct {
	site *page.Site
	view *page.Template[*viewData]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, view: page.MustParse[*viewData](site, files, "calibration.html", messages)}
}

// Routes registers the page and its export.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /kalibrasi", f.show)
	r.Page("GET /kalibrasi/ekspor", f.export)
}

// viewData is the page's model.
type viewData struct {
	page.Base
	Year   string
	Unit   string
	Years  []int
	Report calibration.Report
	// Rows are the page of the appraisers shown (page.Paginate), ApprNav
	// its navigation; Flagged counts the flagged ones of the whole list.
	Rows      []row
	ApprNav   page.ListNav
	Flagged   int
	Predikats []rating.Predikat
	ExportCSV string
	ExportXLS string
}

// row is one appraiser with the shares drawn as a bar.
type row struct {
	calibration.Appraiser
	// MarkerX, LowX and WidthX place the index and its interval on a
	// −2…+2 scale drawn 0–100 wide (0 at 50).
	MarkerX, LowX, WidthX float64
}

// apprList is the appraisers' table: 50 a page, in the report's order
// (flagged first, then by index) unless sorted by a column.
var apprList = page.ListSpec{Name: "appr", Size: 50, Sorts: []string{"report", "nip", "unit", "n", "index", "objections", "revisions"}}

var apprOrder = map[string]func(a, b row) int{
	"report": func(a, b row) int { return 0 }, // the report's order
	"nip":    func(a, b row) int { return strings.Compare(a.NIP, b.NIP) },
	"unit":   func(a, b row) int { return cmp.Or(strings.Compare(a.UnitID, b.UnitID), strings.Compare(a.NIP, b.NIP)) },
	"n":      func(a, b row) int { return cmp.Compare(a.Given.N, b.Given.N) },
	"index":  func(a, b row) int { return cmp.Compare(a.Index, b.Index) },
	"objections": func(a, b row) int {
		return cmp.Or(cmp.Compare(a.Objections, b.Objections), cmp.Compare(a.ChangedOnObjection, b.ChangedOnObjection))
	},
	"revisions": func(a, b row) int {
		return cmp.Compare(a.RevisedBeforeIssue+a.RevisedAfterDelivery, b.RevisedBeforeIssue+b.RevisedAfterDelivery)
	},
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func scale(v float64) float64 { return 100 * math.Max(0, math.Min(1, (v+2)/4)) }

func yearUnit(r *page.Request) (string, string, error) {
	return page.YearUnit(r, r.App().Today().Year()-1)
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := r.App().Calibration(r.Context(), r.User, year, unit)
	if err != nil {
		return err
	}
	d := &viewData{Base: r.Base("calibration", "cal.title"), Year: year, Unit: unit, Report: rep.Data, Predikats: rating.Predikats()}
	y, _ := strconv.Atoi(year)
	for i := y + 1; i >= y-3; i-- {
		d.Years = append(d.Years, i)
	}
	rows := make([]row, 0, len(rep.Data.Appraisers))
	for _, a := range rep.Data.Appraisers {
		rw := row{Appraiser: a, MarkerX: scale(a.Index), LowX: scale(a.Low), WidthX: scale(a.High) - scale(a.Low)}
		// Shown with two decimals; the export keeps three.
		rw.Index, rw.Low, rw.High, rw.Raw = round2(a.Index), round2(a.Low), round2(a.High), round2(a.Raw)
		rw.Given.Mean, rw.Unit.Mean, rw.Agency.Mean = round2(a.Given.Mean), round2(a.Unit.Mean), round2(a.Agency.Mean)
		rows = append(rows, rw)
		if a.Flag != calibration.None {
			d.Flagged++
		}
	}
	if d.Rows, d.ApprNav, err = page.Paginate(r, apprList, rows, apprOrder, year, unit); err != nil {
		return err
	}
	nips := make([]string, 0, len(d.Rows))
	for _, rw := range d.Rows {
		nips = append(nips, rw.NIP)
	}
	d.Names = f.site.Names(r.Context(), nips...)
	d.ExportCSV, d.ExportXLS = exportURL("csv", year, unit), exportURL("xlsx", year, unit)
	return f.view.Render(w, http.StatusOK, d)
}

func exportURL(format, year, unit string) string {
	return page.ExportURL("/kalibrasi/ekspor", format, year, unit)
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
	rep, err := r.App().Calibration(r.Context(), r.User, year, unit)
	if err != nil {
		return err
	}
	// A unit's file in the unit's zone (issue 13); the agency's otherwise.
	return page.WriteTableIn(w, r, format, tabular.FileName("calibration", unit, year), rep.Table, f.site.UnitZone(r.Context(), unit))
}
