package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// PositionHeader carries how far the projection behind an answer had read
// (as_of_position of api.md).
const PositionHeader = "Kinerja-Projection-Position"

// Media types of report answers.
const (
	mediaCSV  = "text/csv"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

func formatPosition(p eventstore.Position) string { return strconv.FormatUint(uint64(p), 10) }

// registerReports registers the reports and the registers read from
// projections.
func (s *Server) registerReports(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/reports/progress", s.reportProgress)
	s.read(r, http.MethodGet, "/v1/reports/distribution", s.reportDistribution)
	s.read(r, http.MethodGet, "/v1/reports/objections", s.reportObjections)
	s.read(r, http.MethodGet, "/v1/objections", s.objectionRegister)
	s.read(r, http.MethodGet, "/v1/evaluations", s.evaluationList)
}

// reportFormat is json, csv or xlsx: ?format= wins, then Accept.
func reportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "json", "csv", "xlsx":
		return f, nil
	case "":
	default:
		return "", badRequest("format", "must be json, csv or xlsx")
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, mediaCSV):
		return "csv", nil
	case strings.Contains(accept, mediaXLSX):
		return "xlsx", nil
	}
	return "json", nil
}

// tableOptions reads the parameters of a CSV or Excel export: sep (";" by
// default, or ","), codes (1 keeps codes and raw values) and lang (id or
// en); instants are written in loc.
func tableOptions(r *http.Request, loc *time.Location) (tabular.Options, error) {
	q := r.URL.Query()
	o := tabular.Options{Loc: loc, Lang: "id"}
	var errs []error
	var err error
	if o.Sep, err = tabular.ParseSep(q.Get("sep")); err != nil {
		errs = append(errs, badRequest("sep", "must be ; or ,"))
	}
	if o.Codes, err = tabular.ParseCodes(q.Get("codes")); err != nil {
		errs = append(errs, badRequest("codes", "must be 0 or 1"))
	}
	switch l := q.Get("lang"); l {
	case "", "id":
	case "en":
		o.Lang = l
	default:
		errs = append(errs, badRequest("lang", "must be id or en"))
	}
	return o, errors.Join(errs...)
}

// writeReport renders rep in the requested format, with the projection
// position header; a CSV or Excel file follows r's export parameters
// (tableOptions), its instants in loc.
func writeReport[T any](w http.ResponseWriter, r *http.Request, loc *time.Location, format, name string, rep app.Report[T]) error {
	var opts tabular.Options
	if format == "csv" || format == "xlsx" {
		var err error
		if opts, err = tableOptions(r, loc); err != nil {
			return err
		}
	}
	w.Header().Set(PositionHeader, formatPosition(rep.Position))
	switch format {
	case "csv":
		b, err := tabular.CSV(rep.Table, opts)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", mediaCSV+"; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return nil
	case "xlsx":
		b, err := tabular.XLSX(name, rep.Table, opts)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", mediaXLSX)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return nil
	}
	// Encoded once by the application layer, which keeps its reports.
	raw := rep.JSON
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)+1))
	w.WriteHeader(http.StatusOK)
	w.Write(append(raw[:len(raw):len(raw)], '\n'))
	return nil
}

func (s *Server) reportProgress(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	unit := q.str("unit", 100)
	year := q.int("year", s.today().Year(), skp.MinYear, skp.MaxYear)
	limit := q.int("limit", ProgressDefaultLimit, 1, ProgressMaxLimit)
	depth := q.int("depth", -1, 0, 1000)
	cursor := q.str("cursor", 1000)
	if err := q.err(); err != nil {
		return err
	}
	if unit == "" {
		return badRequest("unit", "required")
	}
	cut, err := s.reportCut(r)
	if err != nil {
		return err
	}
	p := principal(r)
	// The cursor belongs to the caller and the query (never the page size).
	scope := []string{"progress", p.ID, unit, strconv.Itoa(year), r.URL.Query().Get("as_of"), strconv.Itoa(depth)}
	after, err := openCursor(cursor, scope...)
	if err != nil {
		return err
	}
	rep, err := s.app.ProgressAsOf(r.Context(), p, unit, year, cut)
	if err != nil {
		return err
	}
	if format == "csv" || format == "xlsx" {
		// The export is the whole board, every unit (a file, not a page).
		return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("progress", unit, strconv.Itoa(year)), rep)
	}
	out, next, err := progressPage(rep.Data, after, limit, depth)
	if err != nil {
		return err
	}
	if next != "" {
		out.NextCursor = sealCursor(next, scope...)
	}
	w.Header().Set(PositionHeader, formatPosition(rep.Position))
	return writeJSON(w, http.StatusOK, out)
}

// The progress report's JSON pages (issue 15): at a province's root the
// whole board is ten thousand units and megabytes, so JSON answers a page
// of the units (depth first, as the report orders them) with the counts of
// the whole subtree (total) on every page.
const (
	// ProgressDefaultLimit is how many units a page holds without ?limit=.
	ProgressDefaultLimit = 100
	// ProgressMaxLimit is the largest ?limit=.
	ProgressMaxLimit = 1000
)

// ProgressReportPage is the answer of GET /v1/reports/progress as JSON:
// the report with one page of its units; total counts the whole subtree,
// unit_count is how many units the report has in all (with ?depth=, those
// at most that deep), and next_cursor asks for the next page.
type ProgressReportPage struct {
	reports.ProgressReport
	// UnitCount is the number of units of the whole report (every page's).
	UnitCount int `json:"unit_count"`
	// NextCursor is the cursor of the next page ("" on the last).
	NextCursor string `json:"next_cursor,omitempty"`
}

// progressPage cuts rep to the units at most depth below its unit (depth
// < 0: all), then to the limit units after the cursor after (the inner
// cursor: "index:unit id" of the page's first unit, as the previous page
// returned it); it returns the page and the inner cursor of the next ("" at
// the end). A cursor whose unit is no longer in the report is a 400.
func progressPage(rep reports.ProgressReport, after string, limit, depth int) (ProgressReportPage, string, error) {
	units := rep.Units
	if depth >= 0 {
		units = make([]reports.UnitProgress, 0, len(rep.Units))
		for _, u := range rep.Units {
			if u.Depth <= depth {
				units = append(units, u)
			}
		}
	}
	start := 0
	if after != "" {
		i, id, ok := strings.Cut(after, ":")
		n, err := strconv.Atoi(i)
		if !ok || err != nil || n < 0 {
			return ProgressReportPage{}, "", badCursor()
		}
		// The unit the page starts at, where the report put it when the
		// cursor was issued; if the units changed since, where it is now.
		switch {
		case n < len(units) && units[n].UnitID == id:
			start = n
		default:
			start = slices.IndexFunc(units, func(u reports.UnitProgress) bool { return u.UnitID == id })
			if start < 0 {
				return ProgressReportPage{}, "", badRequest("cursor", "the unit this page starts at is no longer in the report; start again without a cursor")
			}
		}
	}
	page := units[start:]
	next := ""
	if len(page) > limit {
		next = strconv.Itoa(start+limit) + ":" + page[limit].UnitID
		page = page[:limit]
	}
	out := ProgressReportPage{ProgressReport: rep, UnitCount: len(units)}
	out.Units = page
	return out, next, nil
}

func (s *Server) reportDistribution(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	unit, per := q.str("unit", 100), q.str("period", 20)
	if err := q.err(); err != nil {
		return err
	}
	if err := requireUnitPeriod(unit, per); err != nil {
		return err
	}
	cut, err := s.reportCut(r)
	if err != nil {
		return err
	}
	rep, err := s.app.DistributionAsOf(r.Context(), principal(r), unit, per, cut)
	if err != nil {
		return err
	}
	return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("distribution", unit, per), rep)
}

func (s *Server) reportObjections(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	unit, status, overdue := q.str("unit", 100), q.enum("status", objectionStatuses), q.boolPtr("overdue")
	if err := q.err(); err != nil {
		return err
	}
	rep, err := s.app.ObjectionsReport(r.Context(), principal(r), app.ObjectionQuery{Unit: unit, Status: status, Overdue: overdue})
	if err != nil {
		return err
	}
	return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("objections", unit, status), rep)
}

// reportCut reads the as_of parameter of the progress and distribution
// reports: an RFC 3339 instant (what was recorded at or before it, as the
// SKP's as_of) or a ledger position (a positive integer: the events at or
// before it, as the audit trail numbers them). The zero cut is now. An
// instant in the future or a position past the ledger's head is refused:
// what the ledger will know then is not known yet.
func (s *Server) reportCut(r *http.Request) (app.Cut, error) {
	v := r.URL.Query().Get("as_of")
	if v == "" {
		return app.Cut{}, nil
	}
	if len(v) > 64 || !printable(v) {
		return app.Cut{}, badRequest("as_of", "must be an RFC 3339 time with zone or a ledger position")
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n == 0 {
			return app.Cut{}, badRequest("as_of", "a ledger position starts at 1")
		}
		if s.cfg.Store != nil {
			head, err := s.cfg.Store.Head(r.Context())
			if err != nil {
				return app.Cut{}, err
			}
			if eventstore.Position(n) > head {
				return app.Cut{}, badRequest("as_of", "position %d is past the ledger's head %d", n, head)
			}
		}
		return app.Cut{Position: eventstore.Position(n)}, nil
	}
	q := newQuery(r)
	t := q.time("as_of")
	if err := q.err(); err != nil {
		return app.Cut{}, badRequest("as_of", "must be an RFC 3339 time with zone (e.g. 2026-03-31T10:00:00+07:00) or a ledger position")
	}
	if t.After(s.cfg.Now()) {
		return app.Cut{}, badRequest("as_of", "must not be in the future")
	}
	if t.IsZero() || t.Year() < skp.MinYear {
		return app.Cut{}, badRequest("as_of", "must be in or after %d", skp.MinYear)
	}
	return app.Cut{At: t}, nil
}

// objectionStatuses are the values of the status filter of objections.
var objectionStatuses = []string{string(skp.OpenObjection), string(skp.DecidedObjection), string(skp.WithdrawnObjection)}

// requireUnitPeriod checks the unit and period parameters of a query.
func requireUnitPeriod(unit, per string) error {
	if unit == "" {
		return badRequest("unit", "required")
	}
	if _, err := period.Parse(per); err != nil {
		return badRequest("period", "must be a period: 2026, 2026-Q1..Q4 or 2026-01..12")
	}
	return nil
}

// ObjectionList is the answer of GET /v1/objections.
type ObjectionList struct {
	Items []objections.Objection `json:"items"`
}

// EvaluationList is the answer of GET /v1/evaluations.
type EvaluationList struct {
	Items []evaluations.Evaluation `json:"items"`
}

// objectionRegister serves the objection register: to grievance clerks
// (who track deadlines), the HR roles and auditors.
func (s *Server) objectionRegister(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	oq := objections.Query{Status: q.enum("status", objectionStatuses), Overdue: q.boolPtr("overdue"), SKPID: q.str("skp_id", 200), Now: s.cfg.Now()}
	unit := q.str("unit", 100)
	if err := q.err(); err != nil {
		return err
	}
	items, err := s.app.ObjectionList(r.Context(), principal(r), oq, unit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []objections.Objection{}
	}
	s.positionHeader(w, r, objections.Name)
	return writeJSON(w, http.StatusOK, ObjectionList{Items: items})
}

// evaluationList serves the evaluations of a unit's subtree for a period,
// to the report roles.
func (s *Server) evaluationList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	unit, per := q.str("unit", 100), q.str("period", 20)
	if err := q.err(); err != nil {
		return err
	}
	if err := requireUnitPeriod(unit, per); err != nil {
		return err
	}
	items, err := s.app.Evaluations(r.Context(), principal(r), unit, per)
	if err != nil {
		return err
	}
	if items == nil {
		items = []evaluations.Evaluation{}
	}
	s.positionHeader(w, r, evaluations.Name)
	return writeJSON(w, http.StatusOK, EvaluationList{Items: items})
}

// printable reports whether v is valid UTF-8 without control or format
// characters (a time or a position has none; TextProblem lets a line
// break through, which free text may carry).
func printable(v string) bool {
	if !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
