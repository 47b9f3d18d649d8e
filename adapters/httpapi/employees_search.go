package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// EmployeePage is the answer of GET /v1/employees: employees by folded
// name, then NIP.
type EmployeePage struct {
	Items      []directory.Employee `json:"items"`
	NextCursor *string              `json:"next_cursor"`
}

// maxSearchText bounds the name query: a longer one is no name.
const maxSearchText = 100

func positionKinds() []string {
	var out []string
	for _, k := range employee.PositionKinds() {
		out = append(out, string(k))
	}
	return out
}

// skpStatusFilters are the values of skp_status: an SKP status, or NONE
// (no SKP of the year that is not cancelled).
func skpStatusFilters() []string {
	return []string{string(skp.StatusDraft), string(skp.StatusSubmitted), string(skp.StatusEstablished), string(skp.StatusAmendment),
		string(skp.StatusCancelled), string(skp.StatusClosed), app.NoSKP}
}

func (s *Server) registerEmployeeSearch(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/employees", s.searchEmployees)
}

// searchEmployees serves GET /v1/employees?q=&match=&nip=&unit=&kind=&skp_status=&year=&cursor=&limit=.
func (s *Server) searchEmployees(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	dq := directory.SearchQuery{
		Name:       q.str("q", maxSearchText),
		NamePrefix: q.enum("match", []string{"contains", "prefix"}) == "prefix",
		NIPPrefix:  strings.ReplaceAll(q.str("nip", 40), " ", ""),
		Kind:       q.enum("kind", positionKinds()),
		Limit:      q.int("limit", 50, 1, directory.MaxSearchLimit),
	}
	unit := q.str("unit", 100)
	cursor := q.str("cursor", 500)
	f := app.SKPFilter{Status: q.enum("skp_status", skpStatusFilters()), Year: q.int("year", 0, skp.MinYear, skp.MaxYear)}
	if err := q.err(); err != nil {
		return err
	}
	// An NIP prefix as printed ("19800101 200501") or plain.
	if len(dq.NIPPrefix) > 18 || strings.Trim(dq.NIPPrefix, "0123456789") != "" {
		return badRequest("nip", "the first digits of an NIP or NI PPPK (at most 18 digits)")
	}
	if f.Status != "" && f.Year == 0 {
		return badRequest("year", "skp_status needs the year of the SKPs (2000 to 2100)")
	}
	// The cursor belongs to this caller and these filters (cursor.go).
	scope := []string{"employees", principal(r).ID, dq.Name, strconv.FormatBool(dq.NamePrefix), dq.NIPPrefix, dq.Kind, unit}
	if f.Status != "" {
		scope = append(scope, "skp", f.Status, strconv.Itoa(f.Year))
	}
	var err error
	if dq.Cursor, err = openCursor(cursor, scope...); err != nil {
		return err
	}
	items, next, err := s.app.SearchEmployeesBySKP(r.Context(), principal(r), dq, unit, f)
	if err != nil {
		return err
	}
	page := EmployeePage{Items: items}
	if page.Items == nil {
		page.Items = []directory.Employee{}
	}
	if next != "" {
		sealed := sealCursor(next, scope...)
		page.NextCursor = &sealed
	}
	s.positionHeader(w, r, directory.Name)
	return writeJSON(w, http.StatusOK, page)
}
