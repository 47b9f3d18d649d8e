// Package reportpage is the dashboard's reports: the unit dashboard (SKP
// progress of a unit and its sub-units, and the predikat distribution of a
// period against the pattern, drawn as an inline SVG chart, with
// drill-down) and the CSV and Excel exports of both. The year defaults to
// the latest with data (app.LatestYear); the tables are paginated and
// sortable (page.Paginate); the progress, the distribution and the SKP
// list can be shown as the ledger had recorded them at a past instant or
// ledger position (?as_of=, page.Site.AsOf, app.ProgressAsOf,
// app.DistributionAsOf, app.Past), and so can the exports. The unit's
// times, typed and shown, are in its zone. The reports are the
// application layer's (computed once, cached, for the report roles).
package reportpage

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

//go:embed *.html
var files embed.FS

// Feature is the reports.
type Feature struct {
	site *page.Site
	unit *page.Template[*unitData]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, unit: page.MustParse[*unitData](site, files, "unit.html", messages)}
}

// Routes registers the unit dashboard and the exports.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /unit/{id}", f.unitPage)
	r.Page("GET /ekspor/progress", f.exportProgress)
	r.Page("GET /ekspor/distribusi", f.exportDistribution)
}

// unitData is the unit dashboard's model.
type unitData struct {
	page.Base
	Unit     directory.Unit
	Trail    []directory.Unit
	Children []directory.Unit
	Year     int
	Period   string
	Years    []int
	Periods  []string

	Progress     reports.ProgressReport
	ProgressBar  []barSegment
	ProgressBase int
	Missing      []missingRow
	MissingNav   page.ListNav
	// Rows are the page of the progress table's units (the unit and its
	// sub-units, depth first unless sorted otherwise).
	Rows    []reports.UnitProgress
	RowsNav page.ListNav

	Dist        reports.DistributionReport
	Chart       distChart
	Rules       []ruleRow
	Justified   bool
	OrgPredikat string

	SKPs    []skpRow
	SKPsNav page.ListNav

	// Cut is the past state the reports are shown at (zero: now; the
	// as-of control, ?as_of=); AsOf its instant (zero for a position),
	// AsOfInput the instant in the datetime-local control (in the unit's
	// zone), AsOfParam the parameter the page's links carry on.
	Cut       app.Cut
	AsOf      time.Time
	AsOfInput string
	AsOfParam string

	// Positions of the projections read (−1 unknown).
	SKPsPosition  int64
	EvalsPosition int64

	ExportProgressCSV, ExportProgressXLSX string
	ExportDistCSV, ExportDistXLSX         string
	// JustifyLink is the justification form of the period's deviating
	// distribution, for the leader one level up alone
	// (distribution.Service.AuthorizeJustify, the rule the command
	// applies); "" for everyone else and when nothing deviates.
	JustifyLink string
}

// The lists of the unit page (page.Paginate): the progress table's units,
// the employees without an SKP and the SKPs of the year.
var (
	unitList    = page.ListSpec{Name: "units", Size: 50, Sorts: []string{"tree", "name", "employees", "skps", "late", "missing"}}
	missingList = page.ListSpec{Name: "missing", Size: 100, Sorts: []string{"unit", "nip"}}
	skpList     = page.ListSpec{Name: "skps", Size: 50, Sorts: []string{"unit", "name", "status", "late", "predikat"}}
)

var unitOrder = map[string]func(a, b reports.UnitProgress) int{
	"tree": func(a, b reports.UnitProgress) int { return 0 }, // the report's order
	"name": func(a, b reports.UnitProgress) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.UnitID, b.UnitID))
	},
	"employees": func(a, b reports.UnitProgress) int { return cmp.Compare(a.Subtree.Employees, b.Subtree.Employees) },
	"skps":      func(a, b reports.UnitProgress) int { return cmp.Compare(a.Subtree.SKPs, b.Subtree.SKPs) },
	"late":      func(a, b reports.UnitProgress) int { return cmp.Compare(a.Subtree.Late, b.Subtree.Late) },
	"missing":   func(a, b reports.UnitProgress) int { return cmp.Compare(a.Subtree.Missing, b.Subtree.Missing) },
}

var missingOrder = map[string]func(a, b missingRow) int{
	"unit": func(a, b missingRow) int {
		return cmp.Or(strings.Compare(a.UnitID, b.UnitID), strings.Compare(a.NIP, b.NIP))
	},
	"nip": func(a, b missingRow) int { return strings.Compare(a.NIP, b.NIP) },
}

var skpOrder = map[string]func(a, b skpRow) int{
	"unit": func(a, b skpRow) int {
		return cmp.Or(strings.Compare(a.UnitID, b.UnitID), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	},
	"name":     func(a, b skpRow) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) },
	"status":   func(a, b skpRow) int { return strings.Compare(a.Status, b.Status) },
	"late":     func(a, b skpRow) int { return cmp.Compare(b2i(a.Late), b2i(b.Late)) },
	"predikat": func(a, b skpRow) int { return strings.Compare(a.Predikat, b.Predikat) },
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// missingRow is an employee without an SKP for the year.
type missingRow struct {
	NIP, UnitID string
}

// skpRow is an SKP in the unit's list with its predikat for the period.
type skpRow struct {
	skps.Summary
	Predikat string
	EvalStat string
	// eval is the evaluation of the period (EvalStat is its status at the
	// page's now, set on the rows of the page alone: a kept list outlives
	// the moment it was built, and the status moves with the clock).
	eval *evaluations.Evaluation
}

// unitPage is the unit dashboard: SKP progress and the predikat
// distribution of a period against the pattern, with the sub-units to
// drill down into.
func (f *Feature) unitPage(w http.ResponseWriter, r *page.Request) error {
	if err := r.App().Authorize(r.User, authz.ReadReports); err != nil {
		return err
	}
	ctx := r.Context()
	a := r.App()
	cfg := a.Config()
	id := r.PathValue("id")
	year, per, err := f.yearPeriod(r)
	if err != nil {
		return err
	}
	if q := r.URL.Query(); q.Get("year") == "" && q.Get("period") == "" {
		// No year asked for: the latest year with data (issue 13), not
		// the calendar's.
		if year, err = a.LatestYear(ctx, r.User); err != nil {
			return err
		}
		per = strconv.Itoa(year)
	}
	if _, err := a.Unit(ctx, r.User, id); err != nil {
		return err // another agency's unit is not found (tenancy)
	}
	u, err := cfg.Directory.Unit(ctx, id)
	if err != nil {
		return err
	}
	d := &unitData{Base: r.Base("unit", "unit.title"), Unit: u, Year: year, Period: per, Years: f.years(year), Periods: f.periods(year)}
	d.InZone(u.Zone) // the unit's times in its own zone (issue 13)
	if d.Trail, err = f.trail(ctx, u); err != nil {
		return err
	}
	if d.Children, err = cfg.Directory.Children(ctx, id); err != nil {
		return err
	}
	// The as-of control (as the SKP page's): the reports as the ledger
	// had recorded them then, a typed time read in the unit's zone.
	if d.Cut, err = f.site.AsOf(ctx, r.URL.Query().Get("as_of"), d.Loc()); err != nil {
		return err
	}
	d.AsOf, d.AsOfParam = d.Cut.At, d.Cut.String()
	if !d.AsOf.IsZero() {
		d.AsOfInput = d.AsOf.In(d.Loc()).Format("2006-01-02T15:04:05")
	}
	prog, err := a.ProgressAsOf(ctx, r.User, id, year, d.Cut)
	if err != nil {
		return err
	}
	d.Progress = prog.Data
	d.ProgressBar, d.ProgressBase = progressBar(d.Progress.Total)
	var missing []missingRow
	for _, row := range d.Progress.Units {
		for _, n := range row.MissingNIPs {
			missing = append(missing, missingRow{NIP: n, UnitID: row.UnitID})
		}
	}
	scope := []string{id, strconv.Itoa(year), per, d.AsOfParam}
	if d.Missing, d.MissingNav, err = page.Paginate(r, missingList, missing, missingOrder, scope...); err != nil {
		return err
	}
	if d.Rows, d.RowsNav, err = page.Paginate(r, unitList, d.Progress.Units, unitOrder, scope...); err != nil {
		return err
	}
	var nips []string
	for _, m := range d.Missing {
		nips = append(nips, m.NIP)
	}
	dist, err := a.DistributionAsOf(ctx, r.User, id, per, d.Cut)
	if err != nil {
		return err
	}
	d.Dist = dist.Data
	d.OrgPredikat = string(d.Dist.OrgPredikat)
	d.Justified = d.Dist.Justification != nil
	d.Rules = patternRules(cfg.Pattern, d.Dist.Result)
	d.Chart = newDistChart(d.Dist.Result, d.Rules)
	if len(d.Dist.Violations) > 0 && cfg.Distribution != nil && cfg.Distribution.AuthorizeJustify(ctx, r.User, id) == nil {
		// The feature justification's address (a feature imports no
		// other).
		d.JustifyLink = "/unit/" + url.PathEscape(id) + "/distribusi/" + url.PathEscape(per) + "/justifikasi"
	}

	units := d.Dist.Units
	if len(units) == 0 {
		units = []string{id}
	}
	now := a.Now()
	if !d.AsOf.IsZero() {
		now = d.AsOf // FINAL after the window, as it stood then
	}
	// The SKPs of the year with their evaluations, sorted by Paginate alone
	// (the "unit" order by default). Today's list is kept while the read
	// models it comes from stand still (keptLists): at a province's root
	// it is 100,000 SKPs, read, joined and sorted on every view before.
	list, err := f.skpRows(ctx, a, id, units, year, per, d.Cut)
	if err != nil {
		return err
	}
	if d.SKPs, d.SKPsNav, err = page.PaginateKept(r, skpList, list.rows, skpOrder, &list.orders, scope...); err != nil {
		return err
	}
	for i := range d.SKPs {
		if e := d.SKPs[i].eval; e != nil {
			d.SKPs[i].EvalStat = e.StatusAt(now)
		}
	}
	d.SKPsPosition = f.site.Position(ctx, skps.Name)
	d.EvalsPosition = f.site.Position(ctx, evaluations.Name)
	ys := strconv.Itoa(year)
	// The exports carry the cut and write times in the unit's zone.
	d.ExportProgressCSV = exportLink("/ekspor/progress", d.AsOfParam, "unit", id, "year", ys, "format", "csv")
	d.ExportProgressXLSX = exportLink("/ekspor/progress", d.AsOfParam, "unit", id, "year", ys, "format", "xlsx")
	d.ExportDistCSV = exportLink("/ekspor/distribusi", d.AsOfParam, "unit", id, "period", per, "format", "csv")
	d.ExportDistXLSX = exportLink("/ekspor/distribusi", d.AsOfParam, "unit", id, "period", per, "format", "xlsx")
	d.Names = f.site.Names(ctx, nips...)
	return f.unit.Render(w, http.StatusOK, d)
}

// skpListKept is the SKPs of a unit's subtree for a year with their
// evaluations of a period, as the unit page lists them, and the sort
// orders of the list (page.Orders) while it is kept.
type skpListKept struct {
	at     [3]int64 // the directory's, the SKPs' and the evaluations' versions
	rows   []skpRow
	orders page.Orders
}

// The unit pages' SKP lists of today (no as-of cut) are kept in the
// site's page.Kept (bounded by bytes with the start pages', least recently
// used evicted; a province root's is about 40 MB) by unit, year and
// period, with the versions of the read models they were read after
// (page.Site.Version, which move with any agency group); a list is served
// again while those stand (a read model publishes its rows with its
// checkpoint atomically, so rows read after positions P are at least P's).

// skpRowBytes and evalBytes estimate a kept skpRow (the struct and the
// strings of its Summary) and an evaluation of the period (the struct, its
// strings and times; the rows point into the slice of all of them).
const (
	skpRowBytes = int64(unsafe.Sizeof(skpRow{})) + 200
	evalBytes   = int64(unsafe.Sizeof(evaluations.Evaluation{})) + 200
)

// skpRows returns the SKP list of the unit page of unit (whose population
// is units) for year and per at cut.
func (f *Feature) skpRows(ctx context.Context, a *app.App, unit string, units []string, year int, per string, cut app.Cut) (*skpListKept, error) {
	var at [3]int64
	key := ""
	if cut.IsZero() {
		at = [3]int64{f.site.Version(ctx, directory.Name), f.site.Version(ctx, skps.Name), f.site.Version(ctx, evaluations.Name)}
		if at[0] >= 0 && at[1] >= 0 && at[2] >= 0 {
			key = "unit\x00" + unit + "\x00" + strconv.Itoa(year) + "\x00" + per
			if v, ok := f.site.Kept().Get(key); ok {
				if l, ok := v.(*skpListKept); ok && l.at == at {
					return l, nil
				}
			}
		}
	}
	// The SKPs and their evaluations at the cut too (today's at none).
	skpsAt, evalsAt, err := a.Past(ctx, cut)
	if err != nil {
		return nil, err
	}
	list, err := skpsAt.ForYear(ctx, units, year)
	if err != nil {
		return nil, err
	}
	evals, err := evalsAt.ForPeriod(ctx, units, per)
	if err != nil {
		return nil, err
	}
	bySKP := make(map[string]*evaluations.Evaluation, len(evals))
	for i := range evals {
		bySKP[evals[i].SKPID] = &evals[i]
	}
	l := &skpListKept{at: at, rows: make([]skpRow, 0, len(list))}
	for _, s := range list {
		row := skpRow{Summary: s}
		if e := bySKP[s.ID]; e != nil {
			row.Predikat, row.eval = e.Predikat, e
		}
		l.rows = append(l.rows, row)
	}
	if key != "" {
		f.site.Kept().Put(key, l, page.KeptSize(len(l.rows), skpRowBytes, len(skpList.Sorts))+int64(len(evals))*evalBytes)
	}
	return l, nil
}

// exportLink is an export's address, with as_of when the page shows a
// past state.
func exportLink(path, asOf string, kv ...string) string {
	if asOf != "" {
		kv = append(kv, "as_of", asOf)
	}
	return page.Link(path, kv...)
}

// exportCut reads the export's unit and its as_of (a typed time in the
// unit's zone, as on the unit page).
func (f *Feature) exportCut(r *page.Request, unit string) (app.Cut, error) {
	v := r.URL.Query().Get("as_of")
	if v == "" {
		return app.Cut{}, nil
	}
	loc := f.site.Location()
	if l, ok := idfmt.Zone(f.site.UnitZone(r.Context(), unit)); ok {
		loc = l
	}
	return f.site.AsOf(r.Context(), v, loc)
}

// exportProgress serves the progress report as CSV or Excel.
func (f *Feature) exportProgress(w http.ResponseWriter, r *page.Request) error {
	format, err := r.ExportFormat()
	if err != nil {
		return err
	}
	unit := r.URL.Query().Get("unit")
	year, _, err := f.yearPeriod(r)
	if err != nil {
		return err
	}
	cut, err := f.exportCut(r, unit)
	if err != nil {
		return err
	}
	rep, err := r.App().ProgressAsOf(r.Context(), r.User, unit, year, cut)
	if err != nil {
		return err
	}
	return page.WriteTableIn(w, r, format, tabular.FileName("progress", unit, strconv.Itoa(year)), rep.Table, f.site.UnitZone(r.Context(), unit))
}

// exportDistribution serves the distribution report as CSV or Excel.
func (f *Feature) exportDistribution(w http.ResponseWriter, r *page.Request) error {
	format, err := r.ExportFormat()
	if err != nil {
		return err
	}
	unit := r.URL.Query().Get("unit")
	_, per, err := f.yearPeriod(r)
	if err != nil {
		return err
	}
	cut, err := f.exportCut(r, unit)
	if err != nil {
		return err
	}
	rep, err := r.App().DistributionAsOf(r.Context(), r.User, unit, per, cut)
	if err != nil {
		return err
	}
	return page.WriteTableIn(w, r, format, tabular.FileName("distribution", unit, per), rep.Table, f.site.UnitZone(r.Context(), unit))
}

// yearPeriod reads ?year= and ?period= (default: this year, annual). A
// period decides the year.
func (f *Feature) yearPeriod(r *page.Request) (int, string, error) {
	q := r.URL.Query()
	year := r.App().Today().Year()
	if y := q.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < skp.MinYear || n > skp.MaxYear {
			return 0, "", page.BadParam("error.year", fmt.Sprintf("%d–%d", skp.MinYear, skp.MaxYear))
		}
		year = n
	}
	per := strconv.Itoa(year)
	if s := q.Get("period"); s != "" {
		p, err := period.Parse(s)
		if err != nil {
			return 0, "", page.BadParam("error.period", s)
		}
		if q.Get("year") == "" || p.Year() == year {
			year, per = p.Year(), p.String()
		}
	}
	return year, per, nil
}

// years are the years offered around year.
func (f *Feature) years(year int) []int {
	var out []int
	for y := year - 2; y <= year+1; y++ {
		if y >= skp.MinYear && y <= skp.MaxYear {
			out = append(out, y)
		}
	}
	cur := f.site.App().Today().Year()
	if !slices.Contains(out, cur) && cur >= skp.MinYear && cur <= skp.MaxYear {
		out = append(out, cur)
		slices.Sort(out)
	}
	return out
}

// periods are the periods of year under the policy's cadence, annual
// first.
func (f *Feature) periods(year int) []string {
	out := []string{strconv.Itoa(year)}
	if f.site.App().Config().Policy.Cadence == period.Monthly {
		for m := 1; m <= 12; m++ {
			out = append(out, fmt.Sprintf("%d-%02d", year, m))
		}
		return out
	}
	for q := 1; q <= 4; q++ {
		out = append(out, fmt.Sprintf("%d-Q%d", year, q))
	}
	return out
}

// trail returns u's ancestors, the root first.
func (f *Feature) trail(ctx context.Context, u directory.Unit) ([]directory.Unit, error) {
	var out []directory.Unit
	seen := map[string]bool{u.ID: true}
	for p := u.ParentID; p != "" && !seen[p] && len(out) < 32; {
		seen[p] = true
		pu, err := f.site.App().Config().Directory.Unit(ctx, p)
		if errors.Is(err, directory.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, pu)
		p = pu.ParentID
	}
	slices.Reverse(out)
	return out, nil
}

// barSegment is one part of a stacked bar.
type barSegment struct {
	Key   string // status, or "MISSING"
	Count int
	X, W  float64 // in the 0–100 coordinate space of the bar
	Class string
}

// progressBar splits the SKPs of c by status, with the employees without
// an SKP last, into segments of a bar 100 units wide.
func progressBar(c reports.ProgressCounts) ([]barSegment, int) {
	base := c.SKPs + c.Missing
	if base == 0 {
		return nil, 0
	}
	var out []barSegment
	x := 0.0
	add := func(key string, n int, class string) {
		if n == 0 {
			return
		}
		w := 100 * float64(n) / float64(base)
		out = append(out, barSegment{Key: key, Count: n, X: x, W: w, Class: class})
		x += w
	}
	for _, s := range reports.Statuses() {
		add(s, c.ByStatus[s], "st-"+strings.ToLower(s))
	}
	add("MISSING", c.Missing, "st-missing")
	return out, base
}

// ruleRow is one rule of the pattern for the unit's organisation predikat,
// with whether the counts break it.
type ruleRow struct {
	ID        string
	Predikat  []rating.Predikat
	Min, Max  int // percent; Max < 0 when none
	MinCount  int
	Got       int
	Violated  bool
	Detail    string
	Justified bool
}

// patternRules lists the rules of res's organisation predikat when the
// pattern is a distribution.Table (the SE 3/2023 one is), marking the
// violated ones; for another Pattern, one row per violation.
func patternRules(p distribution.Pattern, res distribution.Result) []ruleRow {
	violated := map[string]string{}
	for _, v := range res.Violations {
		violated[v.Rule] = v.Detail
	}
	var out []ruleRow
	if t, ok := p.(distribution.Table); ok && res.OrgPredikat != "" {
		for _, rule := range t.Rules[res.OrgPredikat] {
			row := ruleRow{ID: rule.ID(res.OrgPredikat), Predikat: rule.Predikat, Min: rule.MinPercent, Max: -1, MinCount: rule.MinCount}
			if rule.Max {
				row.Max = rule.MaxPercent
			}
			for _, pr := range rule.Predikat {
				row.Got += res.Counts[pr]
			}
			row.Detail, row.Violated = violated[row.ID]
			delete(violated, row.ID)
			out = append(out, row)
		}
	}
	for _, v := range res.Violations {
		if _, left := violated[v.Rule]; left {
			out = append(out, ruleRow{ID: v.Rule, Max: -1, Violated: true, Detail: v.Detail})
		}
	}
	return out
}

// distChart is the inline SVG bar chart of a distribution.
type distChart struct {
	Width, Height int
	Rows          []distBar
}

// distBar is one predikat's bar, with the pattern's bounds on it.
type distBar struct {
	Predikat  rating.Predikat
	Count     int
	Share     float64
	Y         int     // top of the row
	W         float64 // bar width in chart units
	Violation bool
	Markers   []marker
}

// marker is a pattern bound drawn across a bar.
type marker struct {
	X     float64
	Label string // "≤70%" or "≥60%"
	Max   bool
}

// Chart geometry: rows of a label line and a bar, in a narrow view box so
// that the text stays legible on a phone.
const (
	chartWidth = 360
	chartBarW  = 340
	chartRowH  = 54
	chartLeft  = 10
)

func newDistChart(res distribution.Result, rules []ruleRow) distChart {
	c := distChart{Width: chartWidth}
	for i, p := range rating.Predikats() {
		b := distBar{Predikat: p, Count: res.Counts[p], Share: res.Shares[p], Y: i * chartRowH}
		b.W = res.Shares[p] * chartBarW
		for _, rule := range rules {
			if !slices.Contains(rule.Predikat, p) {
				continue
			}
			if rule.Violated {
				b.Violation = true
			}
			if len(rule.Predikat) != 1 {
				continue
			}
			if rule.Max >= 0 {
				b.Markers = append(b.Markers, marker{X: chartLeft + float64(rule.Max)*chartBarW/100, Label: fmt.Sprintf("≤%d%%", rule.Max), Max: true})
			}
			if rule.Min > 0 {
				b.Markers = append(b.Markers, marker{X: chartLeft + float64(rule.Min)*chartBarW/100, Label: fmt.Sprintf("≥%d%%", rule.Min)})
			}
		}
		c.Rows = append(c.Rows, b)
	}
	c.Height = len(c.Rows) * chartRowH
	return c
}
