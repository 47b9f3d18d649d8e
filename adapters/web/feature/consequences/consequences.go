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
	"cmp"
	"embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
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

// The page's three lists are paginated (page.Paginate): an agency of
// thousands of employees has as many final evaluations, each with its
// source events, which in one page would be megabytes (TestPageBudget).
// The figures above the lists count them whole; the exports hold them all.
var (
	currentList = page.ListSpec{Name: "pub", Size: 50, Sorts: []string{"unit", "name", "predikat"}}
	recList     = page.ListSpec{Name: "rec", Size: 100, Sorts: []string{"unit", "name"}}
	corrList    = page.ListSpec{Name: "cor", Size: 50, Sorts: []string{"published", "name"}}
)

// The register's order (by unit and name) stays the tie-break.
var (
	pubOrder = map[string]func(a, b consequences.Publication) int{
		"unit": func(a, b consequences.Publication) int { return strings.Compare(a.UnitID, b.UnitID) },
		"name": func(a, b consequences.Publication) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.NIP, b.NIP))
		},
		"predikat": func(a, b consequences.Publication) int {
			return strings.Compare(string(a.Predikat), string(b.Predikat))
		},
	}
	corrOrder = map[string]func(a, b correction) int{
		"published": func(a, b correction) int { return a.PublishedAt.Compare(b.PublishedAt) },
		"name": func(a, b correction) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.NIP, b.NIP))
		},
	}
)

// listData is the page's model.
type listData struct {
	page.Base
	Year     string
	Unit     string
	Years    []int
	Register consequences.Register
	// Current, Recognition and Corrections are the pages shown of the
	// register's current publications, its recognition list and its
	// corrections (each correction with the original it replaces), with
	// their navigation; the counts are of the whole lists.
	Current                       []consequences.Publication
	Recognition                   []consequences.Publication
	Corrections                   []correction
	CurrentNav, RecNav, CorrNav   page.ListNav
	CurrentN, RecognitionN, CorrN int
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
	return page.YearUnit(r, r.App().Today().Year()-1)
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
	var corrections []correction
	for _, p := range rep.Data.Publications {
		byID[p.ID] = p
		if p.Kind == consequences.Correction || p.Kind == consequences.Retraction {
			corrections = append(corrections, correction{Publication: p, Original: byID[p.Corrects]})
		}
	}
	d.CurrentN, d.RecognitionN, d.CorrN = len(rep.Data.Current), len(rep.Data.Recognition), len(corrections)
	scope := []string{year, unit}
	if d.Current, d.CurrentNav, err = page.Paginate(r, currentList, rep.Data.Current, pubOrder, scope...); err != nil {
		return err
	}
	if d.Recognition, d.RecNav, err = page.Paginate(r, recList, rep.Data.Recognition, pubOrder, scope...); err != nil {
		return err
	}
	if d.Corrections, d.CorrNav, err = page.Paginate(r, corrList, corrections, corrOrder, scope...); err != nil {
		return err
	}
	d.ExportCSV = exportURL("csv", year, unit)
	d.ExportXLS = exportURL("xlsx", year, unit)
	var nips []string
	for _, p := range d.Current {
		nips = append(nips, p.NIP)
	}
	d.Names = f.site.Names(r.Context(), nips...)
	return f.list.Render(w, http.StatusOK, d)
}

func exportURL(format, year, unit string) string {
	return page.ExportURL("/konsekuensi/ekspor", format, year, unit)
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
	// A unit's file in the unit's zone (issue 13); the agency's otherwise.
	return page.WriteTableIn(w, r, format, tabular.FileName("consequences", unit, year), rep.Table, f.site.UnitZone(r.Context(), unit))
}
