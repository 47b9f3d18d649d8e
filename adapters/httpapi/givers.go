package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// FeedbackGiverBody is the body of POST /v1/skps/{id}/feedback-givers: the
// appraiser in effect or HR_ADMIN assigns a feedback giver from beyond the
// unit (issue 11), or revokes one.
type FeedbackGiverBody struct {
	common
	// GiverNIP is the giver (any printed form).
	GiverNIP string `json:"giver_nip"`
	// Kind is TEAM_LEAD or PEMBERI_PERTIMBANGAN (ignored on revoke).
	Kind string `json:"kind,omitempty"`
	// AssignmentRef cites the assignment (a team decree, a letter).
	AssignmentRef string `json:"assignment_ref,omitempty"`
	// Revoke ends the giver's assignment.
	Revoke bool `json:"revoke,omitempty"`
}

func (s *Server) giverRoutes(r *mux.Router) {
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/feedback-givers", http.StatusOK, s.assignFeedbackGiver)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/evaluations/{period}/objection/decider", http.StatusOK, s.assignDecider)
	s.mutation(r, http.MethodPost, "/v1/officials", http.StatusCreated, s.registerOfficial)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/plan-acknowledgement", http.StatusOK, s.acknowledgePlan)
}

func (s *Server) assignFeedbackGiver(w http.ResponseWriter, r *http.Request) error {
	var b FeedbackGiverBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.AssignFeedbackGiver(ctx, req, skp.AssignFeedbackGiver{SKPID: id, GiverNIP: b.GiverNIP, Kind: b.Kind, AssignmentRef: b.AssignmentRef, Revoke: b.Revoke})
	})
}

// DeciderBody is the body of POST …/objection/decider: a delegation of the
// decision to a Plt/Plh (by the decider in effect or HR_ADMIN), or an
// escalation to the next level up when the only eligible decider is the
// original appraiser (HR_ADMIN or a grievance clerk).
type DeciderBody struct {
	common
	// Basis is DELEGATION_PLT, DELEGATION_PLH or ESCALATION.
	Basis string `json:"basis"`
	// DeciderNIP is the Plt/Plh; for an escalation optional (computed).
	DeciderNIP string `json:"decider_nip,omitempty"`
	// Ref cites the letter, or says why the objection is escalated.
	Ref string `json:"ref"`
}

func (s *Server) assignDecider(w http.ResponseWriter, r *http.Request) error {
	var b DeciderBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.AssignObjectionDecider(ctx, req, skp.AssignObjectionDecider{SKPID: id, Period: period, Basis: b.Basis, DeciderNIP: b.DeciderNIP, Ref: b.Ref})
			return err
		}, nil)
}

// OfficialBody is the body of POST /v1/officials: an official without a
// NIP (minister, regent, mayor…), named in reporting lines and as a
// principal as "official:{id}" (HR_ADMIN).
type OfficialBody struct {
	common
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	UnitID string `json:"unit_id,omitempty"`
}

// OfficialResponse is the registered official.
type OfficialResponse struct {
	employee.OfficialRegistered
	// Identity is how reporting lines and tokens name the official.
	Identity string `json:"identity"`
	// Revision is the stream's revision.
	Revision uint64 `json:"revision"`
}

func (s *Server) registerOfficial(w http.ResponseWriter, r *http.Request) error {
	var b OfficialBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	c, err := s.svc(r).employees.RegisterOfficial(r.Context(), req, employee.RegisterOfficial{ID: b.ID, Kind: b.Kind, Title: b.Title, UnitID: b.UnitID})
	if err != nil {
		return err
	}
	ev, _ := c.Events[0].Event.(employee.OfficialRegistered)
	return writeVersioned(w, http.StatusCreated, c.Revision, OfficialResponse{OfficialRegistered: ev, Identity: employee.OfficialPrefix + ev.OfficialID, Revision: c.Revision})
}

// acknowledgePlan is the employee's signature of the amended plan as it
// stands (POST /v1/skps/{id}/plan-acknowledgement): the new version takes
// effect only once both the employee and the appraiser have signed.
func (s *Server) acknowledgePlan(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, false, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.AcknowledgePlan(ctx, req, skp.AcknowledgePlan{SKPID: id})
	})
}
