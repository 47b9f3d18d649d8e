package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
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

// seesAllSKPs reports whether p's token roles let it see every SKP (as
// authz.Visible has it); others see the SKPs they are a party to.
func seesAllSKPs(p domain.Principal) bool {
	return p.Has(domain.RoleHRAdmin) || p.Has(domain.RoleHRAnalyst) || p.Has(domain.RoleAuditor) || p.Has(domain.RoleGrievanceClerk)
}

// reportAccess lets HR_ANALYST, HR_ADMIN and AUDITOR read reports, as the
// API does.
func reportAccess(p domain.Principal) error {
	_, err := authz.Decide(p, authz.ReadReports, authz.Subject{}, authz.Options{})
	return err
}

// registerAccess lets grievance clerks, the HR roles and auditors read the
// objection register, as the API does.
func registerAccess(p domain.Principal) error {
	if p.Has(domain.RoleGrievanceClerk) || p.Has(domain.RoleHRAdmin) || p.Has(domain.RoleHRAnalyst) || p.Has(domain.RoleAuditor) {
		return nil
	}
	return &authz.Denied{Caller: p.ID, Action: "objections.read", Visible: true, Reason: "the objection register is for GRIEVANCE_CLERK, HR roles and AUDITOR"}
}

// auditAccess lets auditors read the audit trail, as the API does.
func auditAccess(p domain.Principal) error {
	if p.Has(domain.RoleAuditor) {
		return nil
	}
	return &authz.Denied{Caller: p.ID, Action: "audit.read", Visible: true, Reason: "the audit trail is for AUDITOR"}
}

// unitRow is a unit in a list, indented by its depth.
type unitRow struct {
	directory.Unit
	Depth int
}

// homeData is the start page's model.
type homeData struct {
	Units       []unitRow
	SKPs        []skps.Summary
	SeesAll     bool
	Reports     bool
	Register    bool
	Audit       bool
	CurrentYear int
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	d := homeData{SeesAll: seesAllSKPs(req.user), Reports: reportAccess(req.user) == nil,
		Register: registerAccess(req.user) == nil, Audit: auditAccess(req.user) == nil,
		CurrentYear: h.cfg.Policy.Date(h.cfg.Now()).Year()}
	if d.Reports {
		units, err := h.cfg.Directory.Units(ctx)
		if err != nil {
			return err
		}
		d.Units = unitTree(units)
	}
	q := skps.Query{Limit: 100}
	if !d.SeesAll {
		q.Party = req.user.ID
	}
	list, _, err := h.cfg.SKPList.List(ctx, q)
	if err != nil {
		return err
	}
	d.SKPs = list
	return h.render(w, r, req, http.StatusOK, "home", "home.title", d)
}

// unitTree orders units depth first (children by id under their parent).
func unitTree(units []directory.Unit) []unitRow {
	kids := map[string][]directory.Unit{}
	known := map[string]bool{}
	for _, u := range units {
		known[u.ID] = true
	}
	for _, u := range units {
		p := u.ParentID
		if !known[p] {
			p = ""
		}
		kids[p] = append(kids[p], u)
	}
	var out []unitRow
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		list := kids[parent]
		slices.SortFunc(list, func(a, b directory.Unit) int { return strings.Compare(a.ID, b.ID) })
		for _, u := range list {
			out = append(out, unitRow{Unit: u, Depth: depth})
			if depth < 32 {
				walk(u.ID, depth+1)
			}
		}
	}
	walk("", 0)
	return out
}

// unitData is the unit dashboard's model.
type unitData struct {
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

	Dist        reports.DistributionReport
	Chart       distChart
	Rules       []ruleRow
	Justified   bool
	OrgPredikat string

	SKPs []skpRow

	// Positions of the projections read (−1 unknown).
	SKPsPosition  int64
	EvalsPosition int64

	ExportProgressCSV, ExportProgressXLSX string
	ExportDistCSV, ExportDistXLSX         string
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
}

// unitPage is the unit dashboard: SKP progress and the predikat
// distribution of a period against the pattern, with the sub-units to
// drill down into.
func (h *Handler) unitPage(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := reportAccess(req.user); err != nil {
		return err
	}
	ctx := r.Context()
	id := r.PathValue("id")
	year, per, err := h.yearPeriod(r)
	if err != nil {
		return err
	}
	u, err := h.cfg.Directory.Unit(ctx, id)
	if err != nil {
		return err
	}
	d := unitData{Unit: u, Year: year, Period: per, Years: h.years(year), Periods: h.periods(year)}
	if d.Trail, err = h.trail(ctx, u); err != nil {
		return err
	}
	if d.Children, err = h.cfg.Directory.Children(ctx, id); err != nil {
		return err
	}
	if d.Progress, err = reports.Progress(ctx, h.cfg.Directory, h.cfg.SKPList, id, year); err != nil {
		return err
	}
	d.ProgressBar, d.ProgressBase = progressBar(d.Progress.Total)
	for _, row := range d.Progress.Units {
		for _, n := range row.MissingNIPs {
			d.Missing = append(d.Missing, missingRow{NIP: n, UnitID: row.UnitID})
		}
	}
	d.Dist, err = reports.Distribution(ctx, reports.DistributionInput{Directory: h.cfg.Directory, SKPs: h.cfg.SKPList,
		Evaluations: h.cfg.Evaluations, Justifications: h.cfg.Justifications, Policy: h.cfg.Policy, Pattern: h.cfg.Pattern}, id, per)
	if err != nil {
		return err
	}
	d.OrgPredikat = string(d.Dist.OrgPredikat)
	d.Justified = d.Dist.Justification != nil
	d.Rules = patternRules(h.cfg.Pattern, d.Dist.Result)
	d.Chart = newDistChart(d.Dist.Result, d.Rules)

	units := d.Dist.Units
	if len(units) == 0 {
		units = []string{id}
	}
	list, err := h.cfg.SKPList.ForYear(ctx, units, year)
	if err != nil {
		return err
	}
	evals, err := h.cfg.Evaluations.ForPeriod(ctx, units, per)
	if err != nil {
		return err
	}
	now := h.cfg.Now()
	bySKP := map[string][2]string{}
	for _, e := range evals {
		bySKP[e.SKPID] = [2]string{e.Predikat, e.StatusAt(now)}
	}
	slices.SortFunc(list, func(a, b skps.Summary) int { return strings.Compare(a.UnitID+a.Name+a.ID, b.UnitID+b.Name+b.ID) })
	for _, s := range list {
		e := bySKP[s.ID]
		d.SKPs = append(d.SKPs, skpRow{Summary: s, Predikat: e[0], EvalStat: e[1]})
	}
	d.SKPsPosition = h.projectionPosition(ctx, skps.Name)
	d.EvalsPosition = h.projectionPosition(ctx, evaluations.Name)
	ys := strconv.Itoa(year)
	d.ExportProgressCSV = link("/ekspor/progress", "unit", id, "year", ys, "format", "csv")
	d.ExportProgressXLSX = link("/ekspor/progress", "unit", id, "year", ys, "format", "xlsx")
	d.ExportDistCSV = link("/ekspor/distribusi", "unit", id, "period", per, "format", "csv")
	d.ExportDistXLSX = link("/ekspor/distribusi", "unit", id, "period", per, "format", "xlsx")
	return h.render(w, r, req, http.StatusOK, "unit", "unit.title", d)
}

// yearPeriod reads ?year= and ?period= (default: this year, annual). A
// period decides the year.
func (h *Handler) yearPeriod(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	year := h.cfg.Policy.Date(h.cfg.Now()).Year()
	if y := q.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < skp.MinYear || n > skp.MaxYear {
			return 0, "", &badRequest{key: "error.year", detail: fmt.Sprintf("%d–%d", skp.MinYear, skp.MaxYear)}
		}
		year = n
	}
	per := strconv.Itoa(year)
	if s := q.Get("period"); s != "" {
		p, err := period.Parse(s)
		if err != nil {
			return 0, "", &badRequest{key: "error.period", detail: s}
		}
		if q.Get("year") == "" || p.Year() == year {
			year, per = p.Year(), p.String()
		}
	}
	return year, per, nil
}

// years are the years offered around year.
func (h *Handler) years(year int) []int {
	var out []int
	for y := year - 2; y <= year+1; y++ {
		if y >= skp.MinYear && y <= skp.MaxYear {
			out = append(out, y)
		}
	}
	cur := h.cfg.Policy.Date(h.cfg.Now()).Year()
	if !slices.Contains(out, cur) && cur >= skp.MinYear && cur <= skp.MaxYear {
		out = append(out, cur)
		slices.Sort(out)
	}
	return out
}

// periods are the periods of year under the policy's cadence, annual
// first.
func (h *Handler) periods(year int) []string {
	out := []string{strconv.Itoa(year)}
	if h.cfg.Policy.Cadence == period.Monthly {
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
func (h *Handler) trail(ctx context.Context, u directory.Unit) ([]directory.Unit, error) {
	var out []directory.Unit
	seen := map[string]bool{u.ID: true}
	for p := u.ParentID; p != "" && !seen[p] && len(out) < 32; {
		seen[p] = true
		pu, err := h.cfg.Directory.Unit(ctx, p)
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
