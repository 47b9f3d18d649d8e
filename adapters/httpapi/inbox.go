package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
)

// registerInbox registers the inbox: what waits for the caller.
func (s *Server) registerInbox(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/inbox", s.inbox)
	s.read(r, http.MethodGet, "/v1/reports/improvement-plans", s.improvementPlans)
}

// InboxPage is the answer of GET /v1/inbox: what waits for the person,
// the nearest deadline first.
type InboxPage struct {
	// NIP is whose inbox it is.
	NIP   string          `json:"nip"`
	Items []app.InboxItem `json:"items"`
}

// inbox serves the caller's inbox (the deadline process manager's items).
// ?nip= names the inbox asked for: anyone's but the caller's is
// forbidden, whatever the caller's roles.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	nip := q.str("nip", 64)
	if err := q.err(); err != nil {
		return err
	}
	p := principal(r)
	items, err := s.app.Inbox(r.Context(), p, nip)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, InboxPage{NIP: p.ID, Items: items})
}

// ImprovementPlanReportPage is the answer of GET
// /v1/reports/improvement-plans as JSON: the counts of the whole subtree
// and one page of its plans; next_cursor asks for the next page.
type ImprovementPlanReportPage struct {
	app.ImprovementPlanReport
	// NextCursor is the cursor of the next page ("" on the last).
	NextCursor string `json:"next_cursor,omitempty"`
}

// improvementPlans serves GET /v1/reports/improvement-plans: the
// improvement plans due and open of a unit's subtree (issue 14), as JSON
// (the plans paged: ?limit=, ?cursor=) or as the whole CSV/XLSX export.
func (s *Server) improvementPlans(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	unit := q.str("unit", 100)
	limit := q.int("limit", 200, 1, 1000)
	cursor := q.str("cursor", 1000)
	if err := q.err(); err != nil {
		return err
	}
	p := principal(r)
	scope := []string{"improvement-plans", p.ID, unit}
	after, err := openCursor(cursor, scope...)
	if err != nil {
		return err
	}
	var key app.ImprovementPlanRow
	if after != "" {
		// A sealed cursor holds a key this handler wrote.
		if err := json.Unmarshal([]byte(after), &key); err != nil {
			return badCursor()
		}
	}
	rep, err := s.app.ImprovementPlans(r.Context(), p, unit)
	if err != nil {
		return err
	}
	if format == "csv" || format == "xlsx" {
		return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("improvement-plans", unit), rep)
	}
	out := ImprovementPlanReportPage{ImprovementPlanReport: rep.Data}
	plans := rep.Data.Plans
	if after != "" {
		i, _ := slices.BinarySearchFunc(plans, key, app.CompareImprovementPlans)
		for i < len(plans) && app.CompareImprovementPlans(plans[i], key) <= 0 {
			i++
		}
		plans = plans[i:]
	}
	if len(plans) > limit {
		plans = plans[:limit]
		last := plans[limit-1]
		k, _ := json.Marshal(app.ImprovementPlanRow{UnitID: last.UnitID, Due: last.Due, SKPID: last.SKPID, Period: last.Period})
		out.NextCursor = sealCursor(string(k), scope...)
	}
	out.Plans = plans
	return writeJSON(w, http.StatusOK, out)
}
