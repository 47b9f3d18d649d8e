package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
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
}

func (s *Server) assignFeedbackGiver(w http.ResponseWriter, r *http.Request) error {
	var b FeedbackGiverBody
	return s.skpCommand(w, r, &b, &b.common, true, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.AssignFeedbackGiver(ctx, req, skp.AssignFeedbackGiver{SKPID: id, GiverNIP: b.GiverNIP, Kind: b.Kind, AssignmentRef: b.AssignmentRef, Revoke: b.Revoke})
	})
}
