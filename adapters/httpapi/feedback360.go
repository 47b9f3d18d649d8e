package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// 360° feedback rounds (issue 14; docs/feedback360.md).

// FeedbackRoundBody is the body of POST /v1/skps/{id}/feedback-rounds: the
// appraiser in effect or HR_ADMIN opens a round for a period.
type FeedbackRoundBody struct {
	common
	// Period is the period the feedback is about.
	Period string `json:"period"`
	// Invitees are the givers, each with a group (SELF, PEER, SUBORDINATE,
	// TEAM_LEAD, PEMBERI_PERTIMBANGAN).
	Invitees []skp.RoundInvitee `json:"invitees"`
}

// FeedbackAnswerBody is the body of PUT …/feedback-rounds/{round}/answer:
// an invited giver's ratings of the seven values (again: a revision).
type FeedbackAnswerBody struct {
	common
	// Answers rate each of the seven BerAKHLAK values once.
	Answers []skp.ValueAnswer `json:"answers"`
}

// DisclosureBody is the body of POST …/feedback-rounds/{round}/disclosure:
// why an AUDITOR reads who gave the answers (required; recorded).
type DisclosureBody struct {
	common
}

// FeedbackRoundCreated answers the opening of a round.
type FeedbackRoundCreated struct {
	// RoundID is the new round; Revision the SKP's revision.
	RoundID  string `json:"round_id"`
	Revision uint64 `json:"revision"`
}

// FeedbackRoundList is the answer of GET /v1/skps/{id}/feedback-rounds.
type FeedbackRoundList struct {
	// Items are the rounds' summaries, in the order opened.
	Items []skp.RoundSummary `json:"items"`
}

// FeedbackAnswerRecorded answers a giver's answer: nothing of the SKP,
// which the giver may not read.
type FeedbackAnswerRecorded struct {
	// RoundID is the round answered.
	RoundID string `json:"round_id"`
	// Revision is the SKP's revision after the answer.
	Revision uint64 `json:"revision"`
}

func (s *Server) registerFeedback360(r *mux.Router) {
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/feedback-rounds", http.StatusCreated, s.openFeedbackRound)
	s.read(r, http.MethodGet, "/v1/skps/{id}/feedback-rounds", s.feedbackRounds)
	s.read(r, http.MethodGet, "/v1/skps/{id}/feedback-rounds/{round}/answer", s.feedbackInvitation)
	s.mutation(r, http.MethodPut, "/v1/skps/{id}/feedback-rounds/{round}/answer", http.StatusOK, s.answerFeedbackRound)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/feedback-rounds/{round}/close", http.StatusOK, s.closeFeedbackRound)
	s.mutation(r, http.MethodPost, "/v1/skps/{id}/feedback-rounds/{round}/disclosure", http.StatusOK, s.discloseFeedbackGivers)
}

func (s *Server) openFeedbackRound(w http.ResponseWriter, r *http.Request) error {
	var b FeedbackRoundBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	id, c, err := s.svc(r).skps.OpenFeedbackRound(r.Context(), req, skp.OpenFeedbackRound{SKPID: pathVar(r, "id"), Period: b.Period, Invitees: b.Invitees})
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusCreated, c.Revision, FeedbackRoundCreated{RoundID: id, Revision: c.Revision})
}

func (s *Server) feedbackRounds(w http.ResponseWriter, r *http.Request) error {
	items, err := s.cfg.SKPs.FeedbackRounds(r.Context(), principal(r), pathVar(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, FeedbackRoundList{Items: items})
}

func (s *Server) feedbackInvitation(w http.ResponseWriter, r *http.Request) error {
	// A giver reading their invitation just before an (anonymous) answer
	// would name them by the timing: anonymous too.
	record(r).anonymous = true
	inv, err := s.cfg.SKPs.Invitation(r.Context(), principal(r), pathVar(r, "id"), pathVar(r, "round"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inv)
}

func (s *Server) answerFeedbackRound(w http.ResponseWriter, r *http.Request) error {
	// The caller is the giver: the access log does not name them.
	record(r).anonymous = true
	var b FeedbackAnswerBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	round := pathVar(r, "round")
	c, err := s.svc(r).skps.AnswerFeedbackRound(r.Context(), req, skp.AnswerFeedbackRound{SKPID: pathVar(r, "id"), RoundID: round, Answers: b.Answers})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, FeedbackAnswerRecorded{RoundID: round, Revision: c.Revision})
}

func (s *Server) closeFeedbackRound(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.skpCommand(w, r, &b, &b.common, false, func(ctx context.Context, svc *skp.Service, req domain.Request, id string) (domain.Committed, error) {
		return svc.CloseFeedbackRound(ctx, req, id, pathVar(r, "round"))
	})
}

func (s *Server) discloseFeedbackGivers(w http.ResponseWriter, r *http.Request) error {
	var b DisclosureBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	out, _, err := s.svc(r).skps.DiscloseFeedbackGivers(r.Context(), req, pathVar(r, "id"), pathVar(r, "round"), b.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
