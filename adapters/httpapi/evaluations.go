package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// registerEvaluations registers the rating, issue and objection routes of
// one period's evaluation.
func (s *Server) registerEvaluations(r *mux.Router) {
	const ev = "/v1/skps/{id}/evaluations/{period}"
	s.mutation(r, http.MethodPut, ev, http.StatusOK, s.rate)
	s.read(r, http.MethodGet, ev, s.getEvaluation)
	s.mutation(r, http.MethodPost, ev+"/issue", http.StatusOK, s.issue)
	s.mutation(r, http.MethodPost, ev+"/finalise", http.StatusOK, s.finalise)
	s.mutation(r, http.MethodPost, ev+"/acknowledgement", http.StatusOK, s.acknowledge)
	s.mutation(r, http.MethodPost, ev+"/objection", http.StatusCreated, s.fileObjection)
	s.mutation(r, http.MethodPost, ev+"/objection/explanation-requests", http.StatusCreated, s.requestExplanation)
	s.mutation(r, http.MethodPost, ev+"/objection/explanations", http.StatusCreated, s.submitExplanation)
	s.mutation(r, http.MethodPost, ev+"/objection/decision", http.StatusOK, s.decideObjection)
	s.mutation(r, http.MethodPost, ev+"/objection/withdrawal", http.StatusOK, s.withdrawObjection)
	s.mutation(r, http.MethodPost, ev+"/improvement-plan", http.StatusCreated, s.openImprovementPlan)
	s.mutation(r, http.MethodPost, ev+"/improvement-plan/result", http.StatusOK, s.recordImprovementResult)
}

// RateBody is the body of PUT /v1/skps/{id}/evaluations/{period}. The
// predikat is derived, never sent; replacing a rating needs reason.
type RateBody struct {
	common
	WorkResult string `json:"work_result,omitempty"`
	Behaviour  string `json:"behaviour"`
	Rationale  string `json:"rationale"`
	// WorkResults and BehaviourNotes are the optional grounds: the rating
	// of each RHK with its rationale, a note per BerAKHLAK value.
	WorkResults    []skp.RHKRating `json:"work_results,omitempty"`
	BehaviourNotes []skp.ValueNote `json:"behaviour_notes,omitempty"`
}

// IssueBody is the body of POST …/issue.
type IssueBody struct {
	common
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// AcknowledgementBody is the body of POST …/acknowledgement: the
// employee's acknowledgement of receipt (received_at within the tolerance),
// or a grievance clerk's backfill of a signed receipt (with paper_ref).
type AcknowledgementBody struct {
	common
	ReceivedAt *time.Time `json:"received_at,omitempty"`
}

// ObjectionBody is the body of POST …/objection; filed_at is the date of a
// paper filing, more than the tolerance back only in a grievance clerk's
// backfill (with paper_ref).
type ObjectionBody struct {
	common
	Reasons string     `json:"reasons"`
	FiledAt *time.Time `json:"filed_at,omitempty"`
}

// ExplanationRequestBody is the body of POST
// …/objection/explanation-requests.
type ExplanationRequestBody struct {
	common
	From  string     `json:"from"`
	DueAt *time.Time `json:"due_at,omitempty"`
}

// ExplanationBody is the body of POST …/objection/explanations.
type ExplanationBody struct {
	common
	Text string `json:"text"`
}

// DecisionBody is the body of POST …/objection/decision. WaiverReason
// records why a party was not asked to explain.
type DecisionBody struct {
	common
	Outcome      string `json:"outcome"`
	WorkResult   string `json:"work_result,omitempty"`
	Behaviour    string `json:"behaviour,omitempty"`
	DecisionText string `json:"decision_text"`
	WaiverReason string `json:"waiver_reason,omitempty"`
}

// RatingResponse answers PUT …/evaluations/{period}.
type RatingResponse struct {
	Period     string          `json:"period"`
	WorkResult rating.Rating   `json:"work_result"`
	Behaviour  rating.Rating   `json:"behaviour"`
	Predikat   rating.Predikat `json:"predikat"`
	Revision   uint64          `json:"revision"`
}

// EvaluationResponse is one period's evaluation with the SKP's revision.
type EvaluationResponse struct {
	skp.EvaluationView
	// Revision is the SKP's revision (its ETag).
	Revision uint64 `json:"revision"`
}

// ObjectionResponse is the current objection of an evaluation with the
// SKP's revision.
type ObjectionResponse struct {
	skp.ObjectionView
	// Revision is the SKP's revision (its ETag).
	Revision uint64 `json:"revision"`
}

// evaluation returns period's evaluation of SKP id now (the caller was
// authorised by the command that just ran, or by read).
func (s *Server) evaluation(ctx context.Context, id, period string) (EvaluationResponse, error) {
	sk, _, err := s.cfg.SKPs.Load(ctx, id)
	if err != nil {
		return EvaluationResponse{}, err
	}
	if sk == nil {
		return EvaluationResponse{}, &domain.NotFoundError{Kind: "skp", ID: id}
	}
	v := sk.View(s.cfg.Now())
	for _, e := range v.Evaluations {
		if e.Period == period {
			return EvaluationResponse{EvaluationView: e, Revision: v.Revision}, nil
		}
	}
	return EvaluationResponse{}, &domain.NotFoundError{Kind: "evaluation", ID: id + "/" + period}
}

// evaluationCommand decodes b, runs do and answers with status and what
// answer makes of the evaluation afterwards.
func (s *Server) evaluationCommand(w http.ResponseWriter, r *http.Request, status int, b any, c *common, required bool,
	do func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error,
	answer func(EvaluationResponse) any) error {
	if err := decodeBody(r, b, required); err != nil {
		return err
	}
	req, err := domainRequest(r, *c)
	if err != nil {
		return err
	}
	id, period := pathVar(r, "id"), pathVar(r, "period")
	if err := do(r.Context(), s.svc(r).skps, req, id, period); err != nil {
		return err
	}
	ev, err := s.evaluation(r.Context(), id, period)
	if err != nil {
		return err
	}
	var out any = ev
	if answer != nil {
		out = answer(ev)
	}
	return writeVersioned(w, status, ev.Revision, out)
}

func (s *Server) getEvaluation(w http.ResponseWriter, r *http.Request) error {
	id, period := pathVar(r, "id"), pathVar(r, "period")
	v, err := s.cfg.SKPs.Read(r.Context(), principal(r), id, skp.AsOf{})
	if err != nil {
		return err
	}
	for _, e := range v.Evaluations {
		if e.Period == period {
			return writeVersioned(w, http.StatusOK, v.Revision, EvaluationResponse{EvaluationView: e, Revision: v.Revision})
		}
	}
	return &domain.NotFoundError{Kind: "evaluation", ID: id + "/" + period}
}

func (s *Server) rate(w http.ResponseWriter, r *http.Request) error {
	var b RateBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.Rate(ctx, req, skp.Rate{SKPID: id, Period: period, WorkResult: b.WorkResult, Behaviour: b.Behaviour, Rationale: b.Rationale, Reason: b.Reason,
				Grounds: skp.Grounds{WorkResults: b.WorkResults, BehaviourNotes: b.BehaviourNotes}})
			return err
		},
		func(ev EvaluationResponse) any {
			return RatingResponse{Period: ev.Period, WorkResult: ev.WorkResult, Behaviour: ev.Behaviour, Predikat: ev.Predikat, Revision: ev.Revision}
		})
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request) error {
	var b IssueBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, false,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			cmd := skp.Issue{SKPID: id, Period: period}
			if b.DeliveredAt != nil {
				cmd.DeliveredAt = *b.DeliveredAt
			}
			_, err := svc.Issue(ctx, req, cmd)
			return err
		}, nil)
}

func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request) error {
	var b AcknowledgementBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, false,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			cmd := skp.AcknowledgeReceipt{SKPID: id, Period: period}
			if b.ReceivedAt != nil {
				cmd.ReceivedAt = *b.ReceivedAt
			}
			_, err := svc.AcknowledgeReceipt(ctx, req, cmd)
			return err
		}, nil)
}

func (s *Server) finalise(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, false,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.Finalise(ctx, req, skp.Finalise{SKPID: id, Period: period})
			return err
		}, nil)
}

// ImprovementPlanBody is the body of POST …/improvement-plan (issue 14):
// the plan of a FINAL evaluation rated BUTUH_PERBAIKAN or worse.
type ImprovementPlanBody struct {
	common
	Goals   string `json:"goals"`
	Actions string `json:"actions"`
	// FollowUpOn defaults to 6 months after the evaluation became final.
	FollowUpOn *calendar.Date `json:"follow_up_on,omitempty"`
}

// ImprovementResultBody is the body of POST …/improvement-plan/result.
type ImprovementResultBody struct {
	common
	Result skp.ImprovementResult `json:"result"`
	Note   string                `json:"note"`
}

func (s *Server) openImprovementPlan(w http.ResponseWriter, r *http.Request) error {
	var b ImprovementPlanBody
	return s.evaluationCommand(w, r, http.StatusCreated, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			cmd := skp.OpenImprovementPlan{SKPID: id, Period: period, Goals: b.Goals, Actions: b.Actions}
			if b.FollowUpOn != nil {
				cmd.FollowUpOn = *b.FollowUpOn
			}
			_, err := svc.OpenImprovementPlan(ctx, req, cmd)
			return err
		}, nil)
}

func (s *Server) recordImprovementResult(w http.ResponseWriter, r *http.Request) error {
	var b ImprovementResultBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.RecordImprovementResult(ctx, req, skp.RecordImprovementResult{SKPID: id, Period: period, Result: b.Result, Note: b.Note})
			return err
		}, nil)
}

// objectionAnswer answers with the evaluation's current objection.
func objectionAnswer(ev EvaluationResponse) any {
	if ev.Objection == nil {
		return ev
	}
	return ObjectionResponse{ObjectionView: *ev.Objection, Revision: ev.Revision}
}

func (s *Server) fileObjection(w http.ResponseWriter, r *http.Request) error {
	var b ObjectionBody
	return s.evaluationCommand(w, r, http.StatusCreated, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			cmd := skp.FileObjection{SKPID: id, Period: period, Reasons: b.Reasons}
			if b.FiledAt != nil {
				cmd.FiledAt = *b.FiledAt
			}
			_, _, err := svc.FileObjection(ctx, req, cmd)
			return err
		}, objectionAnswer)
}

func (s *Server) requestExplanation(w http.ResponseWriter, r *http.Request) error {
	var b ExplanationRequestBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := domainRequest(r, b.common)
	if err != nil {
		return err
	}
	rid, c, err := s.svc(r).skps.RequestExplanation(r.Context(), req, skp.RequestExplanation{SKPID: pathVar(r, "id"), Period: pathVar(r, "period"), From: b.From, DueAt: b.DueAt})
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusCreated, c.Revision, Created{RequestID: rid, Revision: c.Revision})
}

func (s *Server) submitExplanation(w http.ResponseWriter, r *http.Request) error {
	var b ExplanationBody
	return s.evaluationCommand(w, r, http.StatusCreated, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.SubmitExplanation(ctx, req, skp.SubmitExplanation{SKPID: id, Period: period, Text: b.Text})
			return err
		}, objectionAnswer)
}

func (s *Server) decideObjection(w http.ResponseWriter, r *http.Request) error {
	var b DecisionBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, true,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.DecideObjection(ctx, req, skp.DecideObjection{SKPID: id, Period: period, Outcome: b.Outcome,
				WorkResult: b.WorkResult, Behaviour: b.Behaviour, DecisionText: b.DecisionText, WaiverReason: b.WaiverReason})
			return err
		}, nil)
}

func (s *Server) withdrawObjection(w http.ResponseWriter, r *http.Request) error {
	var b ActionBody
	return s.evaluationCommand(w, r, http.StatusOK, &b, &b.common, false,
		func(ctx context.Context, svc *skp.Service, req domain.Request, id, period string) error {
			_, err := svc.WithdrawObjection(ctx, req, skp.WithdrawObjection{SKPID: id, Period: period, Reason: b.Reason})
			return err
		}, nil)
}
