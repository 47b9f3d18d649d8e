package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Coaching and development of an SKP (issue 14; the appraiser in effect
// records, whoever may read the SKP reads).

// CoachingBody is the body of POST /v1/skps/{id}/coaching.
type CoachingBody struct {
	common
	// Kind is DIALOGUE or COACHING.
	Kind string `json:"kind"`
	// Period is the period it concerns; HeldOn the day (YYYY-MM-DD).
	Period string `json:"period"`
	HeldOn string `json:"held_on"`
	// Text is what was discussed; Agreements what was agreed (optional).
	Text       string `json:"text"`
	Agreements string `json:"agreements,omitempty"`
}

// GapBody is the body of POST /v1/skps/{id}/competency-gaps.
type GapBody struct {
	common
	// Competency names the competency; Description is optional.
	Competency  string `json:"competency"`
	Description string `json:"description,omitempty"`
}

// DevelopmentActionBody is the body of POST /v1/skps/{id}/development-actions.
type DevelopmentActionBody struct {
	common
	// GapID is the gap addressed (optional).
	GapID string `json:"gap_id,omitempty"`
	// Kind is TRAINING, MENTORING or ASSIGNMENT; Title what it is; DueDate
	// YYYY-MM-DD.
	Kind    string `json:"kind"`
	Title   string `json:"title"`
	DueDate string `json:"due_date"`
}

// OutcomeBody is the body of POST …/development-actions/{action}/outcome.
type OutcomeBody struct {
	common
	// Outcome is COMPLETED, NOT_COMPLETED or CANCELLED; Note is optional.
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
}

// DevelopmentCreated answers a recorded entry, gap or action.
type DevelopmentCreated struct {
	// ID is the new entry's, gap's or action's id; Revision the SKP's.
	ID       string `json:"id"`
	Revision uint64 `json:"revision"`
}

func (s *Server) registerCoaching(r *mux.Router) {
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/coaching", http.StatusCreated, s.recordCoaching)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/competency-gaps", http.StatusCreated, s.identifyGap)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/development-actions", http.StatusCreated, s.planDevelopment)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/development-actions/{action}/outcome", http.StatusOK, s.concludeDevelopment)
	s.read(r, http.MethodGet, "/v1/skps/{id}/development", s.development)
}

// created runs a command that returns a new id and answers 201.
func (s *Server) created(w http.ResponseWriter, r *http.Request, b any, c *common, do func(svc services, req domain.Request) (string, uint64, error)) error {
	if err := decodeBody(r, b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, *c)
	if err != nil {
		return err
	}
	id, rev, err := do(s.svc(r), req)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusCreated, rev, DevelopmentCreated{ID: id, Revision: rev})
}

func (s *Server) recordCoaching(w http.ResponseWriter, r *http.Request) error {
	var b CoachingBody
	return s.created(w, r, &b, &b.common, func(svc services, req domain.Request) (string, uint64, error) {
		id, c, err := svc.skps.RecordCoaching(r.Context(), req, skp.RecordCoaching{SKPID: pathVar(r, "id"), Kind: b.Kind, Period: b.Period,
			HeldOn: b.HeldOn, Text: b.Text, Agreements: b.Agreements})
		return id, c.Revision, err
	})
}

func (s *Server) identifyGap(w http.ResponseWriter, r *http.Request) error {
	var b GapBody
	return s.created(w, r, &b, &b.common, func(svc services, req domain.Request) (string, uint64, error) {
		id, c, err := svc.skps.IdentifyGap(r.Context(), req, skp.IdentifyGap{SKPID: pathVar(r, "id"), Competency: b.Competency, Description: b.Description})
		return id, c.Revision, err
	})
}

func (s *Server) planDevelopment(w http.ResponseWriter, r *http.Request) error {
	var b DevelopmentActionBody
	return s.created(w, r, &b, &b.common, func(svc services, req domain.Request) (string, uint64, error) {
		id, c, err := svc.skps.PlanDevelopment(r.Context(), req, skp.PlanDevelopment{SKPID: pathVar(r, "id"), GapID: b.GapID, Kind: b.Kind,
			Title: b.Title, DueDate: b.DueDate})
		return id, c.Revision, err
	})
}

func (s *Server) concludeDevelopment(w http.ResponseWriter, r *http.Request) error {
	var b OutcomeBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id := pathVar(r, "id")
	c, err := s.svc(r).skps.ConcludeDevelopment(r.Context(), req, skp.ConcludeDevelopment{SKPID: id, ActionID: pathVar(r, "action"), Outcome: b.Outcome, Note: b.Note})
	if err != nil {
		return err
	}
	dev, err := s.cfg.SKPs.Development(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, c.Revision, dev)
}

func (s *Server) development(w http.ResponseWriter, r *http.Request) error {
	dev, err := s.cfg.SKPs.Development(r.Context(), principal(r), pathVar(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dev)
}
