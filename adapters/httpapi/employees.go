package httpapi

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// registerEmployees registers the employee routes (master data and the
// employee's own views).
func (s *Server) registerEmployees(r *mux.Router) {
	s.mutation(r, http.MethodPost, "/v1/employees", http.StatusCreated, s.createEmployee)
	s.read(r, http.MethodGet, "/v1/employees/{nip}", s.getEmployee)
	s.mutation(r, http.MethodPut, "/v1/employees/{nip}/reporting-line", http.StatusOK, s.assignLine)
	s.mutation(r, http.MethodPut, "/v1/employees/{nip}/position", http.StatusOK, s.changePosition)
	s.mutation(r, http.MethodPut, "/v1/employees/{nip}/transfer-release", http.StatusOK, s.releaseTransfer)
	s.read(r, http.MethodGet, "/v1/employees/{nip}/timeline", s.employeeTimeline)
	s.read(r, http.MethodGet, "/v1/employees/{nip}/score-history", s.employeeScores)
}

// PositionBody is a post: its kind and title.
type PositionBody struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

func (p PositionBody) position() employee.Position {
	return employee.Position{Kind: employee.PositionKind(p.Kind), Title: p.Title}
}

// CreateEmployeeBody is the body of POST /v1/employees.
type CreateEmployeeBody struct {
	common
	NIP      string       `json:"nip"`
	Name     string       `json:"name"`
	UnitID   string       `json:"unit_id"`
	Position PositionBody `json:"position"`
}

// ReportingLineBody is the body of PUT /v1/employees/{nip}/reporting-line.
// Capacity (DEFINITIF by default, PLT, PLH, DELEGATE) and DelegationRef
// record an appraiser acting under a delegation.
type ReportingLineBody struct {
	common
	AppraiserNIP         string        `json:"appraiser_nip"`
	AppraiserSuperiorNIP string        `json:"appraiser_superior_nip"`
	EffectiveFrom        calendar.Date `json:"effective_from"`
	Capacity             string        `json:"capacity,omitempty"`
	DelegationRef        string        `json:"delegation_ref,omitempty"`
}

// PositionChangeBody is the body of PUT /v1/employees/{nip}/position.
type PositionChangeBody struct {
	common
	Position      PositionBody  `json:"position"`
	UnitID        string        `json:"unit_id"`
	EffectiveFrom calendar.Date `json:"effective_from"`
	DecreeRef     string        `json:"decree_ref,omitempty"`
}

// TransferReleaseBody is the body of PUT /v1/employees/{nip}/transfer-release:
// the employee's agency releases them to ToAgency until ExpiresOn.
type TransferReleaseBody struct {
	common
	ToAgency  string        `json:"to_agency"`
	ExpiresOn calendar.Date `json:"expires_on"`
	DecreeRef string        `json:"decree_ref,omitempty"`
}

// TimelinePage is the answer of GET /v1/employees/{nip}/timeline: newest
// first; Next is the "before" of the next page (omitted at the end).
type TimelinePage struct {
	Items []timeline.Item      `json:"items"`
	Next  *eventstore.Position `json:"next,omitempty"`
}

// EmployeeScores is the answer of GET /v1/employees/{nip}/score-history.
type EmployeeScores struct {
	Items []scores.Entry `json:"items"`
}

// writeEmployee answers with the employee's current representation.
func (s *Server) writeEmployee(w http.ResponseWriter, r *http.Request, status int, n string) error {
	v, err := s.cfg.Employees.Read(r.Context(), principal(r), n)
	if err != nil {
		return err
	}
	return writeVersioned(w, status, v.Revision, v)
}

func (s *Server) createEmployee(w http.ResponseWriter, r *http.Request) error {
	var b CreateEmployeeBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	cmd := employee.Register{NIP: b.NIP, Name: b.Name, UnitID: b.UnitID, Position: b.Position.position()}
	if _, err := s.svc(r).employees.Register(r.Context(), req, cmd); err != nil {
		return err
	}
	n := nip.Normalize(b.NIP)
	w.Header().Set("Location", "/v1/employees/"+url.PathEscape(n))
	return s.writeEmployee(w, r, http.StatusCreated, n)
}

func (s *Server) getEmployee(w http.ResponseWriter, r *http.Request) error {
	return s.writeEmployee(w, r, http.StatusOK, pathVar(r, "nip"))
}

func (s *Server) assignLine(w http.ResponseWriter, r *http.Request) error {
	var b ReportingLineBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	n := pathVar(r, "nip")
	cmd := employee.AssignReportingLine{NIP: n, AppraiserNIP: b.AppraiserNIP, SuperiorNIP: b.AppraiserSuperiorNIP,
		EffectiveFrom: b.EffectiveFrom, Capacity: employee.Capacity(b.Capacity), DelegationRef: b.DelegationRef}
	if _, err := s.svc(r).employees.AssignReportingLine(r.Context(), req, cmd); err != nil {
		return err
	}
	return s.writeEmployee(w, r, http.StatusOK, n)
}

func (s *Server) changePosition(w http.ResponseWriter, r *http.Request) error {
	var b PositionChangeBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	n := pathVar(r, "nip")
	cmd := employee.ChangePosition{NIP: n, Position: b.Position.position(), UnitID: b.UnitID, EffectiveFrom: b.EffectiveFrom, DecreeRef: b.DecreeRef}
	if _, err := s.svc(r).employees.ChangePosition(r.Context(), req, cmd); err != nil {
		return err
	}
	return s.writeEmployee(w, r, http.StatusOK, n)
}

func (s *Server) releaseTransfer(w http.ResponseWriter, r *http.Request) error {
	var b TransferReleaseBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	n := pathVar(r, "nip")
	cmd := employee.ReleaseTransfer{NIP: n, ToAgency: b.ToAgency, ExpiresOn: b.ExpiresOn, DecreeRef: b.DecreeRef}
	if _, err := s.svc(r).employees.ReleaseTransfer(r.Context(), req, cmd); err != nil {
		return err
	}
	return s.writeEmployee(w, r, http.StatusOK, n)
}

// employeeTimeline serves the employee's timeline: to the employee and to
// auditors (it includes the SKPs the employee appraises, which are not
// others' business).
func (s *Server) employeeTimeline(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	before, _ := q.uint("before")
	limit := q.int("limit", 50, 1, 500)
	if err := q.err(); err != nil {
		return err
	}
	items, err := s.app.Timeline(r.Context(), principal(r), pathVar(r, "nip"), eventstore.Position(before), limit+1)
	if err != nil {
		return err
	}
	page := TimelinePage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		next := items[limit-1].Position
		page.Next = &next
	}
	if page.Items == nil {
		page.Items = []timeline.Item{}
	}
	s.positionHeader(w, r, timeline.Name)
	return writeJSON(w, http.StatusOK, page)
}

// employeeScores serves every rating of every SKP of the employee, to the
// parties of the employee's appraisal and auditors (as ReadHistory).
func (s *Server) employeeScores(w http.ResponseWriter, r *http.Request) error {
	items, err := s.app.ScoreHistory(r.Context(), principal(r), pathVar(r, "nip"))
	if err != nil {
		return err
	}
	if items == nil {
		items = []scores.Entry{}
	}
	s.positionHeader(w, r, scores.Name)
	return writeJSON(w, http.StatusOK, EmployeeScores{Items: items})
}
