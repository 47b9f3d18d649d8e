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
	"embed"
	"math"
	"net/http"
	"strconv"

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
	Year      string
	Unit      string
	Years     []int
	Report    calibration.Report
	Rows      []row
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
	var nips []string
	for _, a := range rep.Data.Appraisers {
		rw := row{Appraiser: a, MarkerX: scale(a.Index), LowX: scale(a.Low), WidthX: scale(a.High) - scale(a.Low)}
		// Shown with two decimals; the export keeps three.
		rw.Index, rw.Low, rw.High, rw.Raw = round2(a.Index), round2(a.Low), round2(a.High), round2(a.Raw)
		rw.Given.Mean, rw.Unit.Mean, rw.Agency.Mean = round2(a.Given.Mean), round2(a.Unit.Mean), round2(a.Agency.Mean)
		d.Rows = append(d.Rows, rw)
		if a.Flag != calibration.None {
			d.Flagged++
		}
		nips = append(nips, a.NIP)
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
	return page.WriteTable(w, r, format, tabular.FileName("calibration", unit, year), rep.Table)
}
