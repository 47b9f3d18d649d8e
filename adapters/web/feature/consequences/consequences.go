// Package consequences is the dashboard's page of the consequences of
// final evaluations (issue 14), "Konsekuensi hasil penilaian"
// (/konsekuensi): the Angka Kredit of functional posts, the TPP/tukin
// performance factor and the SANGAT_BAIK recognition list of a year, for a
// unit's subtree or the agency, each figure with the events it was
// computed from; the corrections beside the originals they replace; the
// CSV and Excel exports. The register is the application layer's
// (app.Consequences), for the roles of authz.ReadConsequences.
package consequences

import (
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

//go:embed *.html
var files embed.FS

// Feature is the consequences page.
type Feature struct {
	site *page.Site
	list *page.Template[*listData]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, list: page.MustParse[*listData](site, files, "consequences.html", messages)}
}

// Routes registers the page and its export.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /konsekuensi", f.show)
	r.Page("GET /konsekuensi/ekspor", f.export)
}

// listData is the page's model.
type listData struct {
	page.Base
	Year     string
	Unit     string
	Years    []int
	Register consequences.Register
	// Corrections are the corrections, each with the original it replaces.
	Corrections []correction
	// Total is the sum of the current Angka Kredit, as text.
	Total                string
	ExportCSV, ExportXLS string
}

// correction pairs a correction with its original.
type correction struct {
	consequences.Publication
	Original consequences.Publication
}

// yearUnit reads ?year= (default: last year) and ?unit=.
func yearUnit(r *page.Request) (string, string, error) {
	q := r.URL.Query()
	year := r.App().Today().Year() - 1
	if y := q.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < skp.MinYear || n > skp.MaxYear {
			return "", "", page.BadParam("error.year", fmt.Sprintf("%d–%d", skp.MinYear, skp.MaxYear))
		}
		year = n
	}
	return strconv.Itoa(year), q.Get("unit"), nil
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := r.App().Consequences(r.Context(), r.User, year, unit)
	if err != nil {
		return err
	}
	d := &listData{Base: r.Base("consequences", "csq.title"), Year: year, Unit: unit, Register: rep.Data, Total: rep.Data.TotalAngkaKredit.String()}
	y, _ := strconv.Atoi(year)
	for i := y + 1; i >= y-3; i-- {
		d.Years = append(d.Years, i)
	}
	byID := map[string]consequences.Publication{}
	for _, p := range rep.Data.Publications {
		byID[p.ID] = p
		if p.Kind == consequences.Correction {
			d.Corrections = append(d.Corrections, correction{Publication: p, Original: byID[p.Corrects]})
		}
	}
	d.ExportCSV = exportURL("csv", year, unit)
	d.ExportXLS = exportURL("xlsx", year, unit)
	var nips []string
	for _, p := range rep.Data.Current {
		nips = append(nips, p.NIP)
	}
	d.Names = f.site.Names(r.Context(), nips...)
	return f.list.Render(w, http.StatusOK, d)
}

func exportURL(format, year, unit string) string {
	q := url.Values{"format": {format}, "year": {year}}
	if unit != "" {
		q.Set("unit", unit)
	}
	return "/konsekuensi/ekspor?" + q.Encode()
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
	rep, err := r.App().Consequences(r.Context(), r.User, year, unit)
	if err != nil {
		return err
	}
	return page.WriteTable(w, r, format, tabular.FileName("consequences", unit, year), rep.Table)
}
