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
	"sync"

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
	// derived keeps, per kept register, what the page derives from it
	// that is linear in it (the corrections, the lists' sort orders).
	derived derivedCache
}

// derived is what the page derives from one register: the corrections
// with their originals, and the sort orders of its three lists
// (page.PaginateKept). At 20,000 employees deriving them for every
// request was 60 ms of CPU (the register's 20,000 publications sorted
// again); a kept register is the same slices for every request (the
// report cache hands out the one computed at its checkpoints), so they are
// derived once per register.
type derived struct {
	corrections    []correction
	cur, rec, corr page.Orders
}

// derivedCache holds the derived of the last few registers, keyed by the
// register's own slices (a register computed again is new slices: a
// stale entry is never hit, only pushed out). The key (&Publications[0]
// and the length) assumes a register is never changed in place: its
// producer makes new slices for a new register, and nobody writes into
// a register's Publications (or appends to it within its capacity) after
// handing it out; a register changed in place would be served the old
// derived data.
type derivedCache struct {
	mu      sync.Mutex
	entries []derivedEntry
}

type derivedEntry struct {
	pubs *consequences.Publication // &Publications[0]
	n    int
	d    *derived
}

const derivedMax = 8

func (c *derivedCache) get(reg consequences.Register) *derived {
	if len(reg.Publications) == 0 {
		return newDerived(reg)
	}
	key := derivedEntry{pubs: &reg.Publications[0], n: len(reg.Publications)}
	c.mu.Lock()
	for _, e := range c.entries {
		if e.pubs == key.pubs && e.n == key.n {
			c.mu.Unlock()
			return e.d
		}
	}
	c.mu.Unlock()
	key.d = newDerived(reg)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= derivedMax {
		c.entries = c.entries[1:]
	}
	c.entries = append(c.entries, key)
	return key.d
}

func newDerived(reg consequences.Register) *derived {
	d := &derived{}
	byID := map[string]consequences.Publication{}
	for _, p := range reg.Publications {
		byID[p.ID] = p
		if p.Kind == consequences.Correction || p.Kind == consequences.Retraction {
			d.corrections = append(d.corrections, correction{Publication: p, Original: byID[p.Corrects]})
		}
	}
	return d
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
	dv := f.derived.get(rep.Data)
	corrections := dv.corrections
	d.CurrentN, d.RecognitionN, d.CorrN = len(rep.Data.Current), len(rep.Data.Recognition), len(corrections)
	scope := []string{year, unit}
	if d.Current, d.CurrentNav, err = page.PaginateKept(r, currentList, rep.Data.Current, pubOrder, &dv.cur, scope...); err != nil {
		return err
	}
	if d.Recognition, d.RecNav, err = page.PaginateKept(r, recList, rep.Data.Recognition, pubOrder, &dv.rec, scope...); err != nil {
		return err
	}
	if d.Corrections, d.CorrNav, err = page.PaginateKept(r, corrList, corrections, corrOrder, &dv.corr, scope...); err != nil {
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
